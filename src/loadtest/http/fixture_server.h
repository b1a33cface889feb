// FixtureServer: a Beast HTTP/1.1 server on 127.0.0.1 (port 0) for the load
// generator's tests. It answers each request after an injected delay chosen
// by arrival order, can hold every answer due during a scheduled stall (like a
// garbage-collection pause), and records how long it really held each
// request. Owns its io_context and threads; all methods are thread-safe.
#ifndef SPATIAL_LOADTEST_HTTP_FIXTURE_SERVER_H_
#define SPATIAL_LOADTEST_HTTP_FIXTURE_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace spatial::loadtest::http {

struct FixtureOptions {
  // Delay of the request with arrival number `seq` (0-based); none by default.
  std::function<absl::Duration(uint64_t seq)> delay;
  int status = 200;         // of every answer
  bool close_each = false;  // answer with Connection: close
  int threads = 1;
};

class FixtureServer {
 public:
  static absl::StatusOr<std::unique_ptr<FixtureServer>> Start(
      FixtureOptions options);
  ~FixtureServer();  // stops the server and joins its threads

  uint16_t port() const { return port_; }
  std::string Url(const std::string& path = "/") const;

  // Holds every answer that falls due in [now + after, now + after + length)
  // until the end of that interval.
  void ScheduleStall(absl::Duration after, absl::Duration length);

  // Time from having read each request to starting its answer, in
  // nanoseconds, in completion order.
  std::vector<int64_t> HeldNs() const;
  uint64_t requests() const { return seq_.load(); }
  // Content-Type and body size of the last request.
  std::pair<std::string, size_t> LastRequestBody() const;

 private:
  class Impl;
  friend class Impl;
  FixtureServer() = default;

  FixtureOptions options_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> seq_{0};
  std::atomic<int64_t> stall_start_ns_{0};
  std::atomic<int64_t> stall_end_ns_{0};
  mutable std::mutex mu_;  // std::mutex: Debian's absl is not built for TSan
  std::vector<int64_t> held_ns_ ABSL_GUARDED_BY(mu_);
  std::string last_type_ ABSL_GUARDED_BY(mu_);
  size_t last_body_size_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
};

}  // namespace spatial::loadtest::http

#endif  // SPATIAL_LOADTEST_HTTP_FIXTURE_SERVER_H_
