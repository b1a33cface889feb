#include "src/loadtest/http/bench_runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "src/loadtest/http/worker.h"
#include "src/loadtest/report.h"
#include "src/loadtest/stability.h"

namespace spatial::loadtest::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr int64_t kProgressEveryNs = 250'000'000;
constexpr int64_t kControllerTickNs = 10'000'000;
// A window is summarised this long after it closed, so that most of the
// requests it started have been answered.
constexpr int64_t kWindowGraceNs = 20'000'000;
constexpr int64_t kAbortGraceNs = 2'000'000'000;

int64_t Ns(absl::Duration d) { return absl::ToInt64Nanoseconds(d); }

absl::StatusOr<tcp::endpoint> ResolveAndConnect(const Url& url,
                                                absl::Duration timeout) {
  asio::io_context ctx;
  tcp::resolver resolver(ctx);
  error_code ec;
  auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve '", url.host, "': ", ec.message()));
  }
  std::string last_error = "no address";
  for (const auto& entry : endpoints) {
    tcp::socket socket(ctx);
    bool done = false;
    socket.async_connect(entry.endpoint(), [&](error_code cec) {
      done = true;
      ec = cec;
    });
    ctx.restart();
    ctx.run_for(std::chrono::nanoseconds(Ns(timeout)));
    if (!done) {
      error_code ignored;
      socket.close(ignored);
      ctx.restart();
      ctx.run();
      last_error = "timed out";
      continue;
    }
    if (!ec) return entry.endpoint();
    last_error = ec.message();
  }
  return absl::UnavailableError(absl::StrCat("cannot connect to ",
                                             url.HostHeader(), ": ", last_error,
                                             "; is the server running?"));
}

absl::Status Validate(const BenchOptions& o) {
  auto bad = [](absl::string_view why) {
    return absl::InvalidArgumentError(why);
  };
  if (o.requests.requests.empty()) return bad("there is no request to send");
  if (o.threads < 1 || o.threads > 64) return bad("--threads must be 1..64");
  if (o.timeout <= absl::ZeroDuration())
    return bad("--timeout must be more than 0");
  if (o.duration < absl::ZeroDuration() || o.warmup < absl::ZeroDuration()) {
    return bad("durations cannot be negative");
  }
  if (o.duration == absl::ZeroDuration() && o.max_requests == 0) {
    return bad("give --duration or --requests (or both) so that the run ends");
  }
  if (o.mode == LoopMode::kClosed) {
    if (o.concurrency.empty()) return bad("no concurrency level");
    for (int c : o.concurrency) {
      if (c < 1) return bad("concurrency levels must be >= 1");
    }
  } else if (!(o.rate > 0) || o.rate > 1e7) {
    return bad("--rate must be more than 0 and at most 10,000,000 per second");
  }
  if (o.max_connections < 1) return bad("--max-connections must be >= 1");
  if (o.stability_percent < 0)
    return bad("--stability-percent cannot be negative");
  if (o.stability_percent > 0 &&
      (o.window <= absl::ZeroDuration() || o.max_windows < 3)) {
    return bad("stability needs --window > 0 and --max-windows >= 3");
  }
  return absl::OkStatus();
}

// Shares `total` among `parts` as evenly as possible.
std::vector<int> Split(int total, int parts) {
  std::vector<int> out(parts, total / parts);
  for (int i = 0; i < total % parts; ++i) ++out[i];
  return out;
}

struct LevelSetup {
  int index = 0;
  int count = 1;
  int concurrency = 0;  // closed loop
};

absl::StatusOr<LevelResult> RunLevel(const BenchOptions& o,
                                     const tcp::endpoint& endpoint,
                                     const LevelSetup& setup,
                                     const ProgressFn& progress) {
  bool open = o.mode == LoopMode::kOpen;
  LevelResult result{.mode = o.mode,
                     .concurrency = open ? 0 : setup.concurrency,
                     .rate = open ? o.rate : 0,
                     .distribution = o.distribution};
  bool stability = o.stability_percent > 0;
  LevelPlan plan;
  plan.mode = o.mode;
  plan.endpoint = endpoint;
  plan.requests = &o.requests.requests;
  plan.max_requests = o.max_requests;
  plan.timeout_ns = Ns(o.timeout);
  plan.late_tolerance_ns = Ns(o.late_tolerance);
  plan.window_ns = stability ? Ns(o.window) : 0;
  plan.on_request = o.on_request ? &o.on_request : nullptr;

  int threads = open ? o.threads : std::min(o.threads, setup.concurrency);
  std::vector<int> conns = Split(
      open ? std::max(o.max_connections, threads) : setup.concurrency, threads);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < threads; ++i) {
    std::optional<ArrivalSchedule> schedule;
    if (open) {
      auto s = ArrivalSchedule::Create({.distribution = o.distribution,
                                        .rate = o.rate,
                                        .seed = o.seed,
                                        .stream = i,
                                        .streams = threads});
      if (!s.ok()) return s.status();
      schedule = *s;
    }
    workers.push_back(std::make_unique<Worker>(&plan, conns[i], schedule));
  }

  int64_t start = NowNs();
  plan.start_ns = start;
  plan.warmup_end_ns = start + Ns(o.warmup);
  if (o.duration > absl::ZeroDuration())
    plan.stop_ns = plan.warmup_end_ns + Ns(o.duration);
  std::atomic<int> done{0};
  std::vector<std::thread> pool;
  absl::Status spawn_error;
  for (auto& w : workers) {
    try {
      pool.emplace_back([&done, worker = w.get()] {
        worker->Run();
        done.fetch_add(1);
      });
    } catch (const std::system_error& e) {
      spawn_error = absl::ResourceExhaustedError(
          absl::StrCat("cannot start a thread: ", e.what()));
      plan.stop_ns = 0;
      done.fetch_add(1);  // this worker never runs
    }
  }

  std::vector<WindowSummary> summaries;
  int64_t next_progress = start + kProgressEveryNs;
  uint64_t last_answered = 0;
  int64_t last_progress = start;
  bool aborted = false;
  while (done.load() < threads) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(kControllerTickNs));
    int64_t now = NowNs();
    if (progress && now >= next_progress) {
      Progress p{.level = setup.index,
                 .levels = setup.count,
                 .level_name = LevelName(result),
                 .elapsed_seconds = static_cast<double>(now - start) / 1e9,
                 .warming_up = now < plan.warmup_end_ns};
      for (const auto& w : workers) {
        p.answered += w->answered();
        p.failed += w->failed();
      }
      p.recent_rps = static_cast<double>(p.answered - last_answered) * 1e9 /
                     static_cast<double>(now - last_progress);
      last_answered = p.answered;
      last_progress = now;
      next_progress = now + kProgressEveryNs;
      progress(p);
    }
    auto k = static_cast<int64_t>(summaries.size());
    if (stability && result.windows == 0 &&
        now >= plan.warmup_end_ns + (k + 1) * plan.window_ns + kWindowGraceNs) {
      RequestStats merged;
      for (const auto& w : workers)
        merged.Merge(w->Snapshot(static_cast<int>(k)));
      summaries.push_back(
          {.throughput = static_cast<double>(merged.responses) * 1e9 /
                         static_cast<double>(plan.window_ns),
           .p95_ns = merged.latency.ValueAtQuantile(0.95)});
      result.stable = IsStable(summaries, o.stability_percent);
      if (result.stable ||
          static_cast<int>(summaries.size()) >= o.max_windows) {
        result.windows = static_cast<int>(summaries.size());
        int64_t end_of_window = plan.warmup_end_ns + (k + 1) * plan.window_ns;
        plan.stop_ns = std::min(plan.stop_ns.load(), end_of_window);
      }
    }
    int64_t stop = plan.stop_ns.load();
    if (!aborted && stop != INT64_MAX &&
        now > stop + plan.timeout_ns + kAbortGraceNs) {
      for (auto& w : workers) w->Abort();  // a worker that missed its own end
      aborted = true;
    }
  }
  for (std::thread& t : pool) t.join();
  if (!spawn_error.ok()) return spawn_error;

  std::vector<RequestStats> windows;
  for (auto& w : workers) {
    std::vector<RequestStats> mine = w->TakeWindows();
    if (windows.size() < mine.size()) windows.resize(mine.size());
    for (size_t i = 0; i < mine.size(); ++i) windows[i].Merge(mine[i]);
    result.warmup_requests += w->warmup_requests();
    result.peak_connections += w->peak_connections();
  }
  if (stability && static_cast<int>(summaries.size()) >= kStableWindows) {
    // As perf_analyzer: the level's numbers are those of its last 3 windows.
    if (result.windows == 0)
      result.windows = static_cast<int>(summaries.size());
    size_t last = static_cast<size_t>(result.windows);
    for (size_t i = last - kStableWindows; i < last && i < windows.size();
         ++i) {
      result.stats.Merge(windows[i]);
    }
    result.seconds = static_cast<double>(kStableWindows * plan.window_ns) / 1e9;
  } else {
    for (const RequestStats& w : windows) result.stats.Merge(w);
    result.windows = static_cast<int>(summaries.size());
    int64_t end = std::max(result.stats.last_end_ns, plan.warmup_end_ns);
    result.seconds = static_cast<double>(end - plan.warmup_end_ns) / 1e9;
  }
  return result;
}

}  // namespace

absl::Status CheckReachable(const Url& url, absl::Duration timeout) {
  return ResolveAndConnect(url, timeout).status();
}

absl::StatusOr<std::vector<LevelResult>> RunBench(const BenchOptions& options,
                                                  const ProgressFn& progress) {
  absl::Status valid = Validate(options);
  if (!valid.ok()) return valid;
  absl::StatusOr<tcp::endpoint> endpoint =
      ResolveAndConnect(options.url, options.connect_timeout);
  if (!endpoint.ok()) return endpoint.status();
  std::vector<LevelResult> results;
  std::vector<int> levels = options.mode == LoopMode::kOpen
                                ? std::vector<int>{0}
                                : options.concurrency;
  for (size_t i = 0; i < levels.size(); ++i) {
    LevelSetup setup{.index = static_cast<int>(i),
                     .count = static_cast<int>(levels.size()),
                     .concurrency = levels[i]};
    absl::StatusOr<LevelResult> level =
        RunLevel(options, *endpoint, setup, progress);
    if (!level.ok()) return level.status();
    results.push_back(std::move(*level));
  }
  return results;
}

}  // namespace spatial::loadtest::http
