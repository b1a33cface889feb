#include "src/base/files.h"

#include <sys/stat.h>

#include <filesystem>

#include "gtest/gtest.h"

namespace spatial::base {
namespace {

// An atomic write replaces the file whole and leaves no temp file behind.
TEST(FilesTest, WriteFileAtomicReplacesWholeAndLeavesNoTemp) {
  std::string dir = ::testing::TempDir() + "/files_test_atomic";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(MakeDirs(dir).ok());
  std::string path = dir + "/a.json";
  ASSERT_TRUE(WriteFileAtomic(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second", 0600).ok());
  auto got = ReadFile(path);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "second");
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir))
    ++entries;
  EXPECT_EQ(entries, 1);
}

// Missing files are NotFound, directories InvalidArgument, big files refused.
TEST(FilesTest, ReadFileErrorsAreSpecific) {
  std::string dir = ::testing::TempDir() + "/files_test_read";
  ASSERT_TRUE(MakeDirs(dir).ok());
  EXPECT_EQ(ReadFile(dir + "/missing").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadFile(dir).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomic(dir + "/big", std::string(100, 'x')).ok());
  EXPECT_EQ(ReadFile(dir + "/big", 10).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(FilesTest, DirNameOfBareNameIsDot) {
  EXPECT_EQ(DirName("x.db"), ".");
  EXPECT_EQ(DirName("var/x.db"), "var");
}

}  // namespace
}  // namespace spatial::base
