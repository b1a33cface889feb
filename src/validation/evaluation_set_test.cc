#include "src/validation/evaluation_set.h"

#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "src/base/files.h"

namespace spatial::validation {
namespace {

registry::Environment EnvWith(registry::Json evaluation) {
  registry::Environment e;
  e.name = "staging";
  if (!evaluation.is_null()) e.extra["evaluation"] = std::move(evaluation);
  return e;
}

// Table: an environment's evaluation and the spec (or error) it gives.
TEST(EvaluationSetTest, SpecOfReadsRenderAndFolderSpecs) {
  struct Case {
    std::string name;
    registry::Json evaluation;
    absl::StatusCode code;
    std::string describe;
  };
  const Case cases[] = {
      {"no evaluation: the default", nullptr, absl::StatusCode::kOk,
       "render seed=3001 per_class=20 shift=none size=128"},
      {"render spec",
       {{"render", {{"seed", 7}, {"per_class", 3}, {"shift", "blur"}}}},
       absl::StatusCode::kOk,
       "render seed=7 per_class=3 shift=blur size=128"},
      {"folder",
       {{"folder", "/data/eval"}, {"sha256", "ab"}},
       absl::StatusCode::kOk,
       "folder /data/eval"},
      {"both",
       {{"folder", "x"}, {"render", registry::Json::object()}},
       absl::StatusCode::kInvalidArgument,
       ""},
      {"neither", registry::Json::object(), absl::StatusCode::kInvalidArgument,
       ""},
      {"negative seed",
       {{"render", {{"seed", -1}}}},
       absl::StatusCode::kInvalidArgument,
       ""},
      {"zero per class",
       {{"render", {{"per_class", 0}}}},
       absl::StatusCode::kInvalidArgument,
       ""},
      {"unknown shift",
       {{"render", {{"shift", "fog"}}}},
       absl::StatusCode::kInvalidArgument,
       ""},
      {"not an object", "render", absl::StatusCode::kInvalidArgument, ""},
  };
  for (const auto& c : cases) {
    auto spec = SpecOf(EnvWith(c.evaluation));
    EXPECT_EQ(spec.status().code(), c.code) << c.name << ": " << spec.status();
    if (spec.ok()) {
      EXPECT_EQ(spec->Describe(), c.describe) << c.name;
    }
  }
}

// The same render spec gives the same images and digest; another seed
// another digest; a pinned digest that differs is refused, naming both.
TEST(EvaluationSetTest, RenderedSetIsDeterministicAndPinnable) {
  EvaluationSpec spec{.seed = 11, .per_class = 2, .size = 64};
  auto a = BuildSet(spec);
  auto b = BuildSet(spec);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->samples.size(), 12u);
  EXPECT_EQ(a->samples[5].label, 5);
  EXPECT_EQ(a->digest, b->digest);
  spec.seed = 12;
  auto other = BuildSet(spec);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->digest, a->digest);
  spec.sha256 = a->digest;
  auto pinned = BuildSet(spec);
  EXPECT_EQ(pinned.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(pinned.status().message().find(a->digest), std::string::npos);
  EXPECT_NE(pinned.status().message().find(other->digest), std::string::npos);
}

// A folder must be pinned: unpinned it is refused with the digest to pin;
// pinned it loads; a changed image is then refused.
TEST(EvaluationSetTest, FolderIsReadOnlyWhenItsDigestMatches) {
  std::string dir = std::filesystem::temp_directory_path() /
                    ("spatial-evalset-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/a.jpg", "one").ok());
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/b.jpg", "two").ok());
  ASSERT_TRUE(
      base::WriteFileAtomic(dir + "/labels.csv", "a.jpg,0,basic\nb.jpg,5\n")
          .ok());
  EvaluationSpec spec{.folder = dir};
  auto unpinned = BuildSet(spec);
  ASSERT_EQ(unpinned.status().code(), absl::StatusCode::kInvalidArgument);
  std::string msg(unpinned.status().message());
  auto q = msg.find("\"sha256\": \"");
  ASSERT_NE(q, std::string::npos) << msg;
  spec.sha256 = msg.substr(q + 11, 64);
  auto pinned = BuildSet(spec);
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_EQ(pinned->samples.size(), 2u);
  EXPECT_EQ(pinned->samples[1].label, 5);
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/b.jpg", "changed").ok());
  EXPECT_EQ(BuildSet(spec).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spatial::validation
