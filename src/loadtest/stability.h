// The stability rule of perf_analyzer: a load level has settled when the last
// three measurement windows agree, i.e. each window's throughput and each
// window's p95 lie within +-percent% of the three windows' mean. Pure.
#ifndef SPATIAL_LOADTEST_STABILITY_H_
#define SPATIAL_LOADTEST_STABILITY_H_

#include <cstdint>
#include <vector>

namespace spatial::loadtest {

struct WindowSummary {
  double throughput = 0;  // answers per second in the window
  int64_t p95_ns = 0;
};

constexpr int kStableWindows = 3;

// False with fewer than three windows, or when a window saw no answer.
bool IsStable(const std::vector<WindowSummary>& windows, double percent);

}  // namespace spatial::loadtest

#endif  // SPATIAL_LOADTEST_STABILITY_H_
