// Validation of the load generator against a fixture server with known
// injected delays and stalls (real loopback TCP, no mocks). Every run is
// bounded by a duration or a request count, and by the per-request timeout.
#include "src/loadtest/http/bench_runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <mutex>

#include "absl/strings/match.h"
#include "boost/asio/ip/tcp.hpp"
#include "gtest/gtest.h"
#include "src/loadtest/http/fixture_server.h"

namespace spatial::loadtest::http {
namespace {

std::unique_ptr<FixtureServer> StartFixture(FixtureOptions options = {}) {
  auto server = FixtureServer::Start(std::move(options));
  EXPECT_TRUE(server.ok()) << server.status();
  return std::move(*server);
}

BenchOptions GetOptions(const FixtureServer& server, absl::Duration duration) {
  BenchOptions o;
  o.url = *ParseUrl(server.Url("/health"));
  o.requests = *BuildRequests(o.url, {});
  o.duration = duration;
  o.timeout = absl::Seconds(5);
  return o;
}

LevelResult RunOne(const BenchOptions& o) {
  auto levels = RunBench(o);
  EXPECT_TRUE(levels.ok()) << levels.status();
  EXPECT_EQ(levels->size(), 1u);
  return levels->at(0);
}

int64_t NearestRank(std::vector<int64_t> v, double q) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// Delays spread uniformly over 40..200 ms: the client's percentiles match the
// server's own record of how long it held each request within 5% or 1 ms.
// (Delays this long keep a few ms of scheduling delay on a loaded machine
// inside the 5%.)
TEST(BenchRunnerTest, PercentilesMatchInjectedDelays) {
  auto server = StartFixture({.delay = [](uint64_t seq) {
    uint64_t h = (seq + 1) * 0x9E3779B97F4A7C15ull;  // a fixed shuffle
    return absl::Milliseconds(40) +
           absl::Microseconds(static_cast<int64_t>((h >> 40) % 160000));
  }});
  BenchOptions o = GetOptions(*server, absl::Milliseconds(1500));
  o.concurrency = {32};
  LevelResult r = RunOne(o);
  std::vector<int64_t> held = server->HeldNs();
  ASSERT_EQ(r.stats.responses, held.size())
      << "warm-up is 0: every answer is measured";
  ASSERT_GT(held.size(), 200u);
  EXPECT_EQ(r.stats.failed(), 0u);
  for (double q : {0.5, 0.9, 0.95, 0.99}) {
    double injected = static_cast<double>(NearestRank(held, q));
    double measured = static_cast<double>(r.stats.latency.ValueAtQuantile(q));
    std::cout << "p" << q * 100 << ": server held " << injected / 1e6
              << " ms, client measured " << measured / 1e6 << " ms\n";
    double tolerance = std::max(0.05 * injected, 1e6);
    EXPECT_NEAR(measured, injected, tolerance) << "p" << q * 100;
    EXPECT_GE(measured, injected * (1 - LatencyHistogram::kMaxRelativeError))
        << q;
  }
}

// A 300 ms stall: the open loop (latency from the scheduled send) reports it
// in p99 and counts the late sends; a closed loop at concurrency 1 hides it
// in a single slow sample.
TEST(BenchRunnerTest, OpenLoopReportsTheStallClosedLoopHides) {
  auto delay = [](uint64_t) { return absl::Milliseconds(1); };
  auto closed_server = StartFixture({.delay = delay});
  BenchOptions closed = GetOptions(*closed_server, absl::Milliseconds(1500));
  closed.concurrency = {1};
  closed_server->ScheduleStall(absl::Milliseconds(500),
                               absl::Milliseconds(300));
  LevelResult c = RunOne(closed);

  auto open_server = StartFixture({.delay = delay});
  BenchOptions open = GetOptions(*open_server, absl::Milliseconds(1500));
  open.mode = LoopMode::kOpen;
  open.rate = 400;
  open.max_connections = 4;  // so that sends during the stall queue up
  open_server->ScheduleStall(absl::Milliseconds(500), absl::Milliseconds(300));
  LevelResult p = RunOne(open);

  int64_t c99 = c.stats.latency.ValueAtQuantile(0.99);
  int64_t p99 = p.stats.latency.ValueAtQuantile(0.99);
  auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  std::cout << "closed c=1: " << c.stats.responses << " answers, p99 "
            << ms(c99) << " ms, max " << ms(c.stats.latency.max_ns())
            << " ms\nopen 400/s: " << p.stats.responses << " answers, p90 "
            << ms(p.stats.latency.ValueAtQuantile(0.9)) << " ms, p99 "
            << ms(p99) << " ms, max " << ms(p.stats.latency.max_ns())
            << " ms, late sends " << p.stats.late_sends << "\n";
  EXPECT_GE(c.stats.latency.max_ns(), 250'000'000)
      << "the closed loop saw one stalled request";
  EXPECT_LT(c99, 50'000'000) << "...and its p99 hides the stall";
  EXPECT_GE(p99, 200'000'000) << "the open loop's p99 includes the stall";
  EXPECT_GE(p.stats.latency.ValueAtQuantile(0.9), 50'000'000);
  EXPECT_GT(p99, 10 * c99);
  EXPECT_GE(p.stats.latency.max_ns(), 250'000'000);
  EXPECT_GE(p.stats.late_sends, 60u)
      << "about 120 sends fell due during the stall";
  EXPECT_EQ(c.stats.late_sends, 0u);
  EXPECT_NEAR(p.throughput(), 400, 40);
  EXPECT_EQ(p.stats.failed(), 0u);
}

// Answers held during the warm-up do not reach the results.
TEST(BenchRunnerTest, WarmupIsExcluded) {
  auto server =
      StartFixture({.delay = [](uint64_t) { return absl::Milliseconds(1); }});
  server->ScheduleStall(absl::ZeroDuration(), absl::Milliseconds(200));
  BenchOptions o = GetOptions(*server, absl::Milliseconds(400));
  o.concurrency = {2};
  o.warmup = absl::Milliseconds(400);
  LevelResult r = RunOne(o);
  EXPECT_GT(r.warmup_requests, 0u);
  EXPECT_GT(r.stats.responses, 50u);
  EXPECT_LT(r.stats.latency.max_ns(), 100'000'000);
  EXPECT_EQ(r.stats.responses + r.warmup_requests, server->requests());
  EXPECT_NEAR(r.seconds, 0.4, 0.1);
}

// Nothing listening: the run is refused with Unavailable before it starts.
TEST(BenchRunnerTest, UnreachableTargetIsUnavailable) {
  boost::asio::io_context ctx;
  boost::asio::ip::tcp::acceptor probe(
      ctx, {boost::asio::ip::make_address("127.0.0.1"), 0});
  uint16_t port = probe.local_endpoint().port();
  probe.close();
  BenchOptions o;
  o.url = *ParseUrl("http://127.0.0.1:" + std::to_string(port) + "/");
  o.requests = *BuildRequests(o.url, {});
  o.duration = absl::Milliseconds(100);
  auto r = RunBench(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "cannot connect"))
      << r.status();
}

// 5xx answers, timeouts and servers that close every connection.
TEST(BenchRunnerTest, CountsErrorsByKindAndReconnects) {
  auto failing = StartFixture({.status = 503});
  BenchOptions o = GetOptions(*failing, absl::Milliseconds(200));
  o.concurrency = {2};
  LevelResult r = RunOne(o);
  EXPECT_GT(r.stats.responses, 0u);
  EXPECT_EQ(r.stats.error_count(ErrorKind::kHttp5xx), r.stats.responses);
  EXPECT_DOUBLE_EQ(r.stats.error_rate(), 1.0);
  EXPECT_EQ(r.stats.StatusCounts().at(503), r.stats.responses);

  auto slow =
      StartFixture({.delay = [](uint64_t) { return absl::Milliseconds(400); }});
  o = GetOptions(*slow, absl::Milliseconds(200));
  o.concurrency = {2};
  o.timeout = absl::Milliseconds(50);
  r = RunOne(o);
  EXPECT_GE(r.stats.error_count(ErrorKind::kTimeout), 2u);
  EXPECT_EQ(r.stats.responses, 0u);

  auto closing = StartFixture({.close_each = true});
  o = GetOptions(*closing, absl::Milliseconds(200));
  o.concurrency = {2};
  r = RunOne(o);
  EXPECT_GT(r.stats.responses, 20u);
  EXPECT_EQ(r.stats.failed(), 0u);
  EXPECT_EQ(r.peak_connections, 2);
}

// A sweep runs each level; a request budget stops a level exactly.
TEST(BenchRunnerTest, SweepsLevelsAndHonoursRequestBudgets) {
  auto server =
      StartFixture({.delay = [](uint64_t) { return absl::Milliseconds(1); }});
  BenchOptions o = GetOptions(*server, absl::Milliseconds(150));
  o.concurrency = {1, 2, 4};
  auto levels = RunBench(o);
  ASSERT_TRUE(levels.ok()) << levels.status();
  ASSERT_EQ(levels->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*levels)[i].concurrency, 1 << i);
    EXPECT_GT((*levels)[i].stats.responses, 20u);
  }

  o = GetOptions(*server, absl::Seconds(5));
  o.concurrency = {3};
  o.max_requests = 50;
  EXPECT_EQ(RunOne(o).stats.requests(), 50u);
  o.mode = LoopMode::kOpen;
  o.rate = 1000;
  o.max_requests = 40;
  EXPECT_EQ(RunOne(o).stats.requests(), 40u);
}

// A Poisson schedule holds its mean rate.
TEST(BenchRunnerTest, PoissonOpenLoopHoldsTheRate) {
  auto server = StartFixture();
  BenchOptions o = GetOptions(*server, absl::Seconds(1));
  o.mode = LoopMode::kOpen;
  o.rate = 500;
  o.distribution = Distribution::kPoisson;
  o.seed = 5;
  LevelResult r = RunOne(o);
  EXPECT_NEAR(static_cast<double>(r.stats.requests()), 500, 75);
  EXPECT_EQ(r.stats.failed(), 0u);
}

// Stability windows end a level as soon as three windows agree.
TEST(BenchRunnerTest, StabilityEndsALevelEarly) {
  auto server =
      StartFixture({.delay = [](uint64_t) { return absl::Milliseconds(2); }});
  BenchOptions o = GetOptions(*server, absl::Seconds(20));
  o.concurrency = {2};
  o.stability_percent = 25;
  o.window = absl::Milliseconds(200);
  o.max_windows = 12;
  auto t0 = absl::Now();
  LevelResult r = RunOne(o);
  EXPECT_LT(absl::Now() - t0, absl::Seconds(5));
  EXPECT_GE(r.windows, 3);
  EXPECT_DOUBLE_EQ(r.seconds, 0.6);
  EXPECT_GT(r.stats.responses, 50u);
  if (!r.stable) GTEST_SKIP() << "the machine was too noisy for 25% agreement";
}

// Multipart uploads arrive whole, with their boundary.
TEST(BenchRunnerTest, PostsMultipartBodies) {
  auto server = StartFixture();
  BenchOptions o = GetOptions(*server, absl::ZeroDuration());
  std::string path = testing::TempDir() + "/bench_image.jpg";
  FILE* f = fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::string bytes(5000, '\xAB');
  fwrite(bytes.data(), 1, bytes.size(), f);
  fclose(f);
  auto set = BuildRequests(
      o.url, {.image_file = path, .fields = {{"use_spatial", "true"}}});
  ASSERT_TRUE(set.ok()) << set.status();
  o.requests = *set;
  o.max_requests = 5;
  LevelResult r = RunOne(o);
  EXPECT_EQ(r.stats.responses, 5u);
  auto [type, size] = server->LastRequestBody();
  EXPECT_TRUE(absl::StartsWith(type, "multipart/form-data; boundary=")) << type;
  EXPECT_GT(size, 5000u);
}

// on_request sees every request once, warm-up included, with steady_clock
// times that place a server stall where it happened.
int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

TEST(BenchRunnerTest, PerRequestRecordsPlaceAStall) {
  auto server =
      StartFixture({.delay = [](uint64_t) { return absl::Milliseconds(1); }});
  BenchOptions o = GetOptions(*server, absl::Milliseconds(1000));
  o.mode = LoopMode::kOpen;
  o.rate = 200;
  o.warmup = absl::Milliseconds(200);
  std::mutex mu;
  std::vector<RequestRecord> records;
  o.on_request = [&](const RequestRecord& r) {
    std::lock_guard<std::mutex> lock(mu);
    records.push_back(r);
  };
  const int64_t before = SteadyNs();
  const int64_t stall_start = before + 600'000'000;
  const int64_t stall_end = stall_start + 300'000'000;
  server->ScheduleStall(absl::Milliseconds(600), absl::Milliseconds(300));
  LevelResult r = RunOne(o);
  const int64_t after = SteadyNs();

  ASSERT_EQ(records.size(), server->requests());
  EXPECT_EQ(records.size(), r.warmup_requests + r.stats.responses);
  size_t warm = 0;
  const RequestRecord* slowest = &records.front();
  for (const RequestRecord& rec : records) {
    EXPECT_EQ(rec.status, 200);
    EXPECT_FALSE(rec.error.has_value());
    EXPECT_GE(rec.origin_ns, before);
    EXPECT_LE(rec.end_ns, after);
    EXPECT_GE(rec.end_ns, rec.origin_ns);
    if (rec.warmup) ++warm;
    if (rec.end_ns - rec.origin_ns > slowest->end_ns - slowest->origin_ns)
      slowest = &rec;
    // Sent in the first half of the stall: held until it ended.
    if (rec.origin_ns >= stall_start + 10'000'000 &&
        rec.origin_ns < stall_start + 150'000'000) {
      EXPECT_GE(rec.end_ns - rec.origin_ns, 100'000'000);
    }
  }
  EXPECT_EQ(warm, r.warmup_requests);
  EXPECT_GT(warm, 0u);
  EXPECT_GE(slowest->origin_ns, stall_start - 20'000'000);
  EXPECT_LE(slowest->origin_ns, stall_end);
  EXPECT_GE(slowest->end_ns - slowest->origin_ns, 250'000'000);
}

// Failed requests reach on_request with their status or error.
TEST(BenchRunnerTest, PerRequestRecordsCarryFailures) {
  auto server = StartFixture({.status = 503});
  BenchOptions o = GetOptions(*server, absl::ZeroDuration());
  o.max_requests = 20;
  std::atomic<int> n{0}, s503{0};
  o.on_request = [&](const RequestRecord& r) {
    ++n;
    if (r.status == 503 && !r.error) ++s503;
  };
  LevelResult r = RunOne(o);
  EXPECT_EQ(r.stats.failed(), 20u);
  EXPECT_EQ(n.load(), 20);
  EXPECT_EQ(s503.load(), 20);
}

}  // namespace
}  // namespace spatial::loadtest::http
