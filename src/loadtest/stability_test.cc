#include "src/loadtest/stability.h"

#include "gtest/gtest.h"

namespace spatial::loadtest {
namespace {

// perf_analyzer's rule on the last three windows.
TEST(StabilityTest, LastThreeWindowsMustAgree) {
  struct Case {
    std::vector<WindowSummary> windows;
    double percent;
    bool stable;
  };
  const Case cases[] = {
      {{}, 10, false},
      {{{100, 1000}, {100, 1000}}, 10, false},
      {{{100, 1000}, {105, 1040}, {98, 990}}, 10, true},
      {{{100, 1000}, {105, 1040}, {98, 990}}, 3, false},
      {{{10, 1}, {500, 1000}, {505, 1010}, {495, 990}},
       5,
       true},  // old noise ignored
      {{{100, 1000}, {100, 1000}, {140, 1000}}, 10, false},  // throughput moved
      {{{100, 1000}, {100, 1000}, {100, 1500}}, 10, false},  // p95 moved
      {{{0, 0}, {0, 0}, {0, 0}}, 10, false},                 // nothing answered
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsStable(c.windows, c.percent), c.stable)
        << c.windows.size() << " windows at " << c.percent << "%";
  }
}

}  // namespace
}  // namespace spatial::loadtest
