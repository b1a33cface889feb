// Flags -> ServeConfig for `spatial serve`: defaults from the environment,
// ranges and combinations checked, nothing opened.
#include "cli/serve_config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace spatial::cli {

absl::StatusOr<ServeConfig> MakeServeConfig(const ServeFlags& f,
                                            const EnvLookup& env) {
  ServeConfig c;
  static_cast<ServeSettings&>(c) = f;
  c.environment = !f.environment.empty() ? f.environment : env("ENVIRONMENT");
  if (c.environment.empty()) c.environment = "development";
  c.port = f.port;
  if (c.port < 0) {
    std::string p = env("API_PORT");
    if (p.empty()) {
      c.port = 8001;
    } else if (!absl::SimpleAtoi(p, &c.port) || c.port < 0 || c.port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("API_PORT must be a port number, got '", p, "'"));
    }
  }
  if (c.port > 65535)
    return absl::InvalidArgumentError("--port must be 0..65535");
  if (f.ab_split && !(*f.ab_split >= 0 && *f.ab_split <= 1))
    return absl::InvalidArgumentError("--ab-split must be in [0, 1]");
  c.registry = f.registry;
  c.registry_source = c.registry.registry.empty() ? RegistrySource::kNone
                                                  : RegistrySource::kFlag;
  if (c.registry.registry.empty() && !f.registry.no_registry) {
    c.registry.registry = env("SPATIAL_REGISTRY");
    if (c.has_registry()) c.registry_source = RegistrySource::kEnvironment;
  }
  c.registry.must_exist = true;
  c.model_dirs = f.model_dirs;
  if (c.model_dirs.empty() && !c.has_registry())
    c.model_dirs = DefaultModelDirs(env);
  if (!(f.cache_mb >= 0 && f.cache_mb <= 1 << 20))
    return absl::InvalidArgumentError(
        "--cache-mb must be a size in MB from 0 (no cache) to 1048576");
  if (f.inject_spatial_faults < 0 || f.inject_spatial_faults > 1)
    return absl::InvalidArgumentError(
        "--inject-spatial-faults must be in [0, 1]");
  if (f.feedback_window < 1 || f.feedback_window > 1000000)
    return absl::InvalidArgumentError("--feedback-window must be 1..1000000");
  if (f.feedback_min_labelled < 1 ||
      f.feedback_min_labelled > f.feedback_window)
    return absl::InvalidArgumentError(
        "--feedback-min-labelled must be 1..--feedback-window");
  // No token alone brings a window to judgement: at least two are needed.
  c.feedback_max_per_token = f.feedback_max_per_token != 0
                                 ? f.feedback_max_per_token
                                 : (f.feedback_min_labelled + 1) / 2;
  if (c.feedback_max_per_token < 1 ||
      c.feedback_max_per_token > f.feedback_window)
    return absl::InvalidArgumentError(
        "--feedback-max-per-token must be 1..--feedback-window");
  if (f.accuracy_floor && !(*f.accuracy_floor >= 0 && *f.accuracy_floor <= 1))
    return absl::InvalidArgumentError("--accuracy-floor must be in [0, 1]");
  if (f.rollback_on_drift && !c.has_registry())
    return absl::InvalidArgumentError(
        "--rollback-on-drift needs --registry (it rolls back the registry's "
        "environment)");
  // The keys given at deploy time. With a registry they are its trust
  // anchor: a key counts only if the registry's environment trusts it too
  // (cli/serve_trust.h).
  c.trusted_keys.files = f.trusted_keys;
  if (f.trusted_keys.empty()) {
    c.trusted_keys.given_by = "$SPATIAL_TRUSTED_KEYS";
    for (absl::string_view p :
         absl::StrSplit(env("SPATIAL_TRUSTED_KEYS"), ':', absl::SkipEmpty()))
      c.trusted_keys.files.emplace_back(p);
  }
  c.tokens_file =
      !f.tokens_file.empty() ? f.tokens_file : env("SPATIAL_TOKENS_FILE");
  if (f.require_token && c.tokens_file.empty())
    return absl::InvalidArgumentError(
        "--require-token needs --tokens-file (or $SPATIAL_TOKENS_FILE)");

  c.cache_bytes = static_cast<uint64_t>(f.cache_mb * 1024 * 1024);
  return c;
}

}  // namespace spatial::cli
