// Resolves and opens the registry of a CLI command; see registry_context.h.
// Reads the process environment; thread-compatible.
#include "cli/registry_context.h"

#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/environments_default.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/checks/host_probe.h"
#include "src/registry/legacy_json.h"
#include "src/registry/open/registry_open.h"
#include "src/security/policy.h"

namespace spatial::cli {
namespace fs = std::filesystem;

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string OsUser() {
  if (struct passwd* pw = ::getpwuid(::getuid());
      pw != nullptr && pw->pw_name) {
    return pw->pw_name;
  }
  return absl::StrCat("uid:", ::getuid());
}

}  // namespace

registry::HostFacts ProbeHost() { return checks::ProbeHost().Facts(); }

namespace {
EngineHooks& Hooks() {
  static EngineHooks* hooks = new EngineHooks;
  return *hooks;
}
}  // namespace

void SetEngineHooks(EngineHooks hooks) { Hooks() = std::move(hooks); }

absl::StatusOr<std::vector<registry::Environment>> LoadEnvironments(
    const std::string& config_flag) {
  std::string path = !config_flag.empty() ? config_flag : Env("SPATIAL_CONFIG");
  if (path.empty() && fs::exists("config/environments.json")) {
    path = "config/environments.json";
  }
  std::string text;
  std::string where = path.empty() ? "built-in environments" : path;
  if (path.empty()) {
    text = kDefaultEnvironmentsJson;
  } else {
    ASSIGN_OR_RETURN(text, base::ReadFile(path, 16 << 20));
  }
  ASSIGN_OR_RETURN(registry::Json j, registry::ParseJson(text, where));
  return registry::EnvironmentsFromJson(j, where);
}

std::optional<std::string> RegistryFromEnvironment() {
  const char* v = std::getenv("SPATIAL_REGISTRY");
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::pair<std::string, RegistrySource> RegistryFlagOrEnvironmentSource(
    const RegistryFlags& flags) {
  if (!flags.registry.empty()) return {flags.registry, RegistrySource::kFlag};
  if (flags.no_registry) return {"", RegistrySource::kNone};
  std::string env = RegistryFromEnvironment().value_or("");
  if (!env.empty()) return {env, RegistrySource::kEnvironment};
  return {"", RegistrySource::kNone};
}

std::string RegistryFlagOrEnvironment(const RegistryFlags& flags) {
  return RegistryFlagOrEnvironmentSource(flags).first;
}

const char* RegistrySourceName(RegistrySource source) {
  switch (source) {
    case RegistrySource::kFlag:
      return "--registry";
    case RegistrySource::kEnvironment:
      return "$SPATIAL_REGISTRY";
    case RegistrySource::kDefault:
      return "the default";
    case RegistrySource::kNone:
      break;
  }
  return "--no-registry";
}

void AnnounceRegistry(const std::string& masked, RegistrySource source) {
  static std::atomic<bool> said{false};
  if (source == RegistrySource::kFlag || source == RegistrySource::kNone ||
      said.exchange(true)) {
    return;
  }
  std::cerr << "registry: " << base::EscapeForTerminal(masked) << " (from "
            << RegistrySourceName(source)
            << (source == RegistrySource::kDefault
                    ? "; neither --registry nor $SPATIAL_REGISTRY is set"
                    : "")
            << ")\n";
}

bool CreatesRegistry(const std::string& name) {
  return name == "init" || name == "register" || name == "import";
}

absl::Status RequireEnvironment(registry::Registry& reg,
                                const std::string& name) {
  if (name.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto envs, reg.ListEnvironments());
  std::vector<std::string> names;
  for (const auto& e : envs) {
    if (e.name == name) return absl::OkStatus();
    names.push_back(e.name);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown environment '", name, "' (known: ", absl::StrJoin(names, ", "),
      ")", base::DidYouMean(name, names)));
}

absl::StatusOr<ResolvedRegistry> ResolveRegistryLocation(
    const RegistryFlags& flags) {
  ResolvedRegistry out;
  std::tie(out.given, out.source) = RegistryFlagOrEnvironmentSource(flags);
  if (out.given.empty()) {
    out.given = "var/registry.db";
    out.source = RegistrySource::kDefault;
  }
  ASSIGN_OR_RETURN(out.location, registry::ParseRegistryLocation(out.given));
  if (!flags.quiet) AnnounceRegistry(out.location.masked, out.source);
  out.store = !flags.store.empty() ? flags.store : Env("SPATIAL_STORE");
  if (out.location.is_postgres() && out.store.empty()) {
    // A database has no "beside" for the store: it is a path the team shares.
    return absl::InvalidArgumentError(absl::StrCat(
        "a PostgreSQL registry (", out.location.masked,
        ") needs --store PATH (or $SPATIAL_STORE): the artifact store "
        "directory every user of the registry shares"));
  }
  if (out.store.empty()) {
    out.store = (fs::path(base::DirName(out.location.path)) / "store").string();
  }
  return out;
}

absl::StatusOr<std::unique_ptr<registry::Registry>> OpenResolvedRegistry(
    const ResolvedRegistry& where, bool must_exist) {
  auto opened = registry::OpenRegistry(where.location, !must_exist);
  if (absl::IsNotFound(opened.status()) && where.location.is_sqlite()) {
    // A mistyped path must not become an empty registry that answers "0
    // versions": say which path, where it came from, and how to make one.
    return absl::NotFoundError(absl::StrCat(
        "no registry at ", where.location.path, " (from ",
        RegistrySourceName(where.source),
        "); nothing was created. Check the path, or create it with `spatial "
        "model init` (or `spatial model register DIR --version-id ID`, "
        "`spatial model import DIR`, which create it too)"));
  }
  return opened;
}

absl::StatusOr<RegistryContext> OpenRegistryContext(
    const RegistryFlags& flags) {
  ASSIGN_OR_RETURN(ResolvedRegistry where, ResolveRegistryLocation(flags));
  RegistryContext ctx;
  ASSIGN_OR_RETURN(ctx.registry, OpenResolvedRegistry(where, flags.must_exist));
  ctx.location = ctx.registry->Describe();
  ctx.actor = !flags.actor.empty() ? flags.actor : Env("SPATIAL_ACTOR");
  if (ctx.actor.empty()) ctx.actor = OsUser();
  registry::RegistryService::Options opts;
  opts.registry = ctx.registry.get();
  opts.store_root = where.store;
  opts.host = ProbeHost;
  opts.inspector = Hooks().inspector;
  opts.signature_check = security::CheckSigned;
  // Called by Validate only: no other command opens a model.
  opts.measure = Hooks().measure;
  ctx.service = std::make_unique<registry::RegistryService>(std::move(opts));
  ASSIGN_OR_RETURN(auto envs, LoadEnvironments(flags.config));
  RETURN_IF_ERROR(ctx.service->EnsureEnvironments(envs, ctx.actor));
  return ctx;
}

}  // namespace spatial::cli
