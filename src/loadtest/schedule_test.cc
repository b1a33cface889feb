#include "src/loadtest/schedule.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace spatial::loadtest {
namespace {

std::vector<int64_t> Take(ScheduleOptions o, int n) {
  auto s = ArrivalSchedule::Create(o);
  EXPECT_TRUE(s.ok()) << s.status();
  std::vector<int64_t> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) out.push_back(s->Next());
  return out;
}

// A constant rate of 1000/s sends every millisecond, without drift.
TEST(ArrivalScheduleTest, ConstantIsEvenlySpaced) {
  auto t =
      Take({.distribution = Distribution::kConstant, .rate = 1000}, 100001);
  EXPECT_EQ(t[0], 0);
  EXPECT_EQ(t[1], 1000000);
  EXPECT_EQ(t[100000], int64_t{100000} * 1000000);
  auto third = Take({.distribution = Distribution::kConstant, .rate = 3}, 4);
  EXPECT_EQ(third[1], 333333333);
  EXPECT_EQ(third[3], 1000000000);
}

// Two constant streams interleave into the single-stream schedule.
TEST(ArrivalScheduleTest, ConstantStreamsPartitionTheSchedule) {
  auto whole = Take({.rate = 500}, 10);
  auto s0 = Take({.rate = 500, .stream = 0, .streams = 2}, 5);
  auto s1 = Take({.rate = 500, .stream = 1, .streams = 2}, 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(s0[i], whole[2 * size_t(i)]);
    EXPECT_EQ(s1[i], whole[2 * size_t(i) + 1]);
  }
}

// Poisson: reproducible per seed, mean gap 1/rate, exponential gaps (the
// coefficient of variation of an exponential is 1).
TEST(ArrivalScheduleTest, PoissonIsDeterministicWithTheRightMoments) {
  ScheduleOptions o{
      .distribution = Distribution::kPoisson, .rate = 2000, .seed = 9};
  auto a = Take(o, 100000);
  EXPECT_EQ(a, Take(o, 100000));
  o.seed = 10;
  EXPECT_NE(a, Take(o, 100000));
  double sum = 0, sum2 = 0;
  int64_t prev = 0;
  for (int64_t t : a) {
    ASSERT_GE(t, prev);
    double gap = static_cast<double>(t - prev);
    sum += gap;
    sum2 += gap * gap;
    prev = t;
  }
  double n = static_cast<double>(a.size());
  double mean = sum / n;
  double cv = std::sqrt(sum2 / n - mean * mean) / mean;
  EXPECT_NEAR(mean, 1e9 / 2000, 0.02 * 1e9 / 2000);
  EXPECT_NEAR(cv, 1.0, 0.03);
}

// Poisson streams differ from each other and each runs at rate/streams.
TEST(ArrivalScheduleTest, PoissonStreamsAreIndependentAndSplitTheRate) {
  ScheduleOptions o{.distribution = Distribution::kPoisson,
                    .rate = 1000,
                    .seed = 3,
                    .stream = 0,
                    .streams = 4};
  auto s0 = Take(o, 20000);
  o.stream = 1;
  auto s1 = Take(o, 20000);
  EXPECT_NE(s0, s1);
  EXPECT_NEAR(static_cast<double>(s0.back()) / 20000, 4e6, 0.04 * 4e6);
}

// Bad options are usage errors.
TEST(ArrivalScheduleTest, RejectsBadOptions) {
  struct Case {
    ScheduleOptions options;
  };
  const Case cases[] = {{{.rate = 0}},
                        {{.rate = -5}},
                        {{.rate = std::nan("")}},
                        {{.rate = 10, .stream = 2, .streams = 2}},
                        {{.rate = 10, .streams = 0}}};
  for (const Case& c : cases) {
    EXPECT_EQ(ArrivalSchedule::Create(c.options).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(*ParseDistribution("poisson"), Distribution::kPoisson);
  EXPECT_EQ(*ParseDistribution("constant"), Distribution::kConstant);
  EXPECT_EQ(ParseDistribution("uniform").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spatial::loadtest
