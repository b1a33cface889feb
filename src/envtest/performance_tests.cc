// Performance checks: the load generator (open loop at the environment's
// rate, latency from the scheduled send time) against POST /classify with
// evaluation images; p95 against the latency limit, the error rate, and
// availability = successful answers / requests sent.
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/envtest/checks.h"
#include "src/loadtest/http/bench_runner.h"
#include "src/loadtest/payload.h"
#include "src/vision/renderer.h"

namespace spatial::envtest {
namespace {

using Json = nlohmann::json;

TestResult Errored(const std::string& name, const std::string& why) {
  return TestResult{.category = "performance",
                    .name = name,
                    .status = TestStatus::kError,
                    .reason = why};
}

// One complete request per class: a multipart upload to /classify, past the
// prediction cache (six images cycled would measure the cache, not the model).
loadtest::RequestSet ClassifyRequests(const loadtest::Url& url) {
  loadtest::RequestSet set;
  set.method = "POST";
  set.description = "multipart, 6 evaluation images";
  const std::string boundary = "SpatialEnvtestLoad5c2e";
  for (int label = 0; label < vision::kNumClasses; ++label) {
    std::string jpeg = vision::RenderPizza(label, 1000, 0, 128).jpeg;
    std::string body = loadtest::MultipartBody(
        boundary, {{"use_spatial", "true"}, {"cache", "false"}}, "pizza.jpg",
        "image/jpeg", jpeg);
    set.requests.push_back(absl::StrCat(
        "POST ", url.target, " HTTP/1.1\r\nHost: ", url.HostHeader(),
        "\r\nUser-Agent: spatial-envtest/0.1\r\nAccept: */*\r\n"
        "Content-Type: multipart/form-data; boundary=",
        boundary, "\r\nContent-Length: ", body.size(), "\r\n\r\n", body));
  }
  return set;
}

}  // namespace

std::vector<TestResult> RunPerformanceTests(const Targets& targets, int port) {
  const char* kNames[] = {"p95_latency", "error_rate", "availability"};
  if (!targets.load) {
    std::vector<TestResult> out;
    for (const char* n : kNames) {
      out.push_back(Errored(
          n, absl::StrCat("environment ", targets.environment,
                          " has no load_profile (config/environments.json)")));
    }
    return out;
  }
  const LoadProfile& lp = *targets.load;
  const auto t0 = std::chrono::steady_clock::now();
  loadtest::http::BenchOptions o;
  o.url = {.host = "127.0.0.1",
           .port = static_cast<uint16_t>(port),
           .target = "/classify"};
  o.requests = ClassifyRequests(o.url);
  o.mode = loadtest::LoopMode::kOpen;
  o.rate = lp.rate;
  o.distribution = loadtest::Distribution::kConstant;
  o.max_connections = lp.concurrency;
  o.warmup = absl::Seconds(lp.warmup_s);
  o.duration = absl::Seconds(lp.duration_s);
  o.timeout = absl::Seconds(5);
  o.threads = 1;
  auto levels = loadtest::http::RunBench(o);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  if (!levels.ok() || levels->empty()) {
    std::string why = levels.ok() ? "the load generator measured nothing"
                                  : std::string(levels.status().message());
    std::vector<TestResult> out;
    for (const char* n : kNames) out.push_back(Errored(n, why));
    return out;
  }
  const loadtest::LevelResult& r = levels->front();
  const loadtest::RequestStats& s = r.stats;
  uint64_t ok = 0;
  for (const auto& [code, n] : s.StatusCounts()) {
    if (code >= 200 && code < 300) ok += n;
  }
  const uint64_t sent = s.requests();
  Json load = {{"rate", lp.rate},
               {"duration_s", lp.duration_s},
               {"warmup_s", lp.warmup_s},
               {"concurrency", lp.concurrency},
               {"requests", sent},
               {"successful", ok},
               {"late_sends", s.late_sends},
               {"throughput_rps", r.throughput()},
               {"p50_ms", s.latency.ValueAtQuantile(0.50) / 1e6},
               {"p99_ms", s.latency.ValueAtQuantile(0.99) / 1e6},
               {"max_ms", s.latency.max_ns() / 1e6}};
  Json errors = Json::object();
  for (int k = 0; k < loadtest::kNumErrorKinds; ++k) {
    auto kind = static_cast<loadtest::ErrorKind>(k);
    if (s.error_count(kind) > 0)
      errors[loadtest::ErrorKindName(kind)] = s.error_count(kind);
  }
  load["errors"] = errors;

  std::vector<TestResult> out;
  const std::string profile =
      absl::StrFormat("%.0f req/s for %.1f s", lp.rate, lp.duration_s);
  auto add = [&](const char* name, bool pass, Json measured, Json threshold,
                 std::string reason) {
    TestResult t{.category = "performance",
                 .name = name,
                 .status = pass ? TestStatus::kPassed : TestStatus::kFailed,
                 .reason = std::move(reason),
                 .measured = std::move(measured),
                 .threshold = std::move(threshold),
                 .details = load,
                 .seconds = seconds};
    if (sent == 0) {
      t.status = TestStatus::kError;
      t.reason = "no request was sent";
    }
    out.push_back(std::move(t));
  };

  const double p95 = s.latency.ValueAtQuantile(0.95) / 1e6;
  if (!targets.max_latency_ms) {
    out.push_back(
        Errored(kNames[0], absl::StrCat("environment ", targets.environment,
                                        " sets no performance_requirements."
                                        "inference_time_ms")));
  } else {
    const double limit = *targets.max_latency_ms;
    add(kNames[0], s.latency.count() > 0 && p95 <= limit, {{"p95_ms", p95}},
        {{"max_p95_ms", limit}},
        absl::StrFormat("p95 %.3f ms %s %.4g ms at %s", p95,
                        p95 <= limit ? "<=" : ">", limit, profile));
  }
  const double rate = s.error_rate();
  add(kNames[1], rate <= lp.max_error_rate, {{"error_rate", rate}},
      {{"max_error_rate", lp.max_error_rate}},
      absl::StrFormat("error rate %.4f %s %.4g (%d of %d failed: %s)", rate,
                      rate <= lp.max_error_rate ? "<=" : ">", lp.max_error_rate,
                      s.failed(), sent, errors.dump()));
  const double avail =
      sent ? static_cast<double>(ok) / static_cast<double>(sent) : 0.0;
  add(kNames[2], avail >= lp.availability, {{"availability", avail}},
      {{"min_availability", lp.availability}},
      absl::StrFormat("availability %.4f %s %.4g (%d of %d answered 2xx)",
                      avail, avail >= lp.availability ? ">=" : "<",
                      lp.availability, ok, sent));
  return out;
}

}  // namespace spatial::envtest
