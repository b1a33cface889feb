// cache_on_vs_off: the prediction cache's effect and cost (issue #10), in one
// run, against the same server with the cache off as the reference:
//  a) repeated images (12 rendered pizzas cycled): `spatial serve` with the
//     default cache against `--cache-mb 0`: throughput at --concurrency
//     (closed loop), latency at concurrency 1, and requests per server CPU
//     second (independent of the machine's other load);
//  b) unique images (every request's bytes differ: one rendered pizza's JPEG
//     with a comment segment naming the request, so decoding costs the same
//     and the pixels are identical): the cache
//     only hashes, misses and stores; the same figures, plus a cache so small
//     (--cache-mb 0.02) that every store evicts.
// The configurations alternate for --rounds rounds and each figure is the
// mean over the rounds (the machine is shared: its load moves). Ratios are
// on / off. A MISS is a result: the exit status only says whether it ran.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/flags.h"
#include "bench/serve_child.h"
#include "opencv2/core.hpp"
#include "src/loadtest/http/bench_runner.h"
#include "src/loadtest/payload.h"
#include "src/vision/codec.h"
#include "src/vision/renderer.h"

namespace lt = spatial::loadtest;
using spatial::bench::Clock;

namespace {

// Expectations: a hit must be clearly cheaper than inference; on unique
// images the cache must cost little.
constexpr double kRepeatedGoal = 1.5, kUniqueCostGoal = 0.05;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "cache_on_vs_off: %s\n", why.c_str());
  std::exit(2);
}

struct Args {
  std::string model_dir = SPATIAL_SOURCE_DIR "/models/spatial-pizza-v1";
  std::string spatial = SPATIAL_BINARY;
  int workers = 0;  // 0: cores
  int image_size = 128;
  int concurrency = 8;
  int rounds = 2;
  double level_s = 3, warmup_s = 0.5;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  spatial::bench::Flags(
      "cache_on_vs_off",
      "usage: cache_on_vs_off [--quick] [--model-dir DIR] [--spatial BIN] "
      "[--workers N] [--image-size PX] [--concurrency N] [--rounds N] "
      "[--level-s S] [--warmup-s S]")
      .Switch("--quick", [&] { a.rounds = 1, a.level_s = 2; })
      .Text("--model-dir", &a.model_dir)
      .Text("--spatial", &a.spatial)
      .Int("--workers", &a.workers)
      .Int("--image-size", &a.image_size)
      .Int("--concurrency", &a.concurrency)
      .Int("--rounds", &a.rounds)
      .Number("--level-s", &a.level_s)
      .Number("--warmup-s", &a.warmup_s)
      .Parse(argc, argv);
  return a;
}

const char* Verdict(bool pass) { return pass ? "PASS" : "MISS"; }
double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

// Complete /classify requests, one per JPEG.
lt::RequestSet Requests(const lt::Url& url,
                        const std::vector<std::string>& jpegs) {
  lt::RequestSet set;
  set.method = "POST";
  const std::string boundary = "SpatialCacheBench7f3a";
  for (const auto& jpeg : jpegs) {
    std::string body = lt::MultipartBody(boundary, {{"use_spatial", "true"}},
                                         "pizza.jpg", "image/jpeg", jpeg);
    set.requests.push_back(absl::StrCat(
        "POST ", url.target, " HTTP/1.1\r\nHost: ", url.HostHeader(),
        "\r\nContent-Type: multipart/form-data; boundary=", boundary,
        "\r\nContent-Length: ", body.size(), "\r\n\r\n", body));
  }
  return set;
}

// `count` copies of one rendered pizza's JPEG, each with a JPEG comment
// segment (COM, as a camera's metadata) naming its index `first + i` right
// after the start-of-image marker: every file's bytes (and sha256) differ
// while decoding and inference cost the same.
std::vector<std::string> UniqueJpegs(const std::string& jpeg, uint64_t first,
                                     int count) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    std::string text = absl::StrCat("cache_on_vs_off ", first + i);
    const size_t len = text.size() + 2;  // the length field counts itself
    std::string com = {'\xFF', '\xFE', static_cast<char>(len >> 8),
                       static_cast<char>(len & 0xFF)};
    out.push_back(absl::StrCat(jpeg.substr(0, 2), com, text, jpeg.substr(2)));
  }
  return out;
}

struct Figures {
  double per_s = 0, per_cpu_s = 0, p50_ms = 0, p99_ms = 0;
  uint64_t failed = 0, hits = 0;
};

// Sums over the rounds, then divided by their number.
struct Mean {
  Figures sum;
  int n = 0;
  void Add(const Figures& f) {
    sum.per_s += f.per_s;
    sum.per_cpu_s += f.per_cpu_s;
    sum.p50_ms += f.p50_ms;
    sum.p99_ms += f.p99_ms;
    sum.failed += f.failed;
    sum.hits += f.hits;
    ++n;
  }
  Figures Get() const {
    Figures f = sum;
    if (n > 0) {
      f.per_s /= n;
      f.per_cpu_s /= n;
      f.p50_ms /= n;
      f.p99_ms /= n;
    }
    return f;
  }
};

double CacheHits(int port) {
  return spatial::bench::MetricMax(
      spatial::bench::Get(port, "/metrics").body,
      "pizza_api_prediction_cache_lookups_total{result=\"hit\"}");
}

// One closed-loop level against `server`.
Figures Run(spatial::bench::ServeChild& server, lt::RequestSet requests,
            int concurrency, const Args& args) {
  lt::http::BenchOptions o;
  auto url = lt::ParseUrl(
      absl::StrCat("http://127.0.0.1:", server.port(), "/classify"));
  if (!url.ok()) Die(std::string(url.status().message()));
  o.url = *url;
  o.requests = std::move(requests);
  o.concurrency = {concurrency};
  o.threads = 1;
  o.warmup = absl::Seconds(args.warmup_s);
  o.duration = absl::Seconds(args.level_s);
  o.timeout = absl::Seconds(10);
  const double hits0 = CacheHits(server.port());
  const double cpu0 = spatial::bench::CpuSeconds(server.pid());
  auto level = lt::http::RunBench(o);
  if (!level.ok()) Die(std::string(level.status().message()));
  const double cpu = spatial::bench::CpuSeconds(server.pid()) - cpu0;
  const lt::LevelResult& l = level->at(0);
  Figures f;
  f.per_s = l.throughput();
  f.per_cpu_s =
      cpu > 0 ? static_cast<double>(l.stats.responses + l.warmup_requests) / cpu
              : 0;
  f.p50_ms = Ms(l.stats.latency.ValueAtQuantile(0.5));
  f.p99_ms = Ms(l.stats.latency.ValueAtQuantile(0.99));
  f.failed = l.stats.failed();
  const double hits = CacheHits(server.port()) - hits0;
  f.hits = hits > 0 ? static_cast<uint64_t>(hits) : 0;
  return f;
}

void Print(const char* name, const Figures& f) {
  std::printf(
      "  %-34s %8.1f req/s  %7.1f req per server CPU-s  p50 %6.2f ms  p99 "
      "%7.2f ms  cache hits %llu  failed %llu\n",
      name, f.per_s, f.per_cpu_s, f.p50_ms, f.p99_ms,
      static_cast<unsigned long long>(f.hits),
      static_cast<unsigned long long>(f.failed));
}

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int workers = args.workers > 0 ? args.workers : std::max(cores, 1);
  std::printf(
      "cache_on_vs_off: model %s, workers %d, %dpx JPEGs, closed loop at "
      "c=%d (throughput) and c=1 (latency), %.1f s per level after %.1f s "
      "warm-up, %d round(s)\n  nproc=%ld, load average at start: %s\n",
      args.model_dir.c_str(), workers, args.image_size, args.concurrency,
      args.level_s, args.warmup_s, args.rounds, sysconf(_SC_NPROCESSORS_ONLN),
      spatial::bench::LoadAverage().c_str());
  std::fflush(stdout);

  const spatial::bench::TempDir temp("cache_on_vs_off");
  const std::string& dir = temp.path();
  auto start = [&](const std::string& name, const std::string& mb) {
    auto s = std::make_unique<spatial::bench::ServeChild>(
        args.spatial,
        std::vector<std::string>{"--model-dir", args.model_dir, "--workers",
                                 std::to_string(workers), "--cache-mb", mb},
        SPATIAL_SOURCE_DIR, absl::StrCat(dir, "/", name, ".log"));
    if (!s->WaitReady(std::chrono::seconds(60)))
      Die(absl::StrCat("the ", name, " server did not get ready:\n", s->Log()));
    return s;
  };
  auto on = start("on", "16");
  auto off = start("off", "0");
  auto tiny = start("tiny", "0.02");

  std::vector<std::string> repeated;
  for (int i = 0; i < 12; ++i) {
    repeated.push_back(
        spatial::vision::RenderPizza(i % 6, 2027, i / 6, args.image_size).jpeg);
  }
  const std::string base =
      spatial::vision::RenderPizza(1, 2028, 0, args.image_size).jpeg;
  {
    // The server must take a file with a comment segment as the same image.
    auto a = spatial::vision::DecodeJpeg(UniqueJpegs(base, 0, 1)[0]);
    auto b = spatial::vision::DecodeJpeg(base);
    if (!a.ok() || !b.ok() || cv::norm(*a, *b, cv::NORM_INF) != 0)
      Die("a JPEG with a comment segment does not decode to the same pixels");
  }
  // Enough unique images that no level wraps around: twice the most an
  // idle 2-core machine answered (~1000 req/s); checked, a unique level must
  // see no cache hit, or its verdict is void.
  const int unique_per_level = static_cast<int>(
      std::max(1500.0, 2000.0 * (args.level_s + args.warmup_s)));
  uint64_t next_unique = 0;
  auto url = lt::ParseUrl("http://127.0.0.1:1/classify");
  if (!url.ok()) Die("bad url");

  std::map<std::string, Mean> m;
  for (int round = 0; round < args.rounds; ++round) {
    for (int c : {args.concurrency, 1}) {
      const std::string cs = absl::StrCat(" c=", c);
      m["repeated on" + cs].Add(Run(*on, Requests(*url, repeated), c, args));
      m["repeated off" + cs].Add(Run(*off, Requests(*url, repeated), c, args));
      for (auto [name, server] : {std::pair{"unique on", on.get()},
                                  std::pair{"unique off", off.get()},
                                  std::pair{"unique tiny", tiny.get()}}) {
        auto jpegs = UniqueJpegs(base, next_unique, unique_per_level);
        next_unique += static_cast<uint64_t>(unique_per_level);
        m[name + cs].Add(Run(*server, Requests(*url, jpegs), c, args));
      }
    }
    std::printf("  round %d done, load average %s\n", round + 1,
                spatial::bench::LoadAverage().c_str());
    std::fflush(stdout);
  }

  const std::string hi = absl::StrCat(" c=", args.concurrency);
  std::printf("a) repeated images (12 cycled)\n");
  for (const char* k : {"repeated on", "repeated off"}) {
    Print((k + hi).c_str(), m[k + hi].Get());
    Print((std::string(k) + " c=1").c_str(), m[std::string(k) + " c=1"].Get());
  }
  Figures ron = m["repeated on" + hi].Get(),
          roff = m["repeated off" + hi].Get();
  Figures ron1 = m["repeated on c=1"].Get(),
          roff1 = m["repeated off c=1"].Get();
  double rep_ratio = roff.per_s > 0 ? ron.per_s / roff.per_s : 0;
  double rep_cpu = roff.per_cpu_s > 0 ? ron.per_cpu_s / roff.per_cpu_s : 0;
  std::printf(
      "   throughput on / off          %6.2f   goal >= %.1f   %s\n"
      "   per server CPU-s on / off    %6.2f   (independent of other load)\n"
      "   p50 at c=1: on %.2f ms, off %.2f ms (%.2f x)\n",
      rep_ratio, kRepeatedGoal, Verdict(rep_ratio >= kRepeatedGoal), rep_cpu,
      ron1.p50_ms, roff1.p50_ms,
      ron1.p50_ms > 0 ? roff1.p50_ms / ron1.p50_ms : 0);

  std::printf(
      "b) unique images (every request's bytes differ; tiny = --cache-mb "
      "0.02, every store evicts)\n");
  for (const char* k : {"unique on", "unique off", "unique tiny"}) {
    Print((k + hi).c_str(), m[k + hi].Get());
    Print((std::string(k) + " c=1").c_str(), m[std::string(k) + " c=1"].Get());
  }
  Figures uon = m["unique on" + hi].Get(), uoff = m["unique off" + hi].Get(),
          utiny = m["unique tiny" + hi].Get();
  // A hit on a unique level means its images came round again: the cost it
  // shows is then a cache win, and no verdict can come from it.
  const uint64_t wrapped = uon.hits + utiny.hits +
                           m["unique on c=1"].Get().hits +
                           m["unique tiny c=1"].Get().hits;
  double cost = uoff.per_cpu_s > 0 ? 1 - uon.per_cpu_s / uoff.per_cpu_s : 0;
  double cost_tiny =
      uoff.per_cpu_s > 0 ? 1 - utiny.per_cpu_s / uoff.per_cpu_s : 0;
  std::printf(
      "   throughput on / off          %6.2f   (wall clock)\n"
      "   cost per server CPU-s        %5.1f%%  goal <= %.0f%%   %s   (1 - on "
      "/ off)\n"
      "   cost with every store evicting %5.1f%%\n"
      "   p50 at c=1: on %.2f ms, off %.2f ms\n",
      uoff.per_s > 0 ? uon.per_s / uoff.per_s : 0, cost * 100,
      kUniqueCostGoal * 100,
      wrapped > 0 ? "VOID (images repeated)" : Verdict(cost <= kUniqueCostGoal),
      cost_tiny * 100, m["unique on c=1"].Get().p50_ms,
      m["unique off c=1"].Get().p50_ms);
  if (wrapped > 0) {
    std::printf(
        "   NOTE: %llu cache hits in the unique levels: a level cycled its "
        "images, so the cost above is void; raise the count\n",
        static_cast<unsigned long long>(wrapped));
  }
  std::printf("  load average at end: %s\n",
              spatial::bench::LoadAverage().c_str());
  int rc = 0;
  for (auto* s : {on.get(), off.get(), tiny.get()}) {
    if (int r = s->Terminate(std::chrono::seconds(20)); r != 0) {
      std::fprintf(stderr, "cache_on_vs_off: a server exited with %d:\n%s", r,
                   s->Log().c_str());
      rc = 1;
    }
  }
  return rc;
}
