#include "src/loadtest/http/worker.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <iostream>

#include "src/loadtest/http/connection.h"

namespace spatial::loadtest::http {

namespace {

asio::steady_timer::time_point TimePoint(int64_t ns) {
  return asio::steady_timer::time_point(std::chrono::nanoseconds(ns));
}

}  // namespace

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Worker::Worker(LevelPlan* plan, int connections,
               std::optional<ArrivalSchedule> schedule)
    : plan_(plan),
      max_connections_(std::max(connections, 1)),
      schedule_(schedule),
      sweep_timer_(ctx_),
      dispatch_timer_(ctx_) {}

Worker::~Worker() {
  // Sockets and timers go before the io_context they belong to.
  conns_.clear();
}

void Worker::Run() {
  try {
    sweep_tick_ns_ =
        std::clamp<int64_t>(plan_->timeout_ns / 8, 1'000'000, 20'000'000);
    ArmSweep();
    if (plan_->mode == LoopMode::kClosed) {
      for (int i = 0; i < max_connections_; ++i) NewConn();
      active_ = max_connections_;
      for (int i = 0; i < max_connections_; ++i) StartClosed(*conns_[i]);
    } else {
      // A few warm connections so that the first sends do not pay a connect.
      for (int i = 0; i < std::min(max_connections_, 4); ++i)
        Connect(NewConn());
      next_send_ns_ = plan_->start_ns + schedule_->Next();
      OnDispatchTimer();
    }
    ctx_.run();
  } catch (const std::exception& e) {
    // Asio reports I/O errors through error_codes; only exhaustion lands here.
    std::cerr << "spatial bench: client thread stopped: " << e.what() << "\n";
  }
}

void Worker::Abort() { ctx_.stop(); }

Worker::Conn& Worker::NewConn() {
  conns_.push_back(std::make_unique<Conn>(ctx_));
  peak_connections_ =
      std::max(peak_connections_, static_cast<int>(conns_.size()));
  return *conns_.back();
}

void Worker::StartClosed(Conn& c) {
  int64_t now = NowNs();
  bool go = !finished_ && now < plan_->stop_ns.load(std::memory_order_relaxed);
  if (go && plan_->max_requests != 0 && now >= plan_->warmup_end_ns &&
      plan_->issued.fetch_add(1, std::memory_order_relaxed) >=
          plan_->max_requests) {
    plan_->stop_ns.store(now,
                         std::memory_order_relaxed);  // the budget is spent
    go = false;
  }
  if (!go) {
    --active_;
    MaybeFinish();
    return;
  }
  Begin(c, now);
}

void Worker::OnDispatchTimer() {
  if (finished_) return;
  int64_t now = NowNs();
  int64_t stop = plan_->stop_ns.load(std::memory_order_relaxed);
  while (!schedule_done_ && next_send_ns_ <= now) {
    if (next_send_ns_ >= stop) {
      schedule_done_ = true;
    } else if (plan_->max_requests != 0 &&
               next_send_ns_ >= plan_->warmup_end_ns &&
               plan_->issued.fetch_add(1, std::memory_order_relaxed) >=
                   plan_->max_requests) {
      plan_->stop_ns.store(next_send_ns_, std::memory_order_relaxed);
      schedule_done_ = true;
    } else {
      Issue(next_send_ns_);
      next_send_ns_ = plan_->start_ns + schedule_->Next();
    }
  }
  if (schedule_done_) {
    MaybeFinish();
    return;
  }
  dispatch_timer_.expires_at(TimePoint(next_send_ns_));
  dispatch_timer_.async_wait([this](error_code ec) {
    if (!ec) OnDispatchTimer();
  });
}

void Worker::Issue(int64_t origin_ns) {
  Conn* c = nullptr;
  if (!idle_.empty()) {
    c = idle_.back();  // the most recently used connection is the warmest
    idle_.pop_back();
  } else if (static_cast<int>(conns_.size()) < max_connections_) {
    c = &NewConn();
  } else {
    pending_.push_back(origin_ns);  // sent, late, when a connection frees up
    return;
  }
  Begin(*c, origin_ns);
}

void Worker::Begin(Conn& c, int64_t origin_ns) {
  c.busy = true;
  ++busy_;
  c.origin_ns = origin_ns;
  c.deadline_ns = NowNs() + plan_->timeout_ns;
  c.request = &(*plan_->requests)[request_cursor_++ % plan_->requests->size()];
  if (c.connected) {
    Write(c);
  } else {
    Connect(c);
  }
}

void Worker::Record(int64_t origin_ns, bool late, int status,
                    std::optional<ErrorKind> error, int64_t end_ns,
                    CacheMark cache) {
  bool failed = error.has_value() || status >= 400;
  (failed ? failed_ : answered_).fetch_add(1, std::memory_order_relaxed);
  if (plan_->on_request && *plan_->on_request) {
    (*plan_->on_request)({.origin_ns = origin_ns,
                          .end_ns = end_ns,
                          .status = status,
                          .error = error,
                          .warmup = origin_ns < plan_->warmup_end_ns,
                          .late = late});
  }
  if (origin_ns < plan_->warmup_end_ns) {
    warmup_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  size_t w = plan_->window_ns > 0
                 ? static_cast<size_t>((origin_ns - plan_->warmup_end_ns) /
                                       plan_->window_ns)
                 : 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (windows_.size() <= w) windows_.resize(w + 1);
  RequestStats& s = windows_[w];
  s.RecordStart(origin_ns);
  if (error) {
    s.RecordError(*error, end_ns);
  } else {
    s.RecordResponse(status, end_ns - origin_ns, end_ns);
  }
  if (late) ++s.late_sends;
  if (cache != CacheMark::kNone) {
    ++s.cache_marked;
    if (cache == CacheMark::kHit) ++s.cache_hits;
  }
}

void Worker::Released(Conn& c) {
  if (plan_->mode == LoopMode::kClosed) {
    StartClosed(c);
  } else if (!pending_.empty()) {
    int64_t origin = pending_.front();
    pending_.pop_front();
    Begin(c, origin);
  } else {
    idle_.push_back(&c);
    MaybeFinish();
  }
}

void Worker::ArmSweep() {
  sweep_timer_.expires_after(std::chrono::nanoseconds(sweep_tick_ns_));
  sweep_timer_.async_wait([this](error_code ec) {
    if (ec || finished_) return;
    OnSweep();
    if (!finished_) ArmSweep();
  });
}

void Worker::OnSweep() {
  int64_t now = NowNs();
  for (size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = *conns_[i];
    if (c.busy && now > c.deadline_ns) Fail(c, ErrorKind::kTimeout);
  }
  int64_t stop = plan_->stop_ns.load(std::memory_order_relaxed);
  if (plan_->mode == LoopMode::kOpen && !schedule_done_ &&
      next_send_ns_ >= stop) {
    schedule_done_ = true;
    dispatch_timer_.cancel();
  }
  if (stop != INT64_MAX && now > stop + plan_->timeout_ns) {
    // Never sent and out of time: each one is a failed request.
    for (int64_t origin : pending_)
      Record(origin, true, 0, ErrorKind::kDropped, now);
    pending_.clear();
  }
  MaybeFinish();
}

void Worker::MaybeFinish() {
  if (finished_) return;
  bool done = plan_->mode == LoopMode::kClosed
                  ? active_ == 0
                  : schedule_done_ && pending_.empty() && busy_ == 0;
  if (done) Finish();
}

void Worker::Finish() {
  finished_ = true;
  error_code ignored;
  sweep_timer_.cancel();
  dispatch_timer_.cancel();
  for (auto& c : conns_) {
    c->socket.close(ignored);
    c->retry.cancel();
    ++c->gen;
  }
}

RequestStats Worker::Snapshot(int index) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (index < 0 || static_cast<size_t>(index) >= windows_.size())
    return RequestStats();
  return windows_[index];
}

std::vector<RequestStats> Worker::TakeWindows() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::move(windows_);
}

}  // namespace spatial::loadtest::http
