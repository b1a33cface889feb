#include "src/loadtest/threshold.h"

#include "gtest/gtest.h"

namespace spatial::loadtest {
namespace {

// What the parser accepts, and the limit in its canonical unit.
TEST(ParseThresholdTest, AcceptsK6StyleExpressions) {
  struct Case {
    const char* text;
    Metric metric;
    double quantile;
    Comparison op;
    double limit;
  };
  const Case cases[] = {
      {"p95<1500ms", Metric::kQuantile, 0.95, Comparison::kLess, 1.5e9},
      {"p99<=20ms", Metric::kQuantile, 0.99, Comparison::kLessEqual, 20e6},
      {"p99.9 < 2s", Metric::kQuantile, 0.999, Comparison::kLess, 2e9},
      {"p(95)<500", Metric::kQuantile, 0.95, Comparison::kLess, 500e6},
      {"med<=1ms", Metric::kQuantile, 0.5, Comparison::kLessEqual, 1e6},
      {"max<2s", Metric::kMax, 0, Comparison::kLess, 2e9},
      {"mean<250us", Metric::kMean, 0, Comparison::kLess, 250e3},
      {"avg<1", Metric::kMean, 0, Comparison::kLess, 1e6},
      {"error_rate<0.01", Metric::kErrorRate, 0, Comparison::kLess, 0.01},
      {"error_rate<=1%", Metric::kErrorRate, 0, Comparison::kLessEqual, 0.01},
      {"rps>100", Metric::kRps, 0, Comparison::kGreater, 100},
      {"rps>=99.5", Metric::kRps, 0, Comparison::kGreaterEqual, 99.5},
  };
  for (const Case& c : cases) {
    auto t = ParseThreshold(c.text);
    ASSERT_TRUE(t.ok()) << c.text << ": " << t.status();
    EXPECT_EQ(t->metric, c.metric) << c.text;
    EXPECT_DOUBLE_EQ(t->quantile, c.quantile) << c.text;
    EXPECT_EQ(t->op, c.op) << c.text;
    EXPECT_DOUBLE_EQ(t->limit, c.limit) << c.text;
  }
}

// Every malformed expression is a usage error that shows examples.
TEST(ParseThresholdTest, RejectsMalformedExpressionsClearly) {
  const char* bad[] = {
      "", "p95", "<5ms", "p95<", "p95<fast", "p95==5ms", "p95!=5ms", "p0<5ms",
      "p101<5ms", "p(95<5ms", "latency<5ms", "error_rate<2", "rps>10%",
      "error_rate<x", "p95<-3ms", "max<5 parsecs",
      // milliseconds whose nanoseconds overflow a double (found by fuzzing)
      "p95<1e305", "max<1e13"};
  for (const char* text : bad) {
    auto t = ParseThreshold(text);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(t.status().message().find("examples: p95<1500ms"),
              absl::string_view::npos)
        << t.status();
  }
}

LevelResult LevelWith(std::initializer_list<int64_t> latencies_ms, int failures,
                      double seconds) {
  LevelResult l;
  l.seconds = seconds;
  for (int64_t ms : latencies_ms) l.stats.RecordResponse(200, ms * 1000000, 0);
  for (int i = 0; i < failures; ++i)
    l.stats.RecordError(ErrorKind::kTimeout, 0);
  return l;
}

// Each metric compares the right observed value with the limit.
TEST(EvaluateTest, ComparesObservedWithLimit) {
  LevelResult l =
      LevelWith({1, 2, 3, 4, 5, 6, 7, 8, 9, 100}, 0, 2.0);  // 5 req/s
  struct Case {
    const char* text;
    bool passed;
  };
  const Case cases[] = {
      {"p50<=5.1ms", true}, {"p50<4.9ms", false}, {"p90<10ms", true},
      {"p95<10ms", false},  {"max<2s", true},     {"max<99ms", false},
      {"mean<20ms", true},  {"mean<14ms", false}, {"rps>4", true},
      {"rps>=5", true},     {"rps>5", false},     {"error_rate<0.01", true},
  };
  for (const Case& c : cases) {
    auto t = ParseThreshold(c.text);
    ASSERT_TRUE(t.ok()) << c.text;
    EXPECT_EQ(Evaluate(*t, l, 0).passed, c.passed) << c.text;
  }
  LevelResult failing = LevelWith({1, 1, 1}, 1, 1.0);  // 1 of 4 failed
  auto er = ParseThreshold("error_rate<0.2");
  ThresholdOutcome o = Evaluate(*er, failing, 3);
  EXPECT_FALSE(o.passed);
  EXPECT_DOUBLE_EQ(o.observed, 0.25);
  EXPECT_EQ(o.level, 3);
}

// No answer at all cannot satisfy a latency threshold.
TEST(EvaluateTest, LatencyThresholdFailsWithoutAnswers) {
  LevelResult l = LevelWith({}, 5, 1.0);
  EXPECT_FALSE(Evaluate(*ParseThreshold("p95<1s"), l, 0).passed);
  auto all = EvaluateAll({*ParseThreshold("p95<1s"), *ParseThreshold("rps>=0")},
                         {l, l});
  ASSERT_EQ(all.size(), 4u);
  EXPECT_TRUE(all[3].passed);
}

}  // namespace
}  // namespace spatial::loadtest
