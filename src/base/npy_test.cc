#include "src/base/npy.h"

#include "gtest/gtest.h"
#include "src/base/files.h"

namespace spatial::base {
namespace {

// float32 and int64 arrays read back with their shapes and values.
TEST(NpyTest, RoundTripsFloatAndInt) {
  std::string dir = ::testing::TempDir();
  std::vector<float> f = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  ASSERT_TRUE(WriteNpy(dir + "/f.npy", {2, 3}, f.data()).ok());
  auto a = ReadNpy(dir + "/f.npy");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->dtype, "<f4");
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->f32, f);
  std::vector<int64_t> l = {0, 5, 2};
  ASSERT_TRUE(WriteNpy(dir + "/l.npy", {3}, l.data()).ok());
  auto b = ReadNpy(dir + "/l.npy");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->i64, l);
  // The header is padded so that the data starts on a 64-byte boundary.
  EXPECT_EQ((ReadFile(dir + "/l.npy")->size() - 3 * 8) % 64, 0u);
}

// Damaged files are InvalidArgument, not crashes.
TEST(NpyTest, RejectsDamagedFiles) {
  std::string dir = ::testing::TempDir();
  std::vector<float> f(10, 1.0f);
  ASSERT_TRUE(WriteNpy(dir + "/g.npy", {10}, f.data()).ok());
  std::string whole = *ReadFile(dir + "/g.npy");
  ASSERT_TRUE(
      WriteFileAtomic(dir + "/cut.npy", whole.substr(0, whole.size() - 4))
          .ok());
  EXPECT_EQ(ReadNpy(dir + "/cut.npy").status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomic(dir + "/txt.npy", "hello").ok());
  EXPECT_EQ(ReadNpy(dir + "/txt.npy").status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string f8 = whole;
  f8.replace(f8.find("<f4"), 3, "<f8");
  ASSERT_TRUE(WriteFileAtomic(dir + "/f8.npy", f8).ok());
  EXPECT_EQ(ReadNpy(dir + "/f8.npy").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spatial::base
