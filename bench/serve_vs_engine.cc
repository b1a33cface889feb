// serve_vs_engine: served /classify throughput against the in-process engine
// for the same model, in one run (issue #4, "Done when"):
//  a) engine: one inference::Classifier per worker thread (workers = cores,
//     OpenCV single-threaded as in the server), batches of --max-batch:
//     pure inference on prepared inputs, and decode + PrepareInput +
//     inference per image (the work the server does per request);
//  b) the real `spatial serve --model-dir DIR --workers N` on 127.0.0.1,
//     closed-loop sweep over --concurrency with real rendered pizza JPEGs;
//  c) ratio served / engine (goal >= 0.95 against decode+preprocess: issue
//     #22 raised it from issue #4's 0.9);
//  d) open loop (Poisson) at 50% and 90% of the best served rate: p50, p99,
//     p99.9 from the scheduled send time;
//  e) ready time (fork -> first 200 on /v2/health/ready, goal <= 300 ms) and
//     the server's RSS during the 90% phase (goal < 100 MB).
// A MISS is a result: the exit status only says whether the bench ran.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/engine_rate.h"
#include "bench/flags.h"
#include "bench/pizza_files.h"
#include "bench/serve_child.h"
#include "opencv2/core/utility.hpp"
#include "src/inference/classifier.h"
#include "src/loadtest/http/bench_runner.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"

namespace fs = std::filesystem;
namespace lt = spatial::loadtest;
using spatial::bench::Clock;

namespace {

constexpr double kRatioGoal = 0.95, kReadyGoalMs = 300, kRssGoalBytes = 100e6;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "serve_vs_engine: %s\n", why.c_str());
  std::exit(2);
}

struct Args {
  std::string model_dir = SPATIAL_SOURCE_DIR "/models/spatial-pizza-v1";
  std::string spatial = SPATIAL_BINARY;
  int workers = 0;  // 0: cores
  int max_batch = 8;
  int image_size = 128;  // `spatial data generate`'s default
  int client_threads = 1;
  std::vector<int> concurrency = {4, 8, 16, 32};
  double engine_s = 5, level_s = 3, open_s = 8, warmup_s = 0.5;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  spatial::bench::Flags(
      "serve_vs_engine",
      "usage: serve_vs_engine [--quick] [--model-dir DIR] [--spatial BIN] "
      "[--workers N] [--max-batch N] [--image-size PX] [--client-threads N] "
      "[--concurrency 4,8,16,32] [--engine-s S] [--level-s S] [--open-s S] "
      "[--warmup-s S]")
      .Switch("--quick",
              [&] {
                a.engine_s = 2, a.level_s = 1.5, a.open_s = 3, a.warmup_s = 0.3;
              })
      .Text("--model-dir", &a.model_dir)
      .Text("--spatial", &a.spatial)
      .Int("--workers", &a.workers)
      .Int("--max-batch", &a.max_batch)
      .Int("--image-size", &a.image_size)
      .Int("--client-threads", &a.client_threads)
      .Ints("--concurrency", &a.concurrency)
      .Number("--engine-s", &a.engine_s)
      .Number("--level-s", &a.level_s)
      .Number("--open-s", &a.open_s)
      .Number("--warmup-s", &a.warmup_s)
      .Parse(argc, argv);
  return a;
}

const char* Verdict(bool pass) { return pass ? "PASS" : "MISS"; }

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int workers = args.workers > 0 ? args.workers : std::max(cores, 1);
  std::printf(
      "serve_vs_engine: model %s, workers %d, max batch %d, %dpx JPEGs\n"
      "  nproc=%ld, load average at start: %s\n",
      args.model_dir.c_str(), workers, args.max_batch, args.image_size,
      sysconf(_SC_NPROCESSORS_ONLN), spatial::bench::LoadAverage().c_str());
  std::fflush(stdout);
  auto manifest = spatial::inference::Classifier::Open(args.model_dir);
  if (!manifest.ok()) Die(std::string(manifest.status().message()));
  const bool spatial_model = (*manifest)->manifest().has_spatial();
  manifest->reset();

  const spatial::bench::TempDir temp("serve_vs_engine");
  const std::string& dir = temp.path();

  // 12 real rendered pizzas (two of each class), as JPEG files.
  const auto [jpegs, files] =
      spatial::bench::WritePizzas(dir, 12, 2026, args.image_size);

  // a) engine.
  cv::setNumThreads(1);  // as `spatial serve`: one inference per worker
  std::printf(
      "a) in-process engine, %d threads x 1 Classifier, batches of %d, %.1f s "
      "each\n",
      workers, args.max_batch, args.engine_s);
  auto engine = [&](bool decode, const char* what) {
    auto r = spatial::bench::EngineRate(args.model_dir, workers, args.max_batch,
                                        args.engine_s, jpegs, decode);
    if (!r.ok()) Die(std::string(r.status().message()));
    std::printf(
        "  %-40s %8.1f images/s  (%.2f cores busy, %6.1f images per CPU-s)\n",
        what, r->per_s, r->cpu_cores, r->per_cpu_s);
    std::fflush(stdout);
    return *r;
  };
  spatial::bench::Rate pure = engine(false, "inference only (prepared inputs)");
  spatial::bench::Rate full = engine(true, "decode + preprocess + inference");

  // Process start alone, for the ready time: `spatial --version`, best of 3.
  double start_ms = 1e9;
  for (int i = 0; i < 3; ++i) {
    auto t0 = Clock::now();
    spatial::bench::RunToLog({args.spatial, "--version"}, "/dev/null");
    start_ms = std::min(
        start_ms,
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }

  // The same server without warm-up, for where the ready time goes.
  double cold_ms = -1, cold_cpu_ms = -1;
  {
    spatial::bench::ServeChild cold(
        args.spatial,
        {"--model-dir", args.model_dir, "--workers", std::to_string(workers),
         "--max-batch", std::to_string(args.max_batch), "--warmup-rounds", "0"},
        SPATIAL_SOURCE_DIR, dir + "/serve-cold.log");
    if (cold.WaitReady(std::chrono::seconds(60))) {
      cold_ms = cold.ready_ms();
      cold_cpu_ms = spatial::bench::CpuSeconds(cold.pid()) * 1000;
    }
  }

  // b) the real server, without the prediction cache (this measures the
  // model's path; bench/cache_on_vs_off measures the cache).
  spatial::bench::ServeChild server(
      args.spatial,
      {"--model-dir", args.model_dir, "--workers", std::to_string(workers),
       "--max-batch", std::to_string(args.max_batch), "--cache-mb", "0"},
      SPATIAL_SOURCE_DIR, dir + "/serve.log");
  if (!server.WaitReady(std::chrono::seconds(60)))
    Die("the server did not get ready:\n" + server.Log());
  const double ready_ms = server.ready_ms();
  const double logged_ms = server.LoggedReadyMs();
  const double ready_cpu_s = spatial::bench::CpuSeconds(server.pid());
  const int64_t ready_rss_kb = server.StatusKb("VmRSS");

  lt::http::BenchOptions o;
  auto url = lt::ParseUrl(
      absl::StrCat("http://127.0.0.1:", server.port(), "/classify"));
  if (!url.ok()) Die(std::string(url.status().message()));
  o.url = *url;
  for (const auto& f : files) {
    auto set = lt::BuildRequests(
        o.url, {.image_file = f,
                .fields = {{"use_spatial", spatial_model ? "true" : "false"}}});
    if (!set.ok()) Die(std::string(set.status().message()));
    o.requests.method = set->method;
    for (auto& r : set->requests) o.requests.requests.push_back(std::move(r));
  }
  o.threads = args.client_threads;
  o.warmup = absl::Seconds(args.warmup_s);
  o.duration = absl::Seconds(args.level_s);
  o.timeout = absl::Seconds(10);
  std::printf(
      "b) spatial serve --workers %d --max-batch %d, POST /classify, closed "
      "loop, %d client thread(s), %.1f s per level after %.1f s warm-up\n"
      "   ready after %.0f ms having used %.0f ms of CPU\n",
      workers, args.max_batch, args.client_threads, args.level_s, args.warmup_s,
      ready_ms, ready_cpu_s * 1000);
  spatial::bench::Rate best;
  int best_c = 0;
  for (int c : args.concurrency) {
    o.concurrency = {c};
    double server_cpu0 = spatial::bench::CpuSeconds(server.pid()),
           self_cpu0 = spatial::bench::CpuSeconds(0);
    auto t0 = Clock::now();
    auto level = lt::http::RunBench(o);
    if (!level.ok()) Die(std::string(level.status().message()));
    double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    double server_cpu = spatial::bench::CpuSeconds(server.pid()) - server_cpu0;
    double self_cpu = spatial::bench::CpuSeconds(0) - self_cpu0;
    const lt::LevelResult& l = level->at(0);
    // Requests per server CPU second over the whole level (warm-up included).
    double all = static_cast<double>(l.stats.responses + l.warmup_requests);
    spatial::bench::Rate r{l.throughput(),
                           server_cpu > 0 ? all / server_cpu : 0,
                           server_cpu / wall};
    std::printf(
        "  c=%-3d %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms  failed %llu  "
        "server %.2f cores (%6.1f req per CPU-s), load generator %.2f cores\n",
        c, r.per_s, Ms(l.stats.latency.ValueAtQuantile(0.5)),
        Ms(l.stats.latency.ValueAtQuantile(0.99)),
        static_cast<unsigned long long>(l.stats.failed()), r.cpu_cores,
        r.per_cpu_s, self_cpu / wall);
    std::fflush(stdout);
    if (l.stats.failed() == 0 && r.per_s > best.per_s) best = r, best_c = c;
  }
  auto metrics = spatial::bench::Get(server.port(), "/metrics");
  const double mean_batch =
      spatial::bench::HistogramMean(metrics.body, "pizza_api_batch_size");
  std::printf("  saturation: %.1f req/s at c=%d; mean batch size %.2f\n",
              best.per_s, best_c, mean_batch);

  // Engine again, so that the reference spans the served measurement (the
  // machine is shared: its load moves during the run).
  spatial::bench::Rate full2 =
      engine(true, "decode + preprocess + inference, again");
  double reference = (full.per_s + full2.per_s) / 2;
  double reference_cpu = (full.per_cpu_s + full2.per_cpu_s) / 2;
  double cpu_ratio = reference_cpu > 0 ? best.per_cpu_s / reference_cpu : 0;

  // c) ratio.
  double ratio = reference > 0 ? best.per_s / reference : 0;
  std::printf(
      "c) served / engine (decode + preprocess + inference, mean of the 2 "
      "runs)  %5.2f   goal >= %.2f   %s\n"
      "   served / engine (inference only)              %5.2f   "
      "(information)\n"
      "   per CPU second: served %.1f req / engine %.1f images  %5.2f   goal "
      ">= %.2f   %s  (independent of the machine's other load)\n",
      ratio, kRatioGoal, Verdict(ratio >= kRatioGoal),
      pure.per_s > 0 ? best.per_s / pure.per_s : 0, best.per_cpu_s,
      reference_cpu, cpu_ratio, kRatioGoal, Verdict(cpu_ratio >= kRatioGoal));
  // How much of the gap is batching: the engine at the batch size the
  // server ran (information).
  const int served_batch =
      std::clamp(static_cast<int>(std::lround(mean_batch)), 1, args.max_batch);
  if (served_batch < args.max_batch) {
    auto at = spatial::bench::EngineRate(args.model_dir, workers, served_batch,
                                         args.engine_s / 2, jpegs, true);
    if (!at.ok()) Die(std::string(at.status().message()));
    std::printf(
        "   engine at the server's mean batch size (%d): %.1f images per "
        "CPU-s; "
        "served / that %5.2f  (information: what batching does not explain)\n",
        served_batch, at->per_cpu_s,
        at->per_cpu_s > 0 ? best.per_cpu_s / at->per_cpu_s : 0);
  }
  double engine_cores = (full.cpu_cores + full2.cpu_cores) / 2;
  if (engine_cores < 0.9 * workers) {
    std::printf(
        "   NOTE: the machine was busy: the engine's %d threads got %.2f cores "
        "and the server %.2f (it runs more threads, so it gets a larger share "
        "of a contended CPU); the wall-clock ratio compares shares of the "
        "machine, the per-CPU-second ratio compares the work\n",
        workers, engine_cores, best.cpu_cores);
  }
  std::fflush(stdout);

  // d) open loop at 50% and 90% of saturation; e) RSS during the 90% phase.
  int64_t peak_rss_kb = 0;
  std::printf(
      "d) open loop (Poisson), %.1f s per rate after %.1f s warm-up, latency "
      "from the scheduled send\n",
      args.open_s, args.warmup_s);
  for (double share : {0.5, 0.9}) {
    lt::http::BenchOptions p = o;
    p.mode = lt::LoopMode::kOpen;
    p.distribution = lt::Distribution::kPoisson;
    p.rate = std::max(1.0, best.per_s * share);
    p.duration = absl::Seconds(args.open_s);
    p.max_connections = 256;
    // RSS every 20 ms; the batcher's queue depth (/metrics) every 100 ms.
    std::atomic<bool> sampling{true};
    int64_t phase_rss_kb = 0;
    double peak_queue = 0;
    std::thread sampler([&] {
      for (int i = 0; sampling; ++i) {
        phase_rss_kb = std::max(phase_rss_kb, server.StatusKb("VmRSS"));
        if (i % 5 == 0) {
          peak_queue =
              std::max(peak_queue,
                       spatial::bench::MetricMax(
                           spatial::bench::Get(server.port(), "/metrics").body,
                           "pizza_api_queue_depth"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    auto run = lt::http::RunBench(p);
    sampling = false;
    sampler.join();
    if (!run.ok()) Die(std::string(run.status().message()));
    const auto& s = run->at(0).stats;
    std::printf(
        "  %2.0f%% = %7.1f req/s: got %7.1f req/s  p50 %7.2f ms  p99 %7.2f ms"
        "  p99.9 %7.2f ms  failed %llu  late sends %llu\n"
        "       server: peak VmRSS %.1f MB, peak batcher queue depth %.0f\n",
        share * 100, p.rate, run->at(0).throughput(),
        Ms(s.latency.ValueAtQuantile(0.5)), Ms(s.latency.ValueAtQuantile(0.99)),
        Ms(s.latency.ValueAtQuantile(0.999)),
        static_cast<unsigned long long>(s.failed()),
        static_cast<unsigned long long>(s.late_sends),
        static_cast<double>(phase_rss_kb) * 1024 / 1e6, peak_queue);
    if (share > 0.8) peak_rss_kb = phase_rss_kb;
  }
  int64_t hwm_kb = server.StatusKb("VmHWM");
  double rss_bytes =
      static_cast<double>(std::max(peak_rss_kb, hwm_kb)) * 1024.0;
  std::printf(
      "e) ready: fork -> first 200 on /v2/health/ready  %6.0f ms   goal <= "
      "%.0f ms   %s\n"
      "          server's own \"ms after start\" line    %6.0f ms\n"
      "          server CPU used until ready            %6.0f ms\n"
      "          spatial --version (process start)      %6.0f ms   "
      "(reference, best of 3)\n"
      "          with --warmup-rounds 0                 %6.0f ms   "
      "(reference; %.0f ms of CPU)\n"
      "   server RSS during the 90%% phase: peak VmRSS %.1f MB, VmHWM %.1f MB"
      "   goal < %.0f MB   %s  (%.1f MB when it got ready)\n",
      ready_ms, kReadyGoalMs, Verdict(ready_ms <= kReadyGoalMs), logged_ms,
      ready_cpu_s * 1000, start_ms, cold_ms, cold_cpu_ms,
      static_cast<double>(peak_rss_kb) * 1024 / 1e6,
      static_cast<double>(hwm_kb) * 1024 / 1e6, kRssGoalBytes / 1e6,
      Verdict(rss_bytes < kRssGoalBytes),
      static_cast<double>(ready_rss_kb) * 1024 / 1e6);
  std::printf("  load average at end: %s\n",
              spatial::bench::LoadAverage().c_str());
  int rc = server.Terminate(std::chrono::seconds(20));
  if (rc != 0) {
    std::fprintf(stderr, "serve_vs_engine: the server exited with %d:\n%s", rc,
                 server.Log().c_str());
    return 1;
  }
  return 0;
}
