#include "src/base/sha256.h"

#include <cstdio>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "src/base/files.h"

namespace spatial::base {
namespace {

// Known answers from FIPS 180-2.
TEST(Sha256Test, MatchesKnownAnswers) {
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// Chunked updates give the same digest as one update.
TEST(Sha256Test, IncrementalEqualsOneShot) {
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  Sha256 h;
  for (size_t i = 0; i < data.size(); i += 333) {
    h.Update(absl::string_view(data).substr(i, 333));
  }
  EXPECT_EQ(h.HexDigest(), Sha256Hex(data));
}

// Hashing a file equals hashing its bytes; a missing file is NotFound.
TEST(Sha256Test, HashesFilesAndReportsMissingOnes) {
  std::string dir = ::testing::TempDir() + "/sha_test";
  ASSERT_TRUE(MakeDirs(dir).ok());
  std::string path = dir + "/f.bin";
  std::string data(3 << 20, 'q');
  ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  auto digest = Sha256File(path);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, Sha256Hex(data));
  EXPECT_EQ(Sha256File(dir + "/nope").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(Sha256Test, RecognisesHexDigests) {
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("a")));
  EXPECT_FALSE(IsSha256Hex("abc"));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'G')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));  // upper case is not ours
}

}  // namespace
}  // namespace spatial::base
