// LevelResult: the outcome of one load level (one concurrency of a closed-loop
// sweep, or the one rate of an open-loop run) after warm-up. Plain data.
#ifndef SPATIAL_LOADTEST_RESULT_H_
#define SPATIAL_LOADTEST_RESULT_H_

#include <cstdint>

#include "src/loadtest/schedule.h"
#include "src/loadtest/stats.h"

namespace spatial::loadtest {

enum class LoopMode {
  kClosed,  // N connections, each sends when its previous answer arrived
  kOpen,    // sends at scheduled times whatever the server does
};

struct LevelResult {
  LoopMode mode = LoopMode::kClosed;
  int concurrency = 0;  // closed loop: connections
  double rate = 0;      // open loop: target requests per second
  Distribution distribution = Distribution::kConstant;  // open loop
  double seconds = 0;            // length of the measured interval
  RequestStats stats;            // requests started in the measured interval
  uint64_t warmup_requests = 0;  // started during warm-up, not in `stats`
  int peak_connections = 0;
  int windows = 0;      // stability windows measured; 0 when stability is off
  bool stable = false;  // the last 3 windows agreed (stats = those 3)

  // Answers per second over the measured interval.
  double throughput() const {
    return seconds > 0 ? static_cast<double>(stats.responses) / seconds : 0.0;
  }
};

}  // namespace spatial::loadtest

#endif  // SPATIAL_LOADTEST_RESULT_H_
