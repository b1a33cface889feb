// swap_under_load: p99 latency while `spatial serve` swaps to a newly
// promoted model version, against p99 in the steady windows of the same run
// (goal p99 swap / p99 steady <= 1.2, issue #22; issue #4 asked 1.5; and no
// failed request).
//
// Builds a temp SQLite registry with `spatial model register/validate/
// promote`: s1 = the shipped spatial bundle, s2 = a copy whose manifest.json
// has one added field (a distinct version). Starts `spatial serve --registry R
// --environment development --poll-registry-s 0.1`, measures its saturation
// briefly (closed loop) unless --rate is given, then runs an open loop
// (Poisson) at --load (50%) of it, recording every request with its
// timestamps, and promotes s2, s1, s2, ... every --period-s. A swap window runs
// from the start of `spatial model promote` until /health reports the new
// version, plus 1 s; every other measured request is steady.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/flags.h"
#include "bench/serve_child.h"
#include "nlohmann/json.hpp"
#include "src/loadtest/http/bench_runner.h"
#include "src/vision/renderer.h"

namespace fs = std::filesystem;
namespace lt = spatial::loadtest;
using spatial::bench::Clock;
using spatial::bench::CpuSeconds;

namespace {

constexpr double kRatioGoal = 1.2;
const std::string kSource = SPATIAL_SOURCE_DIR;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "swap_under_load: %s\n", why.c_str());
  std::exit(2);
}

struct Args {
  std::string spatial = SPATIAL_BINARY;
  int swaps = 6;
  double period_s = 5, lead_s = 3, load = 0.5, rate = 0, sat_s = 2;
  int workers = 0;  // 0: cores
  int image_size = 128;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  spatial::bench::Flags(
      "swap_under_load",
      "usage: swap_under_load [--quick] [--spatial BIN] [--swaps N] "
      "[--period-s S] [--lead-s S] [--load 0.5] [--rate R] [--sat-s S] "
      "[--workers N] [--image-size PX]")
      .Switch("--quick",
              [&] { a.swaps = 2, a.period_s = 4, a.lead_s = 2, a.sat_s = 1.5; })
      .Text("--spatial", &a.spatial)
      .Int("--swaps", &a.swaps)
      .Int("--workers", &a.workers)
      .Int("--image-size", &a.image_size)
      .Number("--period-s", &a.period_s)
      .Number("--lead-s", &a.lead_s)
      .Number("--load", &a.load, 1)
      .Number("--rate", &a.rate)
      .Number("--sat-s", &a.sat_s)
      .Parse(argc, argv);
  return a;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

// Nearest-rank quantile of latencies (sorted in place).
int64_t Quantile(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

int64_t SteadyNs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             t.time_since_epoch())
      .count();
}

std::string ServedSpatial(int port) {
  auto a = spatial::bench::Get(port, "/health");
  auto j = nlohmann::json::parse(a.body, nullptr, false);
  if (a.status != 200 || j.is_discarded() || !j["models"].contains("spatial"))
    return "";
  return j["models"]["spatial"].get<std::string>();
}

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int workers = args.workers > 0 ? args.workers : std::max(cores, 1);
  std::printf(
      "swap_under_load: %d swaps s1<->s2 every %.1f s, workers %d, %dpx JPEGs\n"
      "  nproc=%ld, load average at start: %s\n",
      args.swaps, args.period_s, workers, args.image_size,
      sysconf(_SC_NPROCESSORS_ONLN), spatial::bench::LoadAverage().c_str());
  std::fflush(stdout);

  const spatial::bench::TempDir temp("swap_under_load");
  const std::string& dir = temp.path();
  const std::string reg = dir + "/reg.db", log = dir + "/cli.log";
  const std::string config = kSource + "/config/environments.json";
  auto model = [&](std::vector<std::string> a) {
    std::vector<std::string> cmd = {args.spatial, "model"};
    cmd.insert(cmd.end(), a.begin(), a.end());
    cmd.insert(cmd.end(), {"--registry", reg, "--config", config, "--actor",
                           "swap_under_load"});
    int rc = spatial::bench::RunToLog(cmd, log);
    if (rc != 0)
      Die(absl::StrCat("spatial model ", a[0], " failed (", rc, "):\n",
                       ReadAll(log)));
  };

  // s2: the shipped bundle with one field added to its manifest.
  const std::string shipped = kSource + "/models/spatial-pizza-v1";
  const std::string variant = dir + "/s2";
  fs::create_directories(variant);
  fs::copy_file(shipped + "/model.onnx", variant + "/model.onnx");
  std::string m = ReadAll(shipped + "/manifest.json");
  m.insert(m.find('{') + 1, "\"note\": \"swap_under_load s2\",");
  std::ofstream(variant + "/manifest.json") << m;
  for (const auto& [path, id] : {std::pair{shipped, std::string("s1")},
                                 std::pair{variant, std::string("s2")}}) {
    model({"register", path, "--version-id", id});
    model({"validate", id, "--environment", "development"});
  }
  model({"promote", "s1", "--environment", "development"});

  // No prediction cache: every request runs the model being swapped.
  spatial::bench::ServeChild server(
      args.spatial,
      {"--registry", reg, "--config", config, "--environment", "development",
       "--poll-registry-s", "0.1", "--workers", std::to_string(workers),
       "--cache-mb", "0"},
      kSource, dir + "/serve.log");
  if (!server.WaitReady(std::chrono::seconds(60)))
    Die("the server did not get ready:\n" + server.Log());
  if (ServedSpatial(server.port()) != "s1")
    Die("the server does not serve s1:\n" + server.Log());

  const std::string jpeg_path = dir + "/pizza.jpg";
  lt::http::BenchOptions o;
  o.url = *lt::ParseUrl(
      absl::StrCat("http://127.0.0.1:", server.port(), "/classify"));
  for (int i = 0; i < 6; ++i) {
    std::ofstream(jpeg_path, std::ios::binary)
        << spatial::vision::RenderPizza(i, 2026, 0, args.image_size).jpeg;
    auto set = lt::BuildRequests(
        o.url, {.image_file = jpeg_path, .fields = {{"use_spatial", "true"}}});
    if (!set.ok()) Die(std::string(set.status().message()));
    o.requests.method = set->method;
    for (auto& r : set->requests) o.requests.requests.push_back(std::move(r));
  }
  o.threads = 1;
  o.timeout = absl::Seconds(10);
  o.warmup = absl::Milliseconds(500);

  double rate = args.rate;
  if (rate <= 0) {
    lt::http::BenchOptions s = o;
    s.concurrency = {8};
    s.duration = absl::Seconds(args.sat_s);
    auto sat = lt::http::RunBench(s);
    if (!sat.ok()) Die(std::string(sat.status().message()));
    double best = sat->at(0).throughput();
    rate = best * args.load;
    std::printf(
        "  saturation (closed loop c=8, %.1f s): %.1f req/s -> %.0f%% = "
        "%.1f req/s\n",
        args.sat_s, best, args.load * 100, rate);
  } else {
    std::printf("  rate given: %.1f req/s\n", rate);
  }

  // The open loop, every request recorded.
  std::mutex mu;
  std::vector<lt::RequestRecord> records;
  lt::http::BenchOptions p = o;
  p.mode = lt::LoopMode::kOpen;
  p.distribution = lt::Distribution::kPoisson;
  p.rate = rate;
  p.max_connections = 256;
  p.duration = absl::Seconds(args.lead_s + args.swaps * args.period_s);
  p.on_request = [&](const lt::RequestRecord& r) {
    std::lock_guard<std::mutex> lock(mu);
    records.push_back(r);
  };
  const auto load_start = Clock::now();
  absl::StatusOr<std::vector<lt::LevelResult>> run;
  std::thread load([&] { run = lt::http::RunBench(p); });

  struct Window {
    int64_t start_ns, end_ns;
  };
  std::vector<Window> windows;
  bool all_seen = true;
  // The server's CPU use in the steady lead, after the load's warm-up.
  std::this_thread::sleep_until(load_start + std::chrono::milliseconds(500));
  const auto lead_start = Clock::now();
  const double lead_cpu = CpuSeconds(server.pid());
  double steady_cores = 0;
  for (int i = 0; i < args.swaps; ++i) {
    std::this_thread::sleep_until(
        load_start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(0.5 + args.lead_s +
                                                       i * args.period_s)));
    const std::string target = i % 2 == 0 ? "s2" : "s1";
    auto t0 = Clock::now();
    if (i == 0) {
      steady_cores = (CpuSeconds(server.pid()) - lead_cpu) /
                     std::chrono::duration<double>(t0 - lead_start).count();
    }
    double server_cpu0 = CpuSeconds(server.pid()), cli_cpu0 = CpuSeconds(-1);
    model({"promote", target, "--environment", "development"});
    auto t_promoted = Clock::now();
    double cli_cpu = CpuSeconds(-1) - cli_cpu0;
    auto deadline = t0 + std::chrono::seconds(20);
    while (ServedSpatial(server.port()) != target && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto t_seen = Clock::now();
    double server_cpu = CpuSeconds(server.pid()) - server_cpu0;
    bool seen = ServedSpatial(server.port()) == target;
    all_seen = all_seen && seen;
    double swap_ms =
        std::chrono::duration<double, std::milli>(t_seen - t0).count();
    std::printf(
        "  swap %d -> %s: promote CLI %.0f ms (%.0f ms CPU), served after %.0f "
        "ms%s; server CPU meanwhile %.0f ms = %.2f cores (steady: %.2f)\n",
        i + 1, target.c_str(),
        std::chrono::duration<double, std::milli>(t_promoted - t0).count(),
        cli_cpu * 1000, swap_ms, seen ? "" : " (NOT seen within 20 s)",
        server_cpu * 1000, swap_ms > 0 ? server_cpu * 1000 / swap_ms : 0,
        steady_cores);
    std::fflush(stdout);
    windows.push_back(
        {SteadyNs(t0), SteadyNs(t_seen + std::chrono::seconds(1))});
  }
  load.join();
  if (!run.ok()) Die(std::string(run.status().message()));

  std::vector<int64_t> steady, swap;
  uint64_t failed = 0, measured = 0;
  std::map<std::string, uint64_t> failures;
  for (const auto& r : records) {
    if (r.error || r.status >= 400 || r.status == 0) {
      ++failed;
      ++failures[r.error ? lt::ErrorKindName(*r.error)
                         : absl::StrCat("http_", r.status)];
    }
    if (r.warmup) continue;
    ++measured;
    if (r.error) continue;  // no latency without an answer
    bool in_swap = std::any_of(windows.begin(), windows.end(), [&](auto& w) {
      return r.origin_ns >= w.start_ns && r.origin_ns < w.end_ns;
    });
    (in_swap ? swap : steady).push_back(r.end_ns - r.origin_ns);
  }
  size_t n_steady = steady.size(), n_swap = swap.size();
  int64_t s50 = Quantile(steady, 0.5), s99 = Quantile(steady, 0.99);
  int64_t w50 = Quantile(swap, 0.5), w99 = Quantile(swap, 0.99);
  double ratio =
      s99 > 0 ? static_cast<double>(w99) / static_cast<double>(s99) : 0;
  const auto& level = run->at(0);
  std::printf(
      "  open loop (Poisson) %.1f req/s for %.1f s: got %.1f req/s, %llu "
      "requests recorded (%llu measured), late sends %llu\n"
      "  steady: %6zu requests  p50 %7.2f ms  p99 %7.2f ms\n"
      "  swap:   %6zu requests  p50 %7.2f ms  p99 %7.2f ms  (%zu windows: "
      "promote -> new version in /health + 1 s)\n"
      "  ratio p99 swap / p99 steady  %5.2f   goal <= %.1f   failed requests "
      "%llu   %s\n",
      rate, absl::ToDoubleSeconds(p.duration), level.throughput(),
      static_cast<unsigned long long>(records.size()),
      static_cast<unsigned long long>(measured),
      static_cast<unsigned long long>(level.stats.late_sends), n_steady,
      Ms(s50), Ms(s99), n_swap, Ms(w50), Ms(w99), windows.size(), ratio,
      kRatioGoal, static_cast<unsigned long long>(failed),
      ratio <= kRatioGoal && failed == 0 && all_seen ? "PASS" : "MISS");
  for (const auto& [kind, n] : failures)
    std::printf("    failed: %s x %llu\n", kind.c_str(),
                static_cast<unsigned long long>(n));
  std::printf("  load average at end: %s\n",
              spatial::bench::LoadAverage().c_str());
  int rc = server.Terminate(std::chrono::seconds(20));
  if (rc != 0) {
    std::fprintf(stderr, "swap_under_load: the server exited with %d:\n%s", rc,
                 server.Log().c_str());
    return 1;
  }
  return 0;
}
