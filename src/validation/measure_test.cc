#include "src/validation/measure.h"

#include "gtest/gtest.h"
#include "tests/test_paths.h"

namespace spatial::validation {
namespace {

// The shipped spatial bundle measured on a small render: every image is
// counted, accuracy and recall are fractions, latency percentiles ordered.
TEST(MeasureTest, MeasuresTheShippedBundleOnASmallSet) {
  auto set = BuildSet({.seed = 3001, .per_class = 2});
  ASSERT_TRUE(set.ok()) << set.status();
  auto m = MeasureBundle(
      spatial::testing::SourceDir() + "/models/spatial-pizza-v1", *set);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->n, 12);
  EXPECT_EQ(m->set_digest, set->digest);
  EXPECT_GE(m->accuracy, 0.0);
  EXPECT_LE(m->accuracy, 1.0);
  EXPECT_EQ(m->per_class_recall.size(), 6u);
  EXPECT_GT(m->latency_p50_ms, 0.0);
  EXPECT_LE(m->latency_p50_ms, m->latency_p95_ms);
  EXPECT_NE(m->engine.find("OpenCV DNN"), std::string::npos);
}

// A directory that is not a bundle cannot be run: FailedPrecondition.
TEST(MeasureTest, RefusesADirectoryThatIsNotABundle) {
  auto set = BuildSet({.seed = 1, .per_class = 1, .size = 64});
  ASSERT_TRUE(set.ok());
  auto m = MeasureBundle(spatial::testing::SourceDir() + "/config", *set);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("cannot be run"), std::string::npos);
}

}  // namespace
}  // namespace spatial::validation
