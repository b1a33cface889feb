// `spatial envtest`: flags -> the environments to test -> a fleet of servers
// -> the suites -> reports; a signal watcher stops what it started.
#include "cli/envtest_cmd.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/dispatch.h"
#include "cli/registry_context.h"
#include "cli/serve_trust.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/envtest/fleet.h"
#include "src/envtest/report.h"
#include "src/envtest/runner.h"

namespace spatial::cli {
namespace {

namespace fs = std::filesystem;
using envtest::Fleet;

struct EnvtestFlags {
  std::string environment;
  bool test_api = false, test_classification = false, test_performance = false;
  bool setup_only = false, cleanup_only = false;
  std::string output, junit;
  std::string environments_file;
  std::string state_file = "output/envtest_state.json";
  std::vector<std::string> model_dirs;
  std::vector<std::string> trusted_keys;
  int images = 120;
  double ready_timeout_s = 30;
  bool json = false;         // the JSON report on stdout, the table on stderr
  bool no_registry = false;  // what envtest always does; said explicitly
};

// The environments to test, development/staging/production first.
absl::StatusOr<std::vector<envtest::Targets>> SelectTargets(
    const EnvtestFlags& f) {
  auto envs = LoadEnvironments(f.environments_file);
  if (!envs.ok()) {
    return absl::InvalidArgumentError(envs.status().message());
  }
  auto rank = [](const std::string& n) {
    return n == "development"  ? 0
           : n == "staging"    ? 1
           : n == "production" ? 2
                               : 3;
  };
  std::stable_sort(envs->begin(), envs->end(),
                   [&](const auto& a, const auto& b) {
                     return rank(a.name) < rank(b.name);
                   });
  std::vector<std::string> names;
  for (const auto& e : *envs) names.push_back(e.name);
  std::vector<envtest::Targets> out;
  for (const auto& e : *envs) {
    if (f.environment != "all" && f.environment != e.name) continue;
    auto t = envtest::TargetsFor(e);
    if (!t.ok()) return t.status();
    out.push_back(*t);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown environment '", f.environment, "'",
                     base::DidYouMean(f.environment, names),
                     "; known: ", absl::StrJoin(names, ", "), ", or all"));
  }
  return out;
}

// Watches SIGINT/SIGTERM on its own thread (they are blocked everywhere else):
// on a signal it marks the run cancelled and stops the fleet at once, so that
// no server outlives envtest; if the main thread has not finished 15 s later,
// it exits the process.
class SignalGuard {
 public:
  SignalGuard() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this] { Watch(); });
  }
  ~SignalGuard() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Guard(Fleet* fleet) {
    std::lock_guard<std::mutex> lock(mu_);
    fleet_ = fleet;
  }
  const std::atomic<bool>& cancelled() const { return cancelled_; }
  int signal() const { return signal_; }

 private:
  void Watch() {
    timespec tick{0, 100'000'000};
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (done_) return;
      }
      int sig = sigtimedwait(&set_, nullptr, &tick);
      if (sig <= 0) continue;
      signal_ = sig;
      cancelled_ = true;
      std::cerr << "\nenvtest: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
                << ": stopping the servers it started" << std::endl;
      Fleet* fleet;
      {
        std::lock_guard<std::mutex> lock(mu_);
        fleet = fleet_;
      }
      if (fleet) {
        auto stopped = fleet->Stop();
        if (stopped.ok()) {
          for (const auto& l : *stopped) std::cerr << "  " << l << "\n";
        } else {
          PrintError(stopped.status());
        }
      }
      std::unique_lock<std::mutex> lock(mu_);
      if (!cv_.wait_for(lock, std::chrono::seconds(15),
                        [&] { return done_; })) {
        std::cerr << "envtest: still busy 15 s after the signal; exiting\n";
        _exit(kExitInterrupted);
      }
      return;
    }
  }

  sigset_t set_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;       // guarded by mu_
  Fleet* fleet_ = nullptr;  // guarded by mu_
  std::atomic<bool> cancelled_{false};
  std::atomic<int> signal_{0};
};

envtest::FleetOptions MakeFleetOptions(const EnvtestFlags& f) {
  envtest::FleetOptions o;
  o.binary = DispatcherPath();
  o.state_file = f.state_file;
  for (const auto& d : f.model_dirs.empty() ? DefaultModelDirs() : f.model_dirs)
    o.model_dirs.push_back(fs::absolute(d).string());
  for (const auto& k : f.trusted_keys)
    o.trusted_keys.push_back(fs::absolute(k).string());
  o.ready_timeout = absl::Seconds(f.ready_timeout_s);
  o.detach = f.setup_only;
  return o;
}

CommandResult Cleanup(const EnvtestFlags& f) {
  auto fleet = Fleet::Load(MakeFleetOptions(f));
  if (absl::IsNotFound(fleet.status())) {
    std::cout << "nothing to clean up: " << fleet.status().message() << "\n";
    return kExitOk;
  }
  if (!fleet.ok()) return fleet.status();
  ASSIGN_OR_RETURN(auto lines, (*fleet)->Stop());
  for (const auto& l : lines) std::cout << l << "\n";
  std::cout << "removed " << f.state_file << "\n";
  return kExitOk;
}

absl::Status WriteReports(const EnvtestFlags& f, const envtest::RunResult& run,
                          std::string* json_path) {
  *json_path = f.output.empty()
                   ? absl::StrCat("output/deployment_test_report_",
                                  absl::ToUnixSeconds(absl::Now()), ".json")
                   : f.output;
  absl::Status s = base::MakeDirs(base::DirName(*json_path));
  if (s.ok())
    s = base::WriteFileAtomic(*json_path,
                              envtest::ReportJson(run).dump(2) + "\n");
  if (s.ok() && !f.junit.empty()) {
    s = base::MakeDirs(base::DirName(f.junit));
    if (s.ok()) s = base::WriteFileAtomic(f.junit, envtest::JunitXml(run));
  }
  return s;
}

CommandResult Run(const EnvtestFlags& f) {
  if (f.setup_only && f.cleanup_only)
    return absl::InvalidArgumentError(
        "--setup-only and --cleanup-only exclude each other");
  const bool any_test =
      f.test_api || f.test_classification || f.test_performance;
  if ((f.setup_only || f.cleanup_only) &&
      (any_test || !f.output.empty() || !f.junit.empty())) {
    return absl::InvalidArgumentError(
        "--setup-only and --cleanup-only run no tests: drop --test-*, --output "
        "and --junit");
  }
  if (f.images < 6 || f.images > 100000)
    return absl::InvalidArgumentError("--images must be 6..100000");
  if (f.cleanup_only) return Cleanup(f);
  if (f.environment.empty())
    return absl::InvalidArgumentError(
        "--environment is required: development, staging, production or all");
  ASSIGN_OR_RETURN(auto targets, SelectTargets(f));
  if (!f.no_registry && !RegistryFlagOrEnvironment({}).empty()) {
    std::cerr << "envtest: registry: none: the servers run the model bundles "
                 "(--model-dir), never a registry; $SPATIAL_REGISTRY is not "
                 "followed (test a promoted version with spatial serve "
                 "--registry and spatial check --server)\n";
  }
  std::vector<std::string> names;
  for (const auto& t : targets) names.push_back(t.environment);

  // The fleet outlives the guard: a signal may be stopping it until the
  // guard's destructor has joined the watcher.
  std::unique_ptr<Fleet> fleet;
  SignalGuard guard;  // before any thread or child exists
  const auto t0 = std::chrono::steady_clock::now();
  envtest::RunResult run;
  run.started_at = base::FormatIso8601(absl::Now());

  // Servers a --setup-only run left: reuse them if they cover the request.
  bool owned = true;
  std::map<std::string, std::string> setup_errors;
  if (auto loaded = Fleet::Load(MakeFleetOptions(f)); loaded.ok()) {
    auto not_ready = (*loaded)->Probe();
    bool any_alive = false, covers = true;
    for (const auto& s : (*loaded)->servers()) any_alive |= s.ready;
    for (const auto& n : names) {
      bool found = false;
      for (const auto& s : (*loaded)->servers())
        found |= s.environment == n && s.ready;
      covers &= found;
    }
    if (any_alive && (f.setup_only || !covers)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "servers recorded in ", f.state_file,
          " are still running; stop them first with: spatial envtest "
          "--cleanup-only --state-file ",
          f.state_file));
    }
    if (any_alive) {
      std::cerr << "envtest: using the servers recorded in " << f.state_file
                << " (left running)\n";
      fleet = std::move(*loaded);
      owned = false;
    } else {
      (void)(*loaded)->Stop();  // stale: nothing alive; drop the state
    }
  } else if (!absl::IsNotFound(loaded.status())) {
    return loaded.status();
  }

  if (owned) {
    fleet = std::make_unique<Fleet>(MakeFleetOptions(f));
    guard.Guard(fleet.get());
    std::cerr << "envtest: starting " << names.size()
              << " server(s): " << absl::StrJoin(names, ", ") << "\n";
    auto started = fleet->Start(names);
    if (!started.ok() && !guard.cancelled()) {
      (void)fleet->Stop();
      return WithContext("setup failed", started.status());
    }
    if (started.ok()) setup_errors = *started;
  }

  if (f.setup_only) {
    if (guard.cancelled()) return kExitInterrupted;
    if (!setup_errors.empty()) {
      for (const auto& [env, why] : setup_errors) PrintError(why);
      (void)fleet->Stop();
      return kExitFailed;
    }
    for (const auto& s : fleet->servers()) {
      std::cout << s.environment << ": http://127.0.0.1:" << s.port << " (pid "
                << s.pid << ", log " << s.log << ")\n";
    }
    std::cout << "servers recorded in " << f.state_file
              << "; they keep running.\nrun the tests against them: spatial "
                 "envtest --environment "
              << f.environment << " --state-file " << f.state_file
              << "\nstop them: spatial envtest --cleanup-only --state-file "
              << f.state_file << "\n";
    return kExitOk;
  }

  envtest::SuiteOptions so;
  so.api = f.test_api || !any_test;
  so.classification = f.test_classification || !any_test;
  so.performance = f.test_performance || !any_test;
  so.classification_options.images = f.images;
  so.log = [](const std::string& line) {
    std::cerr << "envtest: " << line << std::endl;
  };
  if (!guard.cancelled()) {
    run = envtest::RunSuite(targets, fleet->servers(), setup_errors, so,
                            guard.cancelled());
  }
  if (owned && !guard.cancelled()) {
    auto stopped = fleet->Stop();
    if (!stopped.ok()) PrintError(stopped.status());
  }
  run.interrupted = guard.cancelled();
  run.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  std::string json_path;
  absl::Status written = WriteReports(f, run, &json_path);
  std::ostream& text = f.json ? std::cerr : std::cout;
  text << envtest::SummaryTable(run);
  if (f.json) std::cout << envtest::ReportJson(run).dump(2) << "\n";
  RETURN_IF_ERROR(written);
  text << "report: " << json_path << "\n";
  if (!f.junit.empty()) text << "junit: " << f.junit << "\n";
  if (guard.cancelled()) return kExitInterrupted;
  return run.failures() == 0 ? kExitOk : kExitFailed;
}

}  // namespace

void AddEnvtestCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<EnvtestFlags>();
  CLI::App* cmd = app.add_subcommand(
      "envtest",
      "Multi-environment tests: start a real server per environment on "
      "127.0.0.1, check its API, classification and performance against the "
      "environment's thresholds, stop it (exit 0 passed, 1 failed, 2 usage). "
      "The servers run model bundles (--model-dir), never a registry: "
      "$SPATIAL_REGISTRY is not followed");
  cmd->add_option("--environment", f->environment,
                  "development | staging | production | all (any name of the "
                  "environments file)");
  cmd->add_flag("--test-api", f->test_api,
                "Every endpoint, response schemas, bad inputs");
  cmd->add_flag("--test-classification", f->test_classification,
                "Held-out evaluation set through /classify: accuracy, "
                "per-class precision/recall, confusion matrix");
  cmd->add_flag("--test-performance", f->test_performance,
                "Open-loop load at the environment's load_profile: p95, "
                "error rate, availability (no --test-* flag: all three)");
  cmd->add_flag("--setup-only", f->setup_only,
                "Start the servers, record them in the state file and leave "
                "them running");
  cmd->add_flag("--cleanup-only", f->cleanup_only,
                "Stop the servers recorded in the state file and remove their "
                "temporary files");
  cmd->add_option("--output", f->output,
                  "JSON report (default "
                  "output/deployment_test_report_<unix time>.json)");
  cmd->add_option("--junit", f->junit, "Also write JUnit XML here");
  cmd->add_flag("--json", f->json,
                "Print the JSON report (as --output writes it) on stdout; the "
                "table goes to stderr");
  cmd->add_option("--environments-file", f->environments_file,
                  "environments.json to use (default $SPATIAL_CONFIG, "
                  "config/environments.json, else built in)");
  cmd->add_option("--state-file", f->state_file,
                  "Where the started servers are recorded")
      ->capture_default_str();
  cmd->add_option("--model-dir", f->model_dirs,
                  "Model bundle for the servers (repeatable; default: the "
                  "bundles under models/)");
  cmd->add_option(
      "--trusted-key", f->trusted_keys,
      "Public key (signing.pub) the servers trust for --model-dir bundles "
      "that carry their own model.sig (repeatable); unsigned bundles are "
      "signed for the run with a key made for it");
  cmd->add_flag("--no-registry", f->no_registry,
                "Say that no registry is used (always so: the servers run "
                "the bundles; this only silences the note about a set "
                "$SPATIAL_REGISTRY)");
  cmd->add_option("--images", f->images,
                  "Evaluation images for the classification test")
      ->capture_default_str();
  cmd->add_option("--ready-timeout", f->ready_timeout_s,
                  "Seconds to wait for each server's /v2/health/ready")
      ->capture_default_str();
  cmd->callback([f, action] { *action = [f] { return Run(*f); }; });
}

}  // namespace spatial::cli
