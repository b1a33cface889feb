// Resolves and opens the registry of a CLI command; see registry_context.h.
// Reads the process environment; thread-compatible.
#include "cli/registry_context.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "cli/environments_default.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/checks/host_probe.h"
#include "src/inference/onnx_info.h"
#include "src/registry/legacy_json.h"
#include "src/registry/open/registry_open.h"
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

std::optional<std::string> RegistryFromEnvironment() {
  const char* v = std::getenv("SPATIAL_REGISTRY");
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::string RegistryFlagOrEnvironment(const RegistryFlags& flags) {
  if (!flags.registry.empty()) return flags.registry;
  return RegistryFromEnvironment().value_or("");
}

absl::StatusOr<ResolvedRegistry> ResolveRegistryLocation(
    const RegistryFlags& flags) {
  ResolvedRegistry out;
  out.given = RegistryFlagOrEnvironment(flags);
  if (out.given.empty()) out.given = "var/registry.db";
  ASSIGN_OR_RETURN(out.location, registry::ParseRegistryLocation(out.given));
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

absl::StatusOr<RegistryContext> OpenRegistryContext(
    const RegistryFlags& flags) {
  ASSIGN_OR_RETURN(ResolvedRegistry where, ResolveRegistryLocation(flags));
  RegistryContext ctx;
  ASSIGN_OR_RETURN(ctx.registry,
                   registry::OpenRegistry(where.location, !flags.must_exist));
  ctx.location = ctx.registry->Describe();
  ctx.actor = !flags.actor.empty() ? flags.actor : Env("SPATIAL_ACTOR");
  if (ctx.actor.empty()) ctx.actor = OsUser();
  registry::RegistryService::Options opts;
  opts.registry = ctx.registry.get();
  opts.store_root = where.store;
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
