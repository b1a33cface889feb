// `spatial model ...` (model_cmd.h): flags -> RegistryService -> text or
// JSON. Run once per process on the main thread.
#include "cli/model_cmd.h"

#include <iostream>
#include <map>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/backup_cmd.h"
#include "cli/exit_codes.h"
#include "cli/model_output.h"
#include "cli/registry_context.h"
#include "cli/registry_options.h"
#include "cli/sign_cmd.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/legacy_json.h"
#include "src/registry/migrate.h"
#include "src/registry/open/registry_open.h"

namespace spatial::cli {
namespace {

using registry::Json;

// Everything the model subcommands parse into; shared by their callbacks.
struct ModelFlags {
  RegistryFlags reg;
  std::string path, id, environment, reason, to, out_dir, cpu_override,
      training_config;
  std::string model_type, architecture;
  std::string migrate_from, migrate_to;
  std::vector<std::string> metrics, tags, artifact_roots;
  double max_artifact_mb = 2048;
  bool json = false;
  bool plan = false;
};

int Fail(const absl::Status& s) { return ReportError(s); }

// What users and imported files wrote, made safe for the terminal.
std::string E(absl::string_view text) { return base::EscapeForTerminal(text); }

absl::StatusOr<std::map<std::string, double>> ParseMetrics(
    const std::vector<std::string>& in) {
  std::map<std::string, double> out;
  for (const auto& m : in) {
    auto eq = m.find('=');
    double value = 0;
    if (eq == std::string::npos || eq == 0 ||
        !absl::SimpleAtod(m.substr(eq + 1), &value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--metric takes NAME=NUMBER (e.g. accuracy=0.93), got '", m, "'"));
    }
    out[m.substr(0, eq)] = value;
  }
  return out;
}

absl::StatusOr<Json> ReadJsonObject(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, base::ReadFile(path, 16 << 20));
  ASSIGN_OR_RETURN(Json j, registry::ParseJson(text, path));
  if (!j.is_object())
    return absl::InvalidArgumentError(
        absl::StrCat(path, " must hold a JSON object"));
  return j;
}

// Runs `body` with an opened registry; maps errors to exit codes.
int WithRegistry(
    const ModelFlags& f,
    const std::function<absl::StatusOr<int>(RegistryContext&)>& body) {
  auto ctx = OpenRegistryContext(f.reg);
  if (!ctx.ok()) return Fail(ctx.status());
  auto rc = body(*ctx);
  if (!rc.ok()) return Fail(rc.status());
  return *rc;
}

absl::StatusOr<std::map<std::string, std::string>> ActiveVersions(
    registry::Registry& reg) {
  std::map<std::string, std::string> active;
  ASSIGN_OR_RETURN(auto envs, reg.ListEnvironments());
  for (const auto& e : envs) {
    ASSIGN_OR_RETURN(auto id, reg.ActiveVersion(e.name));
    if (id) active[e.name] = *id;
  }
  return active;
}

// version id -> environments of its imported validations (history only).
absl::StatusOr<std::map<std::string, std::vector<std::string>>>
ImportedValidations(registry::Registry& reg) {
  std::map<std::string, std::vector<std::string>> out;
  ASSIGN_OR_RETURN(auto validations, reg.ListValidations(""));
  for (const auto& r : validations) {
    if (registry::IsImportedValidation(r.result))
      out[r.version_id].push_back(r.environment);
  }
  return out;
}

absl::StatusOr<int> RunRegister(const ModelFlags& f, RegistryContext& ctx) {
  registry::RegisterRequest req;
  req.path = f.path;
  req.version_id = f.id;
  req.model_type = f.model_type;
  req.architecture = f.architecture;
  ASSIGN_OR_RETURN(req.metrics, ParseMetrics(f.metrics));
  req.tags = f.tags;
  if (!f.training_config.empty()) {
    ASSIGN_OR_RETURN(req.training_config, ReadJsonObject(f.training_config));
  }
  req.actor = ctx.actor;
  ASSIGN_OR_RETURN(auto v, ctx.service->Register(req));
  if (f.json) {
    std::cout << registry::VersionToJson(v).dump(2) << "\n";
  } else {
    std::cout << "registered " << E(v.version_id) << " (" << E(v.model_type)
              << ", " << E(v.architecture) << ") sha256:" << v.checksum << ", "
              << v.files.size() << " file(s), " << v.size_bytes
              << " bytes, compatibility "
              << v.compatibility_info.value("status", "unknown") << "\n";
  }
  return kExitOk;
}

absl::StatusOr<int> RunValidate(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(
      auto rec,
      ctx.service->Validate({f.id, f.environment, f.cpu_override, ctx.actor}));
  std::cout << rec.result.dump(2) << "\n";
  // The rules that did not pass, for a person reading the terminal (stdout
  // stays the JSON the pipeline reads).
  for (const auto& r : rec.result.value("rules", Json::array())) {
    const std::string outcome = r.value("outcome", "");
    if (outcome == "fail" || outcome == "warn") {
      std::cerr << (outcome == "fail" ? "FAIL " : "warn ")
                << r.value("rule", "") << ": " << r.value("message", "")
                << "\n";
    }
  }
  if (!rec.valid) {
    std::cerr << "version " << E(rec.version_id) << " is NOT valid for "
              << E(rec.environment) << "\n";
    return kExitFailed;
  }
  return kExitOk;
}

absl::StatusOr<int> RunList(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(auto versions, f.json
                                      ? ctx.registry->ListVersions()
                                      : ctx.registry->ListVersionSummaries());
  if (!f.environment.empty()) {
    ASSIGN_OR_RETURN(auto env, ctx.registry->GetEnvironment(f.environment));
    std::erase_if(versions, [&](const registry::ModelVersion& v) {
      const auto& e = v.deployment_environments;
      return std::find(e.begin(), e.end(), env.name) == e.end();
    });
  }
  if (f.json) {
    ASSIGN_OR_RETURN(auto imported, ImportedValidations(*ctx.registry));
    Json arr = Json::array();
    for (const auto& v : versions) {
      Json j = registry::VersionToJson(v);
      if (auto it = imported.find(v.version_id); it != imported.end())
        j["imported_validations"] = it->second;
      arr.push_back(std::move(j));
    }
    std::cout << arr.dump(2) << "\n";
    return kExitOk;
  }
  ASSIGN_OR_RETURN(auto active, ActiveVersions(*ctx.registry));
  ASSIGN_OR_RETURN(auto imported, ImportedValidations(*ctx.registry));
  std::cout << FormatVersionList(versions, active, imported);
  std::cout << versions.size() << " version(s) in " << E(ctx.location)
            << (f.environment.empty()
                    ? ""
                    : absl::StrCat(" validated for ", E(f.environment)))
            << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunInfo(const ModelFlags& f, RegistryContext& ctx) {
  RETURN_IF_ERROR(base::CheckIdentifier(f.id, "version id"));
  ASSIGN_OR_RETURN(auto v, ctx.registry->GetVersion(f.id));
  ASSIGN_OR_RETURN(auto validations,
                   ctx.registry->ListValidations(v.version_id));
  ASSIGN_OR_RETURN(auto signatures, ctx.registry->ListSignatures(v.version_id));
  if (f.json) {
    Json j = registry::VersionToJson(v);
    Json vals = Json::array();
    for (const auto& r : validations) {
      vals.push_back({{"environment", r.environment},
                      {"valid", r.valid},
                      {"imported", registry::IsImportedValidation(r.result)},
                      {"validated_at", r.validated_at},
                      {"actor", r.actor},
                      {"override_reason", r.override_reason},
                      {"result", r.result}});
    }
    j["validations"] = vals;
    Json sigs = Json::array();
    for (const auto& s : signatures) {
      sigs.push_back({{"key_id", s.key_id},
                      {"actor", s.actor},
                      {"signed_at", s.signed_at}});
    }
    j["signatures"] = sigs;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << FormatVersionInfo(v, validations);
    std::cout << "signatures" << (signatures.empty() ? "             none" : "")
              << "\n";
    for (const auto& s : signatures) {
      std::cout << "  key " << E(s.key_id) << "  by " << E(s.actor) << "  at "
                << E(s.signed_at) << "\n";
    }
  }
  return kExitOk;
}

absl::StatusOr<int> RunLatest(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(auto v, ctx.service->Latest(f.environment));
  if (f.json) {
    std::cout << registry::VersionToJson(v).dump(2) << "\n";
  } else {
    std::cout << E(v.version_id) << "\n";
  }
  return kExitOk;
}

absl::StatusOr<int> RunTest(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(auto checks, ctx.service->Test());
  int bad = 0;
  Json arr = Json::array();
  for (const auto& c : checks) {
    if (!c.status.ok()) ++bad;
    arr.push_back(
        {{"version_id", c.version_id},
         {"ok", c.status.ok()},
         {"error", c.status.ok() ? "" : std::string(c.status.message())}});
    if (!f.json) {
      std::cout << (c.status.ok() ? "ok    " : "FAIL  ") << E(c.version_id)
                << (c.status.ok() ? ""
                                  : absl::StrCat(": ", E(c.status.message())))
                << "\n";
    }
  }
  if (f.json) {
    std::cout << Json{{"registry", ctx.location},
                      {"versions", arr},
                      {"failed", bad},
                      {"passed", static_cast<int>(checks.size()) - bad}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << checks.size() - bad << " of " << checks.size()
              << " version(s) intact in " << E(ctx.location) << "\n";
  }
  return bad == 0 ? kExitOk : kExitFailed;
}

absl::StatusOr<int> RunPromote(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(
      auto e, ctx.service->Promote(f.id, f.environment, ctx.actor, f.reason));
  std::cout << "promoted " << E(e.version_id) << " to " << E(e.environment)
            << " (previous: "
            << (e.previous_version_id.empty() ? "none"
                                              : E(e.previous_version_id))
            << ")\n";
  return kExitOk;
}

absl::StatusOr<int> RunHistory(const ModelFlags& f, RegistryContext& ctx) {
  if (!f.environment.empty()) {
    RETURN_IF_ERROR(ctx.registry->GetEnvironment(f.environment).status());
  }
  ASSIGN_OR_RETURN(auto events, ctx.registry->History(f.environment));
  if (f.json) {
    Json arr = Json::array();
    for (const auto& e : events) arr.push_back(EventToJson(e));
    std::cout << arr.dump(2) << "\n";
  } else {
    std::cout << FormatHistory(events);
  }
  return kExitOk;
}

absl::StatusOr<int> RunRollback(const ModelFlags& f, RegistryContext& ctx) {
  if (f.plan) {
    ASSIGN_OR_RETURN(auto plan, ctx.service->PlanRollback(f.environment));
    if (f.json) {
      Json c = Json::array();
      for (const auto& x : plan.candidates) {
        c.push_back({{"version_id", x.version_id},
                     {"last_active_at", x.last_active_at}});
      }
      std::cout << Json{{"environment", plan.environment},
                        {"active", plan.active_version},
                        {"candidates", c}}
                       .dump(2)
                << "\n";
    } else {
      std::cout << FormatRollbackPlan(plan);
    }
    return kExitOk;
  }
  ASSIGN_OR_RETURN(
      auto e, ctx.service->Rollback(f.environment, f.to, ctx.actor, f.reason));
  std::cout << "rolled back " << E(e.environment) << " from "
            << (e.previous_version_id.empty() ? "none"
                                              : E(e.previous_version_id))
            << " to " << E(e.version_id) << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunExport(const ModelFlags& f, RegistryContext& ctx) {
  RETURN_IF_ERROR(ctx.service->Export(f.out_dir));
  std::cout << "exported " << E(ctx.location) << " to " << E(f.out_dir)
            << "/model_versions.json and " << E(f.out_dir)
            << "/deployment_environments.json\n";
  return kExitOk;
}

absl::StatusOr<int> RunImport(const ModelFlags& f, RegistryContext& ctx) {
  if (!(f.max_artifact_mb > 0)) {
    return absl::InvalidArgumentError("--max-artifact-mb must be positive");
  }
  registry::ImportOptions options;
  options.artifact_roots = f.artifact_roots;
  options.max_artifact_bytes =
      static_cast<uint64_t>(f.max_artifact_mb * 1024 * 1024);
  ASSIGN_OR_RETURN(auto s, ctx.service->Import(f.path, ctx.actor, options));
  std::cout << "imported " << s.versions_added << " new version(s), "
            << s.versions_unchanged << " already present, " << s.environments
            << " environment(s) from " << E(f.path) << "\n";
  for (const auto& id : s.missing_artifacts) {
    std::cerr << "warning: " << E(id)
              << ": artifact not found at its file_path; metadata imported, "
                 "`spatial model test` will report it missing\n";
  }
  return kExitOk;
}

// Opens its own two registries: neither is the --registry of the other
// commands, and neither gets the default environments loaded into it.
int RunMigrate(const ModelFlags& f) {
  if (f.migrate_from == f.migrate_to) {
    return Fail(
        absl::InvalidArgumentError("--from and --to name the same registry"));
  }
  auto from = registry::OpenRegistry(f.migrate_from, /*create=*/false);
  if (!from.ok()) return Fail(from.status());
  auto to = registry::OpenRegistry(f.migrate_to, /*create=*/true);
  if (!to.ok()) return Fail(to.status());
  auto s = registry::MigrateRegistry(**from, **to);
  if (!s.ok()) return Fail(s.status());
  std::cout << "migrated " << s->environments << " environment(s), "
            << s->versions << " version(s), " << s->validations
            << " validation(s) and " << s->deployments << " deployment(s) from "
            << E((*from)->Describe()) << " to " << E((*to)->Describe())
            << "; the copy reads back identical\n";
  return kExitOk;
}

absl::StatusOr<int> RunEnvironments(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(auto envs, ctx.registry->ListEnvironments());
  if (f.json) {
    std::cout << registry::EnvironmentsToJson(envs).dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ENVIRONMENT", "ARCHITECTURES", "MEMORY GB", "GPU",
       "ACCURACY >=", "LATENCY <= MS"}};
  for (const auto& e : envs) {
    std::string archs;
    for (const auto& a : e.supported_architectures)
      archs += (archs.empty() ? "" : ",") + a;
    rows.push_back({e.name, archs, absl::StrCat(e.memory_requirements_gb),
                    e.gpu_required()
                        ? absl::StrCat("required ", e.min_gpu_memory_gb, " GB")
                        : "optional",
                    e.min_accuracy ? absl::StrCat(*e.min_accuracy) : "-",
                    e.max_inference_time_ms
                        ? absl::StrCat(*e.max_inference_time_ms)
                        : "-"});
  }
  std::cout << FormatTable(rows);
  return kExitOk;
}

}  // namespace

void AddModelCommand(CLI::App& app, std::function<int()>* action) {
  auto f = std::make_shared<ModelFlags>();
  CLI::App* model = app.add_subcommand(
      "model",
      "Model registry: register, validate, promote, roll back, import/export");
  model->require_subcommand(1);
  AddRegistryOptions(*model, f->reg);

  auto sub =
      [&](const char* name, const char* help,
          absl::StatusOr<int> (*run)(const ModelFlags&, RegistryContext&)) {
        CLI::App* c = model->add_subcommand(name, help);
        c->fallthrough();
        c->callback([f, run, action] {
          *action = [f, run] {
            return WithRegistry(
                *f, [&](RegistryContext& ctx) { return run(*f, ctx); });
          };
        });
        return c;
      };

  CLI::App* reg = sub(
      "register", "Copy an artifact into the store and record a new version",
      RunRegister);
  reg->add_option("path", f->path,
                  "Model file, or a directory (model.onnx + manifest.json)")
      ->required();
  reg->add_option("--version-id", f->id,
                  "New version id ([A-Za-z0-9][A-Za-z0-9._-]{0,127})")
      ->required();
  reg->add_option("--model-type", f->model_type,
                  "spatial-mllm | standard-cnn (default: from the graph)");
  reg->add_option("--architecture", f->architecture,
                  "dual-encoder | visual-encoder | spatial-encoder (default: "
                  "from the graph)");
  reg->add_option("--metric", f->metrics,
                  "NAME=NUMBER, e.g. accuracy=0.93 (repeatable; replaces "
                  "the bundle manifest's value of NAME, keeps the others)");
  reg->add_option("--tag", f->tags, "Tag (repeatable)");
  reg->add_option("--training-config", f->training_config,
                  "JSON file with the training config");
  reg->add_flag("--json", f->json, "Print the new version as JSON");

  CLI::App* val =
      sub("validate",
          "Apply an environment's rules to a version (exit 1 if invalid)",
          RunValidate);
  val->add_option("id", f->id, "Version id")->required();
  val->add_option("--environment", f->environment, "Environment name")
      ->required();
  val->add_option(
      "--allow-cpu-override", f->cpu_override,
      "Accept a CPU-only host where a GPU is required; the reason is recorded");

  CLI::App* list = sub("list", "List versions", RunList);
  list->add_option("--environment", f->environment,
                   "Only versions validated for it");
  list->add_flag("--json", f->json, "JSON output");

  CLI::App* info = sub("info", "Show one version", RunInfo);
  info->add_option("id", f->id, "Version id")->required();
  info->add_flag("--json", f->json, "JSON output");

  CLI::App* latest =
      sub("latest", "Newest version validated for an environment", RunLatest);
  latest->add_option("--environment", f->environment, "Environment name")
      ->required();
  latest->add_flag("--json", f->json, "JSON output");

  CLI::App* test =
      sub("test",
          "Check every stored artifact against its checksum (exit 1 if any "
          "is missing or altered)",
          RunTest);
  test->add_flag("--json", f->json, "JSON output");

  CLI::App* promote =
      sub("promote", "Make a validated version active in an environment",
          RunPromote);
  promote->add_option("id", f->id, "Version id")->required();
  promote->add_option("--environment", f->environment, "Environment name")
      ->required();
  promote->add_option("--reason", f->reason, "Why, for the history");

  CLI::App* history =
      sub("history", "Who promoted or rolled back what, and when", RunHistory);
  history->add_option("--environment", f->environment,
                      "Environment name (default: all)");
  history->add_flag("--json", f->json, "JSON output");

  CLI::App* rollback =
      sub("rollback", "Return an environment to a previously active version",
          RunRollback);
  rollback->add_option("--environment", f->environment, "Environment name")
      ->required();
  rollback->add_flag("--plan", f->plan,
                     "Print the candidates and change nothing");
  rollback->add_option("--to", f->to,
                       "Version to return to (default: the recommended one)");
  rollback->add_option("--reason", f->reason, "Why, for the history");
  rollback->add_flag("--json", f->json, "JSON output (with --plan)");

  CLI::App* exp = sub(
      "export", "Write model_versions.json and deployment_environments.json",
      RunExport);
  exp->add_option("--out", f->out_dir, "Output directory")->required();

  CLI::App* imp =
      sub("import",
          "Read model_versions.json and deployment_environments.json "
          "(all or nothing)",
          RunImport);
  imp->add_option("dir", f->path, "Directory holding the two files")
      ->required();
  imp->add_option("--artifacts-root", f->artifact_roots,
                  "Directory besides DIR that file_path entries may point into "
                  "(repeatable); a file_path anywhere else refuses the import");
  imp->add_option("--max-artifact-mb", f->max_artifact_mb,
                  "Largest artifact (a file, or a directory's files) an "
                  "import reads; a larger one refuses the import")
      ->capture_default_str();

  CLI::App* envs =
      sub("environments", "List the deployment environments and their rules",
          RunEnvironments);
  envs->add_flag("--json", f->json, "JSON output");

  CLI::App* migrate = model->add_subcommand(
      "migrate",
      "Copy a whole registry (versions, validations, history, environments) "
      "into "
      "an empty one, e.g. SQLite to PostgreSQL, and verify the copy");
  migrate
      ->add_option(
          "--from", f->migrate_from,
          "Registry to copy: a SQLite path, sqlite:PATH or postgresql://...")
      ->required();
  migrate
      ->add_option("--to", f->migrate_to,
                   "Empty registry to copy into (created if a "
                   "SQLite path does not exist)")
      ->required();
  migrate->callback([f, action] { *action = [f] { return RunMigrate(*f); }; });

  AddSignCommands(*model, std::shared_ptr<RegistryFlags>(f, &f->reg), action);
  AddBackupCommands(*model, std::shared_ptr<RegistryFlags>(f, &f->reg), action);
}

}  // namespace spatial::cli
