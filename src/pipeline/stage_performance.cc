// Stage 6, performance testing: a real `spatial serve` (or --server), a
// closed-loop concurrency sweep of `spatial bench` against /classify with
// rendered pizzas, thresholds from the environment's rules.
#include <filesystem>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "src/base/files.h"
#include "src/pipeline/http_client.h"
#include "src/pipeline/stages.h"
#include "src/security/test_bundles.h"

namespace spatial::pipeline {
namespace {

constexpr const char* kStage = "performance-testing";

// Waits until `server` answers GET /v2/health/ready with 200.
absl::Status WaitReady(const HttpUrl& server, std::chrono::seconds timeout,
                       Child* child) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  while (std::chrono::steady_clock::now() < deadline && !Interrupted()) {
    if (child != nullptr && !child->Running()) {
      return absl::UnavailableError("the server exited before it was ready");
    }
    auto a = HttpGet(server, "/v2/health/ready", std::chrono::seconds(2));
    if (a.ok() && a->status == 200) return absl::OkStatus();
    last = a.ok() ? absl::StrCat("HTTP ", a->status)
                  : std::string(a.status().message());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "not ready within ", timeout.count(), " s (last: ", last, ")"));
}

}  // namespace

StageResult RunPerformanceStage(const PipelineConfig& c, PipelineState* s) {
  const std::string log = LogPath(c, kStage);
  auto fail = [&](StageStatus st, std::string reason) {
    StageResult r = st == StageStatus::kError
                        ? StageResult::Error(std::move(reason))
                        : StageResult::Failed(std::move(reason));
    r.log_path = log;
    return r;
  };
  std::string payload = ArtifactPath(c, "bench_payload");
  if (auto st = RenderImages(c, kStage, payload, 2, 777); !st.ok()) {
    return fail(StageStatus::kError, std::string(st.message()));
  }

  Child server;
  // The candidate is benched on its own server from its bundle (the
  // --server still runs the version before the promotion); --server only
  // when the bundle is not on this machine.
  std::string url =
      s->bundle_dir.empty() && !c.servers.empty() ? c.servers.front() : "";
  if (url.empty()) {
    if (s->bundle_dir.empty()) {
      return fail(StageStatus::kError,
                  "no bundle directory to serve (pass --model DIR or --server "
                  "URL)");
    }
    std::string port_file = ArtifactPath(c, "perf_server.port");
    std::filesystem::remove(port_file);
    CommandOptions o;
    o.log_path = ArtifactPath(c, "perf_server.log");
    o.cwd = c.source_dir;
    std::vector<std::string> args = {
        c.spatial,       "serve",      "--port",    "0",
        "--port-file",   port_file,    "--address", "127.0.0.1",
        "--environment", c.environment};
    if (!c.config.empty()) args.insert(args.end(), {"--config", c.config});
    // Where the environment requires a signature the server verifies the
    // bundle as a deployed one does: an unsigned candidate is signed into
    // the run's artifacts with a key made for this run (its model.sig, if
    // it has one, is verified against the environment's keys instead).
    auto bundles = security::SignUnsignedBundles(
        {s->bundle_dir}, ArtifactPath(c, "perf_bundle"));
    if (!bundles.ok()) {
      return fail(StageStatus::kError, std::string(bundles.status().message()));
    }
    args.insert(args.end(), {"--model-dir", bundles->dirs[0]});
    if (!bundles->public_key_file.empty())
      args.insert(args.end(), {"--trusted-key", bundles->public_key_file});
    auto started = Child::Start(args, o);
    if (!started.ok()) {
      return fail(StageStatus::kError, std::string(started.status().message()));
    }
    server = std::move(*started);
    int port = 0;
    for (int i = 0; i < 300 && port == 0 && server.Running(); ++i) {
      auto text = base::ReadFile(port_file);
      if (text.ok()) {
        (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &port);
      }
      if (port == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (port == 0) {
      return fail(
          StageStatus::kError,
          absl::StrCat("spatial serve wrote no port (see ", o.log_path, ")"));
    }
    url = absl::StrCat("http://127.0.0.1:", port);
  }
  auto base_url = ParseHttpUrl(url);
  if (!base_url.ok()) {
    return fail(StageStatus::kError, std::string(base_url.status().message()));
  }
  if (auto st = WaitReady(*base_url, std::chrono::seconds(60),
                          server.pid() > 0 ? &server : nullptr);
      !st.ok()) {
    return fail(StageStatus::kError,
                absl::StrCat("server ", url, ": ", st.message()));
  }

  const double p95_ms = EnvRequirement(*s, "inference_time_ms", 3000);
  std::string report = ReportPath(c, "bench.json");
  auto r = RunSpatial(
      c, kStage,
      {"bench", url + "/classify", "--image-dir", payload, "--concurrency",
       c.bench_concurrency, "--duration", c.bench_duration, "--warmup", "500ms",
       "--field", "cache=false",  // the model's latency, not the cache's
       "--threshold", absl::StrFormat("p95<%gms", p95_ms), "--threshold",
       "error_rate<0.01", "--json", report, "--quiet"});
  int stopped = server.pid() > 0 ? server.Stop(std::chrono::seconds(10)) : 0;
  StageResult out = FromCommand(r, "spatial bench", log);
  out.report_path = report;
  if (out.status == StageStatus::kFailed && r.ok() && r->exit_code == 99) {
    out.reason = absl::StrCat("a threshold failed (p95<", p95_ms,
                              "ms, error_rate<0.01; see ", report, ")");
  }
  if (out.status == StageStatus::kPassed && stopped != 0) {
    out = fail(StageStatus::kFailed,
               absl::StrCat("the server did not stop cleanly on SIGTERM (exit ",
                            stopped, ")"));
    out.report_path = report;
  }
  if (out.status == StageStatus::kPassed) {
    out.reason = absl::StrFormat("p95 < %g ms and error rate < 1%% at %s",
                                 p95_ms, c.bench_concurrency);
  }
  return out;
}

}  // namespace spatial::pipeline
