// LevelResult: the outcome of one load level (one concurrency of a closed-loop
// sweep, or the one rate of an open-loop run) after warm-up. Plain data.
#ifndef SPATIAL_LOADTEST_RESULT_H_
#define SPATIAL_LOADTEST_RESULT_H_

#include <cstdint>
#include <optional>

#include "src/loadtest/schedule.h"
#include "src/loadtest/stats.h"

namespace spatial::loadtest {

enum class LoopMode {
  kClosed,  // N connections, each sends when its previous answer arrived
  kOpen,    // sends at scheduled times whatever the server does
};

// One request as the client saw it, for callers that need per-request
// timestamps (e.g. latency around an event). Times are steady_clock
// nanoseconds (std::chrono::steady_clock::now().time_since_epoch()).
struct RequestRecord {
  int64_t origin_ns = 0;  // scheduled send (open loop) or send (closed loop)
  int64_t end_ns = 0;     // answer complete, or failure noticed
  int status = 0;         // HTTP status (>= 400 counts as failed); 0: none
  std::optional<ErrorKind> error;  // no answer: connect, timeout, read, dropped
  bool warmup = false;             // started during warm-up (not in stats)
  bool late = false;               // open loop: sent later than tolerated
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
