// RunBench: drives an HTTP/1.1 server with the requests of a RequestSet, in a
// closed loop (one run per concurrency level) or an open loop (one rate), on
// `threads` client threads with keep-alive connections (TCP_NODELAY,
// reconnect on close, per-request timeout), and measures each level after its
// warm-up. The Asio engine stays behind this header. Thread-safe: each call
// owns its threads; `progress` is called on the calling thread.
#ifndef SPATIAL_LOADTEST_HTTP_BENCH_RUNNER_H_
#define SPATIAL_LOADTEST_HTTP_BENCH_RUNNER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "src/loadtest/payload.h"
#include "src/loadtest/result.h"
#include "src/loadtest/schedule.h"

namespace spatial::loadtest::http {

struct BenchOptions {
  Url url;
  RequestSet requests;  // at least one request
  LoopMode mode = LoopMode::kClosed;
  std::vector<int> concurrency = {1};  // closed loop: one run per level
  double rate = 0;                     // open loop: requests per second, > 0
  Distribution distribution = Distribution::kConstant;
  uint64_t seed = 1;          // Poisson schedule seed
  int max_connections = 512;  // open loop: connection pool bound
  absl::Duration warmup = absl::ZeroDuration();  // excluded from results
  absl::Duration duration = absl::Seconds(10);   // zero: no time bound
  uint64_t max_requests = 0;  // measured requests per level; 0: none
  absl::Duration timeout = absl::Seconds(10);             // per request
  absl::Duration late_tolerance = absl::Milliseconds(1);  // open loop
  double stability_percent = 0;              // > 0: stop a level once stable
  absl::Duration window = absl::Seconds(1);  // stability window
  int max_windows = 10;                      // give up on stability after these
  int threads = 2;                           // client threads
  absl::Duration connect_timeout = absl::Seconds(3);  // the reachability check
  // Called once per finished request (answered or failed, warm-up
  // included) on the client thread that ran it: several threads call it at
  // once, so it must be thread-safe, and it should be quick (it delays that
  // thread's other requests).
  std::function<void(const RequestRecord&)> on_request;
};

struct Progress {
  int level = 0;  // 0-based
  int levels = 1;
  std::string level_name;  // "c=16", "500/s constant"
  double elapsed_seconds = 0;
  bool warming_up = false;
  uint64_t answered = 0;  // this level so far, warm-up included
  uint64_t failed = 0;
  double recent_rps = 0;  // over the last progress interval
};
using ProgressFn = std::function<void(const Progress&)>;

// InvalidArgument for inconsistent options; Unavailable when the target's
// address does not resolve or no TCP connection can be opened before the run
// (the whole run is refused then). Errors during the run are counted, not
// returned.
absl::StatusOr<std::vector<LevelResult>> RunBench(
    const BenchOptions& options, const ProgressFn& progress = nullptr);

// Resolves the URL's host and opens one TCP connection; Unavailable if not.
absl::Status CheckReachable(const Url& url, absl::Duration timeout);

}  // namespace spatial::loadtest::http

#endif  // SPATIAL_LOADTEST_HTTP_BENCH_RUNNER_H_
