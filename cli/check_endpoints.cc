#include "cli/check_endpoints.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/dispatch.h"
#include "src/envtest/checks.h"
#include "src/envtest/fleet.h"

namespace spatial::cli {
namespace {
namespace fs = std::filesystem;

void AddResults(const std::vector<envtest::TestResult>& results,
                checks::CheckReport* report) {
  for (const auto& t : results) {
    checks::CheckResult r;
    r.status = t.status == envtest::TestStatus::kPassed
                   ? checks::CheckStatus::kPassed
               : t.status == envtest::TestStatus::kFailed
                   ? checks::CheckStatus::kFailed
                   : checks::CheckStatus::kError;
    r.value = t.measured;
    r.threshold = t.threshold;
    r.reason = t.reason;
    report->Add("endpoints", t.name, std::move(r));
  }
}

// The port of http://127.0.0.1:PORT or http://localhost:PORT; 0 otherwise.
int LoopbackPort(const std::string& url) {
  for (const char* prefix : {"http://127.0.0.1:", "http://localhost:"}) {
    if (absl::StartsWith(url, prefix)) {
      std::string rest = url.substr(std::string(prefix).size());
      rest = rest.substr(0, rest.find('/'));
      int port = 0;
      if (absl::SimpleAtoi(rest, &port) && port > 0 && port < 65536)
        return port;
    }
  }
  return 0;
}

}  // namespace

void CheckEndpoints(const std::string& server, const registry::Environment& env,
                    const std::vector<std::string>& model_dirs,
                    checks::CheckReport* report) {
  auto targets = envtest::TargetsFor(env);
  if (!targets.ok()) {
    report->Add("endpoints", "targets",
                checks::Error(std::string(targets.status().message())));
    return;
  }
  if (!server.empty()) {
    int port = LoopbackPort(server);
    if (port == 0) {
      report->Add("endpoints", "server",
                  checks::Error(
                      absl::StrCat("--server must be http://127.0.0.1:PORT or "
                                   "http://localhost:PORT, got '",
                                   server, "'")));
      return;
    }
    AddResults(envtest::RunApiTests(*targets, port), report);
    return;
  }
  envtest::FleetOptions o;
  o.binary = DispatcherPath();
  std::string dir =
      (fs::temp_directory_path() / absl::StrCat("spatial-check-", getpid()))
          .string();
  fs::create_directories(dir);
  o.state_file = dir + "/servers.json";
  o.temp_parent = dir;
  for (const auto& d : model_dirs) {
    o.serve_args.push_back("--model-dir");
    o.serve_args.push_back(fs::absolute(d).string());
  }
  envtest::Fleet fleet(o);
  auto started = fleet.Start({env.name});
  if (!started.ok()) {
    report->Add("endpoints", "server_ready",
                checks::Error(std::string(started.status().message())));
  } else if (!started->empty()) {
    report->Add("endpoints", "server_ready",
                checks::Error(started->begin()->second));
  } else {
    report->Add("endpoints", "server_ready",
                checks::Passed(true, true,
                               "a real server with these bundles answered "
                               "/v2/health/ready"));
    AddResults(envtest::RunApiTests(*targets, fleet.servers().front().port),
               report);
  }
  (void)fleet.Stop();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace spatial::cli
