// `spatial pipeline run`: flags -> a checked PipelineConfig -> the stages ->
// reports; the exit code is the run's verdict.
#include "cli/pipeline_cmd.h"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/dispatch.h"
#include "cli/registry_context.h"
#include "cli/registry_options.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/pipeline/http_client.h"
#include "src/pipeline/report.h"
#include "src/pipeline/runner.h"
#include "src/pipeline/stages.h"
#include "src/pipeline/subprocess.h"
#include "src/security/keys.h"

namespace spatial::cli {
namespace {

namespace fs = std::filesystem;
using pipeline::PipelineConfig;

struct PipelineFlags {
  PipelineConfig config;
  std::string stages;
  std::string output = "output/spatial_pipeline_runs";
  bool dry_run = false;
};

// --dry-run: the stages in order, what each would do or why it would be
// skipped; nothing is created, run or changed.
CommandResult PrintPlan(const PipelineFlags& f,
                        const std::vector<std::string>& selected) {
  const PipelineConfig& c = f.config;
  pipeline::PipelineState state;
  std::cout << "dry run: spatial pipeline run would take "
            << (c.model_version.empty()
                    ? absl::StrCat("the bundle ", c.model_dir,
                                   " (registered as a new version)")
                    : absl::StrCat("version ", c.model_version))
            << " through " << c.environment << ", reports under " << f.output
            << "/<UTC timestamp>"
            << (c.cpu_override.empty()
                    ? ""
                    : absl::StrCat("; GPU requirement overridden: ",
                                   c.cpu_override))
            << "\n";
  int n = 0;
  for (const auto& s : pipeline::MakeStages(c, &state, selected)) {
    std::cout << absl::StrFormat("%d. %-26s ", ++n, s.name)
              << (s.skip_reason.empty()
                      ? pipeline::StageDescription(s.name)
                      : absl::StrCat("skipped: ", s.skip_reason))
              << "\n";
  }
  std::cout << "nothing was run, created or changed\n";
  return kExitOk;
}

std::string UtcStamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// What a run cannot be given is a usage error (exit 2), whatever the library
// said of it; what goes wrong once the run has started fails it (exit 1),
// whatever the cause.
absl::Status Usage(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}
absl::Status RunFailed(const absl::Status& s) {
  return WithExitCode(s, kExitFailed);
}

CommandResult RunPipeline(PipelineFlags f) {
  PipelineConfig& c = f.config;
  if (!c.model_version.empty() && !c.model_dir.empty()) {
    return Usage("give --model-version ID or --model DIR, not both");
  }
  auto selected = pipeline::ParseStageList(f.stages);
  if (!selected.ok()) return Usage(selected.status().message());
  for (const auto& server : c.servers) {
    if (auto url = pipeline::ParseHttpUrl(server); !url.ok()) {
      return Usage(
          absl::StrCat("--server ", server, ": ", url.status().message()));
    }
  }
  if (!c.canary_url.empty()) {
    if (auto url = pipeline::ParseHttpUrl(c.canary_url); !url.ok()) {
      return Usage(absl::StrCat("--canary-url ", c.canary_url, ": ",
                                url.status().message()));
    }
  }
  std::error_code ec;
  if (c.signing_key.empty()) {
    const char* env = std::getenv(security::kSigningKeyEnv);
    if (env != nullptr) c.signing_key = env;
  }
  if (!c.signing_key.empty()) {
    // The key is checked (readable, ours, mode 0600) before anything runs;
    // its bytes stay in the `spatial model sign` that uses it.
    if (auto key = security::LoadPrivateKey(c.signing_key); !key.ok()) {
      return Usage(absl::StrCat("--signing-key (or $", security::kSigningKeyEnv,
                                "): ", key.status().message()));
    }
    c.signing_key = fs::absolute(c.signing_key, ec).string();
  }
  c.source_dir = fs::current_path(ec).string();
  c.spatial = DispatcherPath();
  if (c.model_version.empty() && c.model_dir.empty()) {
    c.model_dir = "models/spatial-pizza-v1";  // the shipped spatial model
  }
  if (!c.model_dir.empty()) {
    if (!fs::is_regular_file(fs::path(c.model_dir) / "manifest.json", ec)) {
      return Usage(absl::StrCat("--model ", c.model_dir,
                                ": not a model bundle (no manifest.json)"));
    }
    c.model_dir = fs::absolute(c.model_dir, ec).lexically_normal().string();
  }

  {
    // The environment is checked in the run's registry (created here if
    // need be, as the run would; a dry run creates none) before the run
    // directory exists: a run that cannot start leaves nothing behind.
    ASSIGN_OR_RETURN(RegistryContext ctx,
                     OpenRegistryContext({.registry = c.registry,
                                          .store = c.store,
                                          .config = c.config,
                                          .must_exist = f.dry_run}));
    RETURN_IF_ERROR(RequireEnvironment(*ctx.registry, c.environment));
  }
  if (f.dry_run) return PrintPlan(f, *selected);

  c.run_id = UtcStamp();
  fs::path out = fs::absolute(f.output, ec);
  fs::path run = out / c.run_id;
  for (int n = 2; fs::exists(run, ec); ++n) {
    run = out / absl::StrCat(c.run_id, "-", n);
  }
  c.run_id = run.filename().string();
  c.run_dir = run.string();
  for (const char* sub : {"logs", "reports", "artifacts"}) {
    RETURN_IF_ERROR(RunFailed(base::MakeDirs((run / sub).string())));
  }

  pipeline::PipelineState state;
  state.version_id = c.model_version;
  if (state.version_id.empty()) {
    // The run id is unique only within one --output directory; a random
    // suffix keeps two runs of the same second on one registry apart.
    state.version_id = absl::StrCat(
        fs::path(c.model_dir).filename().string(), "-", c.run_id, "-",
        absl::StrFormat("%04x", std::random_device{}() & 0xffff));
  }
  state.bundle_dir = c.model_dir;

  pipeline::InstallInterruptHandlers();
  std::cout << "spatial pipeline run " << c.run_id << ": environment "
            << c.environment << ", version " << state.version_id
            << (c.model_dir.empty() ? ""
                                    : absl::StrCat(" (from ", c.model_dir, ")"))
            << "\nrun directory: " << c.run_dir << std::endl;
  pipeline::LoadEnvironment(c, &state, "pipeline");
  if (state.environment.is_null()) {
    // An environments list that was read but lacks E is a usage error.
    auto text = base::ReadFile(c.run_dir + "/artifacts/environments.json");
    auto known = text.ok() ? nlohmann::json::parse(*text, nullptr, false)
                           : nlohmann::json();
    if (known.is_object() && !known.empty()) {
      std::string names;
      for (const auto& [name, _] : known.items()) {
        absl::StrAppend(&names, names.empty() ? "" : ", ", name);
      }
      fs::remove_all(c.run_dir, ec);  // nothing ran: leave no run behind
      return Usage(absl::StrCat("unknown environment '", c.environment,
                                "' (known: ", names, ")"));
    }
  }

  RETURN_IF_ERROR(RunFailed(WithContext(
      "signing before the stages", pipeline::SignForDeployment(&c, &state))));
  if (state.signing.is_object()) {
    std::cout << "signed " << state.signing.value("target", "") << " with key "
              << state.signing.value("key_id", "") << std::endl;
  }
  if (c.rehearsal) {
    std::cout << "REHEARSAL: the registry is a throwaway one; nothing a fleet "
                 "follows changes"
              << std::endl;
  }

  pipeline::Runner runner(&std::cout);
  for (auto& s : pipeline::MakeStages(c, &state, *selected)) {
    RETURN_IF_ERROR(RunFailed(runner.Add(std::move(s))));
  }
  const auto started = std::chrono::steady_clock::now();
  auto outcomes = runner.Run();
  RETURN_IF_ERROR(RunFailed(outcomes.status()));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  int code = pipeline::ExitCodeFor(*outcomes);
  auto html = pipeline::WriteReports(c, state, *outcomes, seconds, code);
  int passed = 0, skipped = 0, bad = 0;
  for (const auto& o : *outcomes) {
    passed += o.result.status == pipeline::StageStatus::kPassed;
    skipped += o.result.status == pipeline::StageStatus::kSkipped;
    bad += o.blocked;
  }
  std::cout << absl::StrFormat(
                   "\n%d stages: %d passed, %d skipped, %d failed or "
                   "blocked in %.1f s\n",
                   outcomes->size(), passed, skipped, bad, seconds)
            << "report: " << c.run_dir << "/reports/pipeline_report.json\n"
            << "junit: " << c.run_dir << "/reports/pipeline_junit.xml\n";
  RETURN_IF_ERROR(RunFailed(WithContext("writing the reports", html.status())));
  std::cout << "html: " << *html << std::endl;
  return code;
}

}  // namespace

void AddPipelineCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<PipelineFlags>();
  CLI::App* pipeline_cmd = app.add_subcommand(
      "pipeline", "The 8-stage deployment pipeline (the seed's stages)");
  pipeline_cmd->require_subcommand(1);
  CLI::App* run = pipeline_cmd->add_subcommand(
      "run",
      "Run the stages in dependency order: a stage whose dependency failed "
      "is skipped, the rest go on; exit 1 when anything failed. Output in "
      "OUTPUT/<UTC timestamp>/{logs,reports,artifacts}");
  PipelineConfig& c = f->config;
  run->add_option("--environment", c.environment,
                  "development | staging | production")
      ->capture_default_str();
  run->add_option("--model-version", c.model_version,
                  "A version already in the registry");
  run->add_option("--model", c.model_dir,
                  "A model bundle to register and take through the pipeline "
                  "(default models/spatial-pizza-v1)");
  run->add_option("--stages", f->stages,
                  "Comma-separated stage names or numbers 1-8 (default all): "
                  "environment-validation, spatial-tests, model-validation, "
                  "container-build-test, multi-environment-testing, "
                  "performance-testing, security-scanning, deployment");
  run->add_flag("--skip-tests", c.skip_tests,
                "Skip spatial-tests and multi-environment-testing");
  run->add_option("--server", c.servers,
                  "A server following the registry (http://HOST:PORT), "
                  "repeatable or comma-separated: after the promotion each "
                  "must serve the version and pass the canary, else the "
                  "pipeline rolls back; the first is benched when there is no "
                  "bundle to serve")
      ->delimiter(',');
  run->add_option("--canary-url", c.canary_url,
                  "One address in front of the replicas (a Kubernetes "
                  "Service, http://HOST:PORT) or of one replica: after the "
                  "promotion its /health must report the version 20 times in "
                  "a row and the canary runs through it, else the pipeline "
                  "rolls back; the report names each replica that answered "
                  "(/health's \"instance\") and what it served");
  run->add_option("--signing-key", c.signing_key,
                  "Private key (spatial keys generate) to sign the version "
                  "deployed, before it is validated (default "
                  "$SPATIAL_SIGNING_KEY_FILE; none: nothing is signed)");
  run->add_flag("--rehearsal", c.rehearsal,
                "The registry is a throwaway one no fleet follows: the "
                "deployment stage and the report say the deployment was a "
                "rehearsal");
  run->add_option(
      "--allow-cpu-override", c.cpu_override,
      "REASON: accept a host without the GPU the environment requires "
      "(staging, production): environment-validation passes the GPU check as "
      "overridden and `model validate` records REASON with the validation and "
      "in the audit log; the run's report carries it");
  run->add_flag("--dry-run", f->dry_run,
                "Print the stages in order, what each would do or why it "
                "would be skipped, and stop: no run directory, no registry "
                "change, no process started");
  run->add_option("--output", f->output, "Runs directory")
      ->capture_default_str();
  AddRegistryFlag(*run, c.registry,
                  "Registry the pipeline validates in and deploys to");
  AddStoreFlag(*run, c.store);
  AddConfigFlag(*run, c.config);
  run->add_flag("--container-build", c.container_build,
                "Build and probe the container when an engine runs");
  run->add_option("--bench-duration", c.bench_duration,
                  "Measured time per concurrency level")
      ->capture_default_str();
  run->add_option("--bench-concurrency", c.bench_concurrency,
                  "Closed-loop sweep START:END:xFACTOR")
      ->capture_default_str();
  run->add_option("--canary-per-class", c.canary_per_class,
                  "Canary images per class after deployment")
      ->capture_default_str();
  run->add_option("--deploy-timeout-s", c.deploy_timeout_s,
                  "Seconds to wait for --server to report the new version")
      ->capture_default_str();
  run->callback([f, action] { *action = [f] { return RunPipeline(*f); }; });
}

}  // namespace spatial::cli
