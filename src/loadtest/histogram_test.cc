#include "src/loadtest/histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace spatial::loadtest {
namespace {

int64_t NearestRank(const std::vector<int64_t>& sorted, double q) {
  if (q >= 1) return sorted.back();
  auto rank =
      static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

// Log-uniform latencies from 1 us to 10 s: every percentile within 1% of the
// exact nearest-rank value (the bound is 0.4%).
TEST(LatencyHistogramTest, PercentilesWithinOnePercentOverSevenDecades) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(3, 10);
  LatencyHistogram h;
  std::vector<int64_t> values;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<int64_t>(std::pow(10.0, exponent(rng)));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999,
                   0.9999, 1.0}) {
    double exact = static_cast<double>(NearestRank(values, q));
    double got = static_cast<double>(h.ValueAtQuantile(q));
    EXPECT_LE(std::fabs(got - exact) / exact,
              LatencyHistogram::kMaxRelativeError + 1e-12)
        << "q=" << q << " exact=" << exact << " got=" << got;
    EXPECT_LE(std::fabs(got - exact) / exact, 0.01) << "q=" << q;
  }
  EXPECT_EQ(h.count(), values.size());
  EXPECT_EQ(h.min_ns(), values.front());
  EXPECT_EQ(h.max_ns(), values.back());
}

// Small values are exact; the mean is exact.
TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int64_t v = 0; v < 256; ++v) h.Record(v);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 127);
  EXPECT_EQ(h.ValueAtQuantile(0.01), 2);
  EXPECT_DOUBLE_EQ(h.mean_ns(), 127.5);
}

// Merging per-thread histograms equals recording everything into one.
TEST(LatencyHistogramTest, MergeEqualsRecordingTogether) {
  LatencyHistogram a, b, all;
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(13, 1.5);  // ~0.4 ms median
  for (int i = 0; i < 50000; ++i) {
    auto v = static_cast<int64_t>(dist(rng));
    (i % 3 == 0 ? a : b).Record(v);
    all.Record(v);
  }
  LatencyHistogram merged;
  merged.Merge(a);
  merged.Merge(b);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min_ns(), all.min_ns());
  EXPECT_EQ(merged.max_ns(), all.max_ns());
  EXPECT_NEAR(merged.mean_ns(), all.mean_ns(), 1e-6 * all.mean_ns());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    EXPECT_EQ(merged.ValueAtQuantile(q), all.ValueAtQuantile(q)) << q;
  }
}

// Edge cases: empty, negative, huge and a single sample.
TEST(LatencyHistogramTest, EdgeCases) {
  LatencyHistogram h;
  EXPECT_EQ(h.ValueAtQuantile(0.99), 0);
  EXPECT_EQ(h.max_ns(), 0);
  EXPECT_EQ(h.mean_ns(), 0);
  h.Record(-5);
  EXPECT_EQ(h.min_ns(), 0);
  int64_t huge = LatencyHistogram::kMaxTrackable * 4;
  h.Record(huge);
  EXPECT_EQ(h.max_ns(), huge);
  EXPECT_EQ(h.ValueAtQuantile(1.0), huge);
  LatencyHistogram one;
  one.Record(12345678);
  for (double q : {0.0, 0.5, 0.999, 1.0})
    EXPECT_EQ(one.ValueAtQuantile(q), 12345678) << q;
  one.Clear();
  EXPECT_EQ(one.count(), 0u);
}

}  // namespace
}  // namespace spatial::loadtest
