#include "cli/registry_context.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/environments_default.h"
#include "src/base/files.h"
#include "src/base/secrets.h"
#include "src/base/status_macros.h"
#include "src/checks/host_probe.h"
#include "src/inference/onnx_info.h"
#include "src/registry/legacy_json.h"
#include "src/registry/postgres/postgres_registry.h"
#include "src/registry/postgres/postgres_url.h"
#include "src/registry/sqlite/sqlite_registry.h"
#include "src/security/policy.h"
#include "src/validation/measure.h"

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

absl::StatusOr<std::unique_ptr<registry::Registry>> OpenRegistry(
    std::string location, bool create) {
  if (registry::IsPostgresUrl(location)) {
    ASSIGN_OR_RETURN(auto reg,
                     registry::PostgresRegistry::Open({.url = location}));
    return std::unique_ptr<registry::Registry>(std::move(reg));
  }
  if (absl::StartsWith(location, "sqlite:")) location = location.substr(7);
  std::error_code ec;
  if (!create && !fs::exists(location, ec)) {
    return absl::NotFoundError(absl::StrCat("no registry at ", location));
  }
  RETURN_IF_ERROR(base::MakeDirs(base::DirName(location)));
  ASSIGN_OR_RETURN(auto reg,
                   registry::SqliteRegistry::Open({.path = location}));
  return std::unique_ptr<registry::Registry>(std::move(reg));
}

absl::StatusOr<RegistryLocation> ResolveRegistryLocation(
    const RegistryFlags& flags) {
  std::string location =
      !flags.registry.empty() ? flags.registry : Env("SPATIAL_REGISTRY");
  if (location.empty()) location = "var/registry.db";
  std::string store = !flags.store.empty() ? flags.store : Env("SPATIAL_STORE");
  if (registry::IsPostgresUrl(location) && store.empty()) {
    // A database has no "beside" for the store: it is a path the team shares.
    return absl::InvalidArgumentError(absl::StrCat(
        "a PostgreSQL registry (", base::RedactLocation(location),
        ") needs --store PATH (or $SPATIAL_STORE): the artifact store "
        "directory "
        "every user of the registry shares"));
  }
  if (store.empty()) {
    std::string path =
        absl::StartsWith(location, "sqlite:") ? location.substr(7) : location;
    store = (fs::path(base::DirName(path)) / "store").string();
  }
  return RegistryLocation{std::move(location), std::move(store)};
}

absl::StatusOr<RegistryContext> OpenRegistryContext(
    const RegistryFlags& flags) {
  ASSIGN_OR_RETURN(RegistryLocation where, ResolveRegistryLocation(flags));
  std::string location = where.location;
  std::string store = where.store;
  RegistryContext ctx;
  ASSIGN_OR_RETURN(ctx.registry, OpenRegistry(location, !flags.must_exist));
  ctx.location = ctx.registry->Describe();
  ctx.actor = !flags.actor.empty() ? flags.actor : Env("SPATIAL_ACTOR");
  if (ctx.actor.empty()) ctx.actor = OsUser();
  registry::RegistryService::Options opts;
  opts.registry = ctx.registry.get();
  opts.store_root = store;
  opts.host = ProbeHost;
  opts.inspector = inference::InspectOnnx;
  opts.signature_check = security::CheckSigned;
  // Called by Validate only: no other command opens a model.
  opts.measure = validation::MeasureVersion;
  ctx.service = std::make_unique<registry::RegistryService>(std::move(opts));
  ASSIGN_OR_RETURN(auto envs, LoadEnvironments(flags.config));
  RETURN_IF_ERROR(ctx.service->EnsureEnvironments(envs, ctx.actor));
  return ctx;
}

}  // namespace spatial::cli
