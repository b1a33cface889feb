#include "src/serving/bundle_copy.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "src/base/sha256.h"

namespace spatial::serving {
namespace {
namespace fs = std::filesystem;

class BundleCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = ::testing::TempDir() + "/bundle_copy_" + info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/src/reference");
    Write("src/model.onnx", "onnx bytes");
    Write("src/manifest.json", "{}");
    Write("src/reference/probe.json", "[1]");
    Write("src/model.sig", "{\"sig\": 1}");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(dir_ + "/" + rel, std::ios::binary) << text;
  }
  static mode_t Mode(const std::string& path) {
    struct stat st;
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  std::string dir_;
};

// A private dir is new, 0700, and never one that was there before.
TEST_F(BundleCopyTest, PrivateDirIsNewAndMode0700) {
  auto a = MakePrivateDir(dir_, "spatial-serve-1-");
  auto b = MakePrivateDir(dir_, "spatial-serve-1-");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(Mode(*a), 0700u);
  EXPECT_EQ(MakePrivateDir(dir_ + "/missing", "x-").status().code(),
            absl::StatusCode::kNotFound);
}

// The copy holds every file but model.sig, with the digests of its bytes.
TEST_F(BundleCopyTest, CopiesAndHashesEveryFileAndReadsTheSignature) {
  auto c = CopyBundle(dir_ + "/src", dir_ + "/copy");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(Mode(dir_ + "/copy"), 0700u);
  EXPECT_EQ(Mode(dir_ + "/copy/model.onnx"), 0600u);
  EXPECT_FALSE(fs::exists(dir_ + "/copy/model.sig"));
  ASSERT_TRUE(c->signature.has_value());
  EXPECT_EQ(*c->signature, "{\"sig\": 1}");
  ASSERT_EQ(c->files.size(), 3u);
  EXPECT_EQ(c->files[0].path, "manifest.json");
  EXPECT_EQ(c->files[1].path, "model.onnx");
  EXPECT_EQ(c->files[1].sha256, base::Sha256Hex("onnx bytes"));
  EXPECT_EQ(c->files[2].path, "reference/probe.json");
}

// No model.sig: no signature; an existing destination is refused.
TEST_F(BundleCopyTest, NoSignatureAndExistingDestination) {
  fs::remove(dir_ + "/src/model.sig");
  auto c = CopyBundle(dir_ + "/src", dir_ + "/copy");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->signature.has_value());
  EXPECT_EQ(CopyBundle(dir_ + "/src", dir_ + "/copy").status().code(),
            absl::StatusCode::kAlreadyExists);
}

// Symbolic links (to a file or as model.sig) are refused, never followed.
TEST_F(BundleCopyTest, RefusesSymbolicLinks) {
  Write("secret", "s3cret");
  fs::remove(dir_ + "/src/model.onnx");
  fs::create_symlink(dir_ + "/secret", dir_ + "/src/model.onnx");
  auto c = CopyBundle(dir_ + "/src", dir_ + "/copy");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("model.onnx"), std::string::npos);
  EXPECT_EQ(
      CopyFileHashed(dir_ + "/src/model.onnx", dir_ + "/out").status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ + "/out"));
}

// CopyFileHashed never writes through an existing file or link.
TEST_F(BundleCopyTest, CopyFileRefusesAnExistingDestination) {
  Write("taken", "x");
  EXPECT_EQ(CopyFileHashed(dir_ + "/src/manifest.json", dir_ + "/taken")
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  uint64_t size = 0;
  auto d = CopyFileHashed(dir_ + "/src/manifest.json", dir_ + "/new", &size);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, base::Sha256Hex("{}"));
  EXPECT_EQ(size, 2u);
}

}  // namespace
}  // namespace spatial::serving
