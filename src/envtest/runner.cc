#include "src/envtest/runner.h"

#include "absl/strings/str_cat.h"

namespace spatial::envtest {

RunResult RunSuite(const std::vector<Targets>& targets,
                   const std::vector<ServerRecord>& servers,
                   const std::map<std::string, std::string>& setup_errors,
                   const SuiteOptions& options,
                   const std::atomic<bool>& cancel) {
  RunResult run;
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  for (const Targets& t : targets) {
    if (cancel) break;
    EnvironmentResult env{.environment = t.environment};
    const ServerRecord* server = nullptr;
    for (const ServerRecord& s : servers) {
      if (s.environment == t.environment && s.ready) server = &s;
    }
    if (server == nullptr) {
      auto why = setup_errors.find(t.environment);
      env.setup_error = why != setup_errors.end()
                            ? why->second
                            : "no running server for this environment";
      env.tests.push_back({.category = "setup",
                           .name = "server ready",
                           .status = TestStatus::kError,
                           .reason = env.setup_error});
      run.environments.push_back(std::move(env));
      continue;
    }
    env.port = server->port;
    env.pid = server->pid;
    env.tests.push_back(
        {.category = "setup",
         .name = "server ready",
         .status = TestStatus::kPassed,
         .reason = absl::StrCat("GET /v2/health/ready answered 200 on port ",
                                server->port),
         .measured = {{"port", server->port}, {"pid", server->pid}}});
    auto append = [&](std::vector<TestResult> r) {
      for (auto& x : r) env.tests.push_back(std::move(x));
    };
    if (options.api && !cancel) {
      log(absl::StrCat(t.environment, ": API tests"));
      append(RunApiTests(t, server->port));
    }
    if (options.classification && !cancel) {
      log(absl::StrCat(t.environment, ": classification tests (",
                       options.classification_options.images, " images)"));
      append(RunClassificationTests(t, server->port,
                                    options.classification_options));
    }
    if (options.performance && !cancel) {
      log(absl::StrCat(t.environment, ": performance tests"));
      append(RunPerformanceTests(t, server->port));
    }
    run.environments.push_back(std::move(env));
  }
  run.interrupted = cancel;
  return run;
}

}  // namespace spatial::envtest
