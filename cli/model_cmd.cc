// `spatial model`: the subcommand tree and its flags, and the commands that
// change the registry (register, validate, promote, rollback, export, import,
// migrate); the read-only ones are in cli/model_query.cc, sign/verify and
// backup/restore in their own files.
#include "cli/model_cmd.h"

#include <functional>
#include <iostream>
#include <map>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/backup_cmd.h"
#include "cli/model_flags.h"
#include "cli/model_output.h"
#include "cli/model_query.h"
#include "cli/model_status.h"
#include "cli/registry_context.h"
#include "cli/registry_options.h"
#include "cli/sign_cmd.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/registry/legacy_json.h"
#include "src/registry/migrate.h"
#include "src/registry/open/registry_open.h"

namespace spatial::cli {
namespace {

using registry::Json;

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

// Runs `body` with an opened registry.
CommandResult WithRegistry(
    const ModelFlags& f,
    const std::function<CommandResult(RegistryContext&)>& body) {
  RegistryFlags reg = f.reg;
  // A dry run changes nothing, so it creates no registry either.
  if (f.dry_run) reg.must_exist = true;
  reg.quiet = f.json;  // JSON readers may merge stderr into what they parse
  ASSIGN_OR_RETURN(RegistryContext ctx, OpenRegistryContext(reg));
  RETURN_IF_ERROR(RequireEnvironment(*ctx.registry, f.environment));
  return body(ctx);
}

CommandResult RunRegister(const ModelFlags& f, RegistryContext& ctx) {
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
  req.parent = f.parent;
  req.actor = ctx.actor;
  req.dry_run = f.dry_run;
  ASSIGN_OR_RETURN(auto v, ctx.service->Register(req));
  if (f.dry_run) {
    if (f.json) {
      std::cout << Json{{"dry_run", true},
                        {"version_id", v.version_id},
                        {"model_type", v.model_type},
                        {"architecture", v.architecture},
                        {"file_path", v.file_path},
                        {"tags", v.tags}}
                       .dump(2)
                << "\n";
    } else {
      std::cout << "dry run: would register " << E(v.version_id) << " ("
                << E(v.model_type) << ", " << E(v.architecture) << ") from "
                << E(v.file_path) << " in " << E(ctx.location)
                << "; nothing was stored or recorded\n";
    }
    return kExitOk;
  }
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

// A rule's number (measured, declared, required) for the table; "-" when
// it has none.
std::string Cell(const Json& v) {
  if (v.is_number()) return absl::StrFormat("%.4g", v.get<double>());
  if (v.is_string()) {
    // Digests and long names are cut: the table is for reading.
    const std::string& text = v.get_ref<const std::string&>();
    return E(text.size() <= 12 ? text : text.substr(0, 12) + "...");
  }
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return "-";
}

// `model validate --table`: one line per rule, then the verdict.
void PrintValidationTable(const registry::ValidationRecord& rec) {
  std::cout << absl::StrFormat("%-13s %-10s %-15s %-10s %-10s %s\n", "RULE",
                               "OUTCOME", "MEASURED", "DECLARED", "REQUIRED",
                               "MESSAGE");
  for (const auto& r : rec.result.value("rules", Json::array())) {
    std::cout << absl::StrFormat(
        "%-13s %-10s %-15s %-10s %-10s %s\n", E(r.value("rule", "")),
        E(r.value("outcome", "")), Cell(r.value("measured", Json())),
        Cell(r.value("declared", Json())), Cell(r.value("required", Json())),
        E(r.value("message", "")));
  }
  std::cout << E(rec.version_id) << " is " << (rec.valid ? "" : "NOT ")
            << "valid for " << E(rec.environment) << "\n";
}

CommandResult RunValidate(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(
      auto rec,
      ctx.service->Validate({f.id, f.environment, f.cpu_override, ctx.actor}));
  if (f.table) {
    PrintValidationTable(rec);
    return rec.valid ? kExitOk : kExitFailed;
  }
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

CommandResult RunPromote(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(auto e, ctx.service->Promote(f.id, f.environment, ctx.actor,
                                                f.reason, f.dry_run));
  if (f.dry_run) {
    std::cout << "dry run: would promote " << E(e.version_id) << " to "
              << E(e.environment) << " (active now: "
              << (e.previous_version_id.empty() ? "none"
                                                : E(e.previous_version_id))
              << "); every check passed, nothing was changed\n";
    return kExitOk;
  }
  std::cout << "promoted " << E(e.version_id) << " to " << E(e.environment)
            << " (previous: "
            << (e.previous_version_id.empty() ? "none"
                                              : E(e.previous_version_id))
            << ")\n";
  return kExitOk;
}

CommandResult RunRollback(const ModelFlags& f, RegistryContext& ctx) {
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

CommandResult RunExport(const ModelFlags& f, RegistryContext& ctx) {
  RETURN_IF_ERROR(ctx.service->Export(f.out_dir));
  std::cout << "exported " << E(ctx.location) << " to " << E(f.out_dir)
            << "/model_versions.json and " << E(f.out_dir)
            << "/deployment_environments.json\n";
  // The original tool's two files are an interchange format, not a backup:
  // say what they leave out, once, where a person reads it.
  std::cerr << "note: these two files hold the versions and the environments' "
               "rules only: not which version is active where, the "
               "promotion history, validations, signatures or trusted keys "
               "(an import brings versions in as history, valid for "
               "nothing). To back up the registry: spatial model backup "
               "--out FILE\n";
  return kExitOk;
}

CommandResult RunImport(const ModelFlags& f, RegistryContext& ctx) {
  if (f.path.empty()) {
    return absl::InvalidArgumentError(
        "name the directory that holds model_versions.json and "
        "deployment_environments.json: spatial model import DIR (or --dir "
        "DIR)");
  }
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
CommandResult RunMigrate(const ModelFlags& f) {
  if (f.migrate_from == f.migrate_to) {
    return absl::InvalidArgumentError("--from and --to name the same registry");
  }
  ASSIGN_OR_RETURN(auto from,
                   registry::OpenRegistry(f.migrate_from, /*create=*/false));
  ASSIGN_OR_RETURN(auto to,
                   registry::OpenRegistry(f.migrate_to, /*create=*/true));
  ASSIGN_OR_RETURN(auto s, registry::MigrateRegistry(*from, *to));
  std::cout << "migrated " << s.environments << " environment(s), "
            << s.versions << " version(s), " << s.validations
            << " validation(s) and " << s.deployments << " deployment(s) from "
            << E(from->Describe()) << " to " << E(to->Describe())
            << "; the copy reads back identical\n";
  return kExitOk;
}

}  // namespace

void AddModelCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<ModelFlags>();
  CLI::App* model = app.add_subcommand(
      "model",
      "Model registry: register, validate, promote, roll back, import/export");
  model->require_subcommand(1);
  AddRegistryOptions(*model, f->reg);

  auto sub = [&](const char* name, const char* help,
                 CommandResult (*run)(const ModelFlags&, RegistryContext&)) {
    CLI::App* c = model->add_subcommand(name, help);
    c->fallthrough();
    c->callback([f, run, action, name] {
      f->reg.must_exist = !CreatesRegistry(name);
      *action = [f, run] {
        return WithRegistry(*f,
                            [&](RegistryContext& ctx) { return run(*f, ctx); });
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
  reg->add_option("--parent", f->parent,
                  "Version this one was derived from (an int8 or pruned "
                  "variant); kept in its lineage");
  reg->add_flag("--json", f->json, "Print the new version as JSON");
  reg->add_flag("--dry-run", f->dry_run,
                "Check everything a registration checks (id, path, graph, "
                "signature file) and say what would be registered; store and "
                "record nothing");

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
  val->add_flag("--table", f->table,
                "Print a table of the rules (outcome, measured, declared, "
                "required) and the verdict instead of the JSON record");

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
  promote->add_flag("--dry-run", f->dry_run,
                    "Run every check a promotion runs (files, validation, "
                    "signature, audit) and say what would change; change "
                    "nothing");

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
  CLI::Option* dir =
      imp->add_option("dir", f->path, "Directory holding the two files");
  imp->add_option("--dir", f->path, "The same directory, as an option")
      ->excludes(dir);
  imp->add_option("--artifacts-root", f->artifact_roots,
                  "Directory besides DIR that file_path entries may point into "
                  "(repeatable); a file_path anywhere else refuses the import");
  imp->add_option("--max-artifact-mb", f->max_artifact_mb,
                  "Largest artifact (a file, or a directory's files) an "
                  "import reads; a larger one refuses the import")
      ->capture_default_str();

  sub("init",
      "Create the registry (and load the environments) if it does not exist; "
      "the read-only commands refuse a registry that does not",
      RunInit);
  AddStatusCommand(sub("status",
                       "What is deployed where: per environment the active "
                       "version, when and by whom it was promoted, its "
                       "validation and signature",
                       RunStatus),
                   *f);

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
