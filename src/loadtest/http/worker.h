// Worker: one client thread of `spatial bench`. It owns an io_context, its
// connections and its per-window RequestStats; LevelPlan is what all workers
// of one load level share. Internal to spatial_loadtest_http (includes Asio).
//
// Threading: Run() executes on the worker's own thread and is the only code
// touching connections. The runner's thread may call Snapshot(), counters()
// and Abort() concurrently; windows are guarded by mu_, counters are atomics.
#ifndef SPATIAL_LOADTEST_HTTP_WORKER_H_
#define SPATIAL_LOADTEST_HTTP_WORKER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "src/loadtest/result.h"
#include "src/loadtest/schedule.h"
#include "src/loadtest/stats.h"

namespace spatial::loadtest::http {

int64_t NowNs();

// Shared by the workers of one level; set up before they start.
struct LevelPlan {
  LoopMode mode = LoopMode::kClosed;
  boost::asio::ip::tcp::endpoint endpoint;
  const std::vector<std::string>* requests = nullptr;  // cycled, never empty
  int64_t start_ns = 0;       // open loop: the schedule's time zero
  int64_t warmup_end_ns = 0;  // requests starting earlier are not measured
  int64_t window_ns = 0;      // stability window; 0: one window for the level
  std::atomic<int64_t> stop_ns{INT64_MAX};  // nothing starts at or after
  uint64_t max_requests = 0;                // measured requests; 0: no bound
  std::atomic<uint64_t> issued{0};
  int64_t timeout_ns = 0;
  int64_t late_tolerance_ns = 0;
  // Per-request callback (BenchOptions::on_request); null: none.
  const std::function<void(const RequestRecord&)>* on_request = nullptr;
};

class Worker {
 public:
  // Closed loop: `connections` connections send back to back. Open loop: up
  // to `connections` connections carry the sends of `schedule`.
  Worker(LevelPlan* plan, int connections,
         std::optional<ArrivalSchedule> schedule);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs the level to its end on the calling thread. Never throws.
  void Run();
  // Makes Run() return soon (a last resort; the plan's stop time is the way).
  void Abort();

  // Stats of window `index` so far (requests started in it).
  RequestStats Snapshot(int index) const;
  // All windows, for after Run() returned.
  std::vector<RequestStats> TakeWindows();

  uint64_t answered() const {
    return answered_.load(std::memory_order_relaxed);
  }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  uint64_t warmup_requests() const {
    return warmup_.load(std::memory_order_relaxed);
  }
  int peak_connections() const { return peak_connections_; }

 private:
  struct Conn;
  class ResponseParser;

  void StartClosed(Conn& c);
  void OnDispatchTimer();
  void Issue(int64_t origin_ns);
  void Begin(Conn& c, int64_t origin_ns);
  void Connect(Conn& c);
  void Write(Conn& c);
  void WaitRead(Conn& c);
  void OnRead(Conn& c, boost::system::error_code ec, size_t n);
  // The prediction cache header of an answer (kPredictionCacheHeader).
  enum class CacheMark { kNone, kHit, kMiss };
  void Complete(Conn& c, int status, bool keep_alive, CacheMark cache);
  void Fail(Conn& c, ErrorKind kind);
  void Record(int64_t origin_ns, bool late, int status,
              std::optional<ErrorKind> error, int64_t end_ns,
              CacheMark cache = CacheMark::kNone);
  void Released(Conn& c);
  void ArmSweep();
  void OnSweep();
  void MaybeFinish();
  void Finish();
  Conn& NewConn();

  LevelPlan* plan_;
  int max_connections_;
  std::optional<ArrivalSchedule> schedule_;
  boost::asio::io_context ctx_{1};
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer dispatch_timer_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> idle_;      // open loop: connections free to send
  std::deque<int64_t> pending_;  // open loop: due sends without a connection
  int64_t sweep_tick_ns_ = 0;
  int64_t next_send_ns_ = 0;  // open loop: next scheduled send
  bool schedule_done_ = false;
  int busy_ = 0;    // connections with a request in flight
  int active_ = 0;  // closed loop: connections still sending
  bool finished_ = false;
  int peak_connections_ = 0;
  size_t request_cursor_ = 0;

  mutable std::mutex mu_;  // std::mutex: Debian's absl is not built for TSan
  std::vector<RequestStats> windows_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> warmup_{0};
};

}  // namespace spatial::loadtest::http

#endif  // SPATIAL_LOADTEST_HTTP_WORKER_H_
