#include "src/loadtest/stability.h"

#include <cmath>

namespace spatial::loadtest {
namespace {

bool WithinOfMean(double a, double b, double c, double percent) {
  double mean = (a + b + c) / 3;
  if (mean <= 0) return false;
  double tolerance = mean * percent / 100;
  return std::fabs(a - mean) <= tolerance && std::fabs(b - mean) <= tolerance &&
         std::fabs(c - mean) <= tolerance;
}

}  // namespace

bool IsStable(const std::vector<WindowSummary>& windows, double percent) {
  if (windows.size() < kStableWindows) return false;
  const WindowSummary* w = windows.data() + windows.size() - kStableWindows;
  for (int i = 0; i < kStableWindows; ++i) {
    if (w[i].throughput <= 0) return false;
  }
  return WithinOfMean(w[0].throughput, w[1].throughput, w[2].throughput,
                      percent) &&
         WithinOfMean(static_cast<double>(w[0].p95_ns),
                      static_cast<double>(w[1].p95_ns),
                      static_cast<double>(w[2].p95_ns), percent);
}

}  // namespace spatial::loadtest
