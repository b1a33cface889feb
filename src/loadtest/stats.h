// RequestStats: what a load test counts, for one client thread and one time
// window: latencies of answered requests, HTTP status codes, errors by kind,
// late sends. Plain data; Merge adds two together. Not thread-safe: each
// client thread fills its own and the runner merges them afterwards.
#ifndef SPATIAL_LOADTEST_STATS_H_
#define SPATIAL_LOADTEST_STATS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "src/loadtest/histogram.h"

namespace spatial::loadtest {

// The header pizza-api-spatial puts on every classification: "hit" when the
// answer came from its prediction cache, "miss" when it was computed.
inline constexpr char kPredictionCacheHeader[] = "X-Prediction-Cache";

// Why a request failed. kHttp4xx/kHttp5xx got an answer (its latency is
// recorded); the others did not.
enum class ErrorKind {
  kConnect,  // the TCP connection could not be opened
  kTimeout,  // no complete answer within the request timeout
  kRead,     // the connection broke or the answer was not valid HTTP/1.1
  kHttp4xx,
  kHttp5xx,
  kDropped,  // open loop: never sent, no free connection before the end
};
constexpr int kNumErrorKinds = 6;

// "connect", "timeout", "read", "http_4xx", "http_5xx", "dropped".
std::string ErrorKindName(ErrorKind kind);

struct RequestStats {
  // Latency of every request that got an HTTP answer (any status), from its
  // scheduled send time (open loop) or its send time (closed loop).
  LatencyHistogram latency;
  uint64_t responses = 0;  // HTTP answers of any status
  std::array<uint64_t, kNumErrorKinds> errors{};
  std::array<uint64_t, 600> status_counts{};  // index = status (100..599)
  uint64_t other_status = 0;                  // a status outside 100..599
  uint64_t late_sends = 0;  // open loop: sent later than the tolerance allows
  // Answers that carried the prediction cache header (kPredictionCacheHeader)
  // and, of those, the ones it marked "hit" (answered from the server's cache).
  uint64_t cache_marked = 0, cache_hits = 0;
  int64_t first_start_ns = 0;  // earliest start of a counted request (0: none)
  int64_t last_end_ns = 0;     // latest end of a counted request

  void RecordStart(int64_t start_ns);
  void RecordResponse(int status, int64_t latency_ns, int64_t end_ns);
  void RecordError(ErrorKind kind, int64_t end_ns);
  void Merge(const RequestStats& other);

  uint64_t error_count(ErrorKind kind) const {
    return errors[static_cast<int>(kind)];
  }
  // Answered plus failed without an answer.
  uint64_t requests() const;
  // Requests with any error, HTTP 4xx/5xx included.
  uint64_t failed() const;
  double error_rate() const;
  // Status code -> count, for the codes seen (e.g. {200: 9981, 503: 19}).
  std::map<int, uint64_t> StatusCounts() const;
};

}  // namespace spatial::loadtest

#endif  // SPATIAL_LOADTEST_STATS_H_
