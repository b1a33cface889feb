// `spatial check`: flags -> which check categories run -> one report; exit 0
// only when deployment ready.
#include "cli/check_cmd.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/check_endpoints.h"
#include "cli/registry_context.h"
#include "cli/registry_options.h"
#include "opencv2/core/utility.hpp"
#include "src/base/files.h"
#include "src/base/secrets.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/checks/deployment_checks.h"

namespace spatial::cli {
namespace {
namespace fs = std::filesystem;

struct CheckFlags {
  bool validate_env = false, test_features = false, test_preprocessing = false,
       test_inference = false, test_endpoints = false, docker_mode = false;
  bool dry_run = false, json = false;
  std::string environment = "development";
  std::string output;
  std::vector<std::string> model_dirs;
  std::string server;  // probe this server instead of starting one
  int eval_images = 60;
  RegistryFlags registry;
};

// What a run needs, checked before anything runs (and all --dry-run does).
std::vector<std::string> Problems(const CheckFlags& f, bool endpoints,
                                  bool docker) {
  std::vector<std::string> p;
  for (const auto& d : f.model_dirs) {
    for (const char* file : {"manifest.json", "model.onnx"}) {
      if (!fs::exists(fs::path(d) / file))
        p.push_back(absl::StrCat("model bundle file missing: ", d, "/", file));
    }
    if (!fs::exists(fs::path(d) / "reference" / "logits.npy"))
      p.push_back(absl::StrCat("reference outputs missing: ", d,
                               "/reference/logits.npy (parity check)"));
  }
  if (docker) {
    for (const char* file : {"Dockerfile.spatial", "docker-compose.yml"})
      if (!fs::exists(file)) p.push_back(absl::StrCat("missing ", file));
  }
  if (endpoints && f.server.empty() && !fs::exists("/proc/self/exe"))
    p.push_back("cannot find this binary to start a server");
  if (!f.output.empty()) {
    fs::path parent = fs::absolute(f.output).parent_path();
    if (!fs::exists(parent))
      p.push_back(absl::StrCat("output directory ", parent.string(),
                               " does not exist"));
  }
  return p;
}

CommandResult Check(CheckFlags f) {
  const auto started = std::chrono::steady_clock::now();
  const bool all =
      !(f.validate_env || f.test_features || f.test_preprocessing ||
        f.test_inference || f.test_endpoints || f.docker_mode);
  const bool env_c = all || f.validate_env;
  const bool features = all || f.test_features || f.test_preprocessing;
  const bool inference = all || f.test_inference;
  const bool endpoints = all || f.test_endpoints;
  const bool docker = all || f.docker_mode;
  if (f.model_dirs.empty())
    f.model_dirs = {"models/spatial-pizza-v1", "models/standard-pizza-v1"};
  ASSIGN_OR_RETURN(auto environments, LoadEnvironments(f.registry.config));
  const registry::Environment* env = nullptr;
  std::string names;
  for (const auto& e : environments) {
    if (e.name == f.environment) env = &e;
    absl::StrAppend(&names, names.empty() ? "" : ", ", e.name);
  }
  if (env == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown environment '", f.environment, "' (known: ", names, ")"));
  }
  auto problems = Problems(f, endpoints, docker);
  // --registry, else $SPATIAL_REGISTRY, else var/registry.db when it exists
  // (none with --no-registry): the one registry the versioning check reads.
  auto [registry, source] = RegistryFlagOrEnvironmentSource(f.registry);
  if (registry.empty() && !f.registry.no_registry &&
      fs::exists("var/registry.db")) {
    registry = "var/registry.db";
    source = RegistrySource::kDefault;
  }
  const bool registry_known = !registry.empty();
  if (f.dry_run) {
    std::cout << "spatial check plan for " << env->name << ":\n";
    auto line = [](bool on, const std::string& what) {
      std::cout << "  [" << (on ? "run " : "skip") << "] " << what << "\n";
    };
    line(env_c, "environment: host probe against " + env->name + "'s rules");
    line(features, "features/preprocessing: golden values, rendered pizza");
    line(inference, absl::StrCat("inference: ", f.model_dirs.size(),
                                 " bundle(s): load, parity, latency, accuracy "
                                 "on ",
                                 f.eval_images, " images"));
    line(inference && registry_known,
         registry_known
             ? absl::StrCat(
                   "versioning: registry consistency of ",
                   base::EscapeForTerminal(base::RedactLocation(registry)),
                   " (from ", RegistrySourceName(source), ")")
             : std::string("versioning: no registry (none given, no "
                           "var/registry.db)"));
    line(endpoints, f.server.empty() ? "endpoints: start a server and probe it"
                                     : "endpoints: probe " + f.server);
    line(docker, "docker: Dockerfile.spatial and docker-compose.yml");
    if (!f.output.empty()) std::cout << "  report: " << f.output << "\n";
    for (const auto& p : problems) std::cout << "problem: " << p << "\n";
    std::cout << (problems.empty() ? "plan OK (nothing was run)\n"
                                   : "plan has problems (nothing was run)\n");
    return problems.empty() ? kExitOk : kExitFailed;
  }
  cv::setNumThreads(1);
  checks::CheckReport report;
  checks::HostInfo host = checks::ProbeHost(".");
  if (env_c) checks::CheckHost(host, *env, &report);
  if (features) checks::CheckPreprocessing(&report);
  if (inference) {
    checks::CheckInference(f.model_dirs, *env, {.eval_images = f.eval_images},
                           &report);
    if (registry_known) {
      AnnounceRegistry(base::RedactLocation(registry), source);
      f.registry.registry = registry;
      f.registry.must_exist = true;
      auto ctx = OpenRegistryContext(f.registry);
      if (ctx.ok()) {
        checks::CheckVersioning(*ctx->service, *env, &report);
      } else {
        report.Add("versioning", "registry",
                   checks::Error(std::string(ctx.status().message())));
      }
    }
  }
  if (endpoints) CheckEndpoints(f.server, *env, f.model_dirs, &report);
  if (docker) checks::CheckContainerFiles(".", &report);

  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  nlohmann::json environment = {{"name", env->name}, {"host", host.ToJson()}};
  auto j =
      report.ToJson(base::FormatIso8601(absl::Now()), seconds, environment);
  if (!f.output.empty()) {
    // A report that cannot be written fails the check (exit 1).
    RETURN_IF_ERROR(WithExitCode(
        base::WriteFileAtomic(f.output, j.dump(2) + "\n"), kExitFailed));
  }
  if (f.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "spatial check (" << env->name << ", "
              << static_cast<int>(seconds * 1000) << " ms)\n"
              << report.ToText();
    if (!f.output.empty()) std::cout << "report: " << f.output << "\n";
  }
  return report.summary().deployment_ready() ? kExitOk : kExitFailed;
}

}  // namespace

void AddCheckCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<CheckFlags>();
  CLI::App* c = app.add_subcommand(
      "check",
      "Deployment checks: host, preprocessing, inference, versioning, "
      "endpoints, container files (no flag = all; exit 0 only when deployment "
      "ready). The versioning check reads --registry, else $SPATIAL_REGISTRY, "
      "else var/registry.db when present (--no-registry: none); the server "
      "it starts runs the bundles, never a registry");
  c->add_flag("--validate-env", f->validate_env,
              "Host probe (OS, CPU, RAM, disk, GPU via NVML) against the "
              "environment's rules");
  c->add_flag("--test-features", f->test_features,
              "Spatial features of a rendered pizza");
  c->add_flag("--test-preprocessing", f->test_preprocessing,
              "Preprocessing golden values");
  c->add_flag("--test-inference", f->test_inference,
              "Model bundles: load, PyTorch parity, latency, accuracy; "
              "registry consistency when a registry exists");
  c->add_flag("--test-endpoints", f->test_endpoints,
              "Start a server (or use --server) and test every endpoint");
  c->add_flag("--docker-mode", f->docker_mode,
              "Static checks of Dockerfile.spatial and docker-compose.yml");
  c->add_option("--environment", f->environment,
                "Environment whose rules apply")
      ->capture_default_str();
  c->add_option("--output", f->output, "Write the JSON report to FILE");
  c->add_flag("--dry-run", f->dry_run,
              "Resolve the configuration, check that every file the run needs "
              "exists, print the plan; run nothing");
  c->add_flag("--json", f->json, "Print the JSON report instead of the table");
  c->add_option("--model-dir", f->model_dirs,
                "Model bundle to check (repeatable; default both shipped "
                "bundles)");
  c->add_option("--server", f->server,
                "Probe this running server (http://HOST:PORT) instead of "
                "starting one");
  c->add_option("--eval-images", f->eval_images,
                "Evaluation images per bundle for the accuracy check")
      ->capture_default_str();
  AddNoRegistryFlag(*c, f->registry.no_registry,
                    AddRegistryFlag(*c, f->registry.registry,
                                    "Registry for the versioning checks",
                                    "var/registry.db when present"));
  AddConfigFlag(*c, f->registry.config);
  c->callback([f, action] { *action = [f] { return Check(*f); }; });
}

}  // namespace spatial::cli
