// `spatial serve`, step one of three: its flags as parsed (ServeFlags) ->
// what the server runs with (ServeConfig), every default filled in from the
// environment variables the flags stand for, every range and combination
// checked before anything is opened or started. Pure (the environment comes
// in through an EnvLookup); thread-safe. Steps two and three: the wiring
// (cli/serve_wiring.h) and the signal loop (cli/serve_cmd.cc).
#ifndef SPATIAL_CLI_SERVE_CONFIG_H_
#define SPATIAL_CLI_SERVE_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/process_env.h"
#include "cli/registry_context.h"
#include "cli/serve_trust.h"

namespace spatial::cli {

// The settings that go from the flags to the server as they are given
// (ranges checked by MakeServeConfig).
struct ServeSettings {
  std::string address = "0.0.0.0";
  std::string port_file;
  int io_threads = 2;
  int workers = 0;  // 0: one per core
  int max_batch = 8;
  int max_queue_delay_us = 2000;
  int queue_capacity = 256;
  // In [0, 1]: share of /classify requests without a group or use_spatial
  // drawn into A (spatial); none (the default): no A/B test, such requests
  // go to the spatial model (the standard one when only it is loaded).
  std::optional<double> ab_split;
  double poll_registry_s = 5;
  int warmup_rounds = 1;
  double inject_spatial_faults = 0;      // in [0, 1]
  bool require_token = false;            // implies a tokens file
  int feedback_window = 200;             // 1..1000000
  int feedback_min_labelled = 50;        // 1..feedback_window
  std::optional<double> accuracy_floor;  // in [0, 1]; none: the environment's
                                         // accuracy requirement, if any
  bool rollback_on_drift = false;        // implies a registry
};

// What the `spatial serve` flags hold; "unset" values say so.
struct ServeFlags : ServeSettings {
  std::string environment;  // "": $ENVIRONMENT, else development
  int port = -1;            // -1: $API_PORT, else 8001
  std::vector<std::string> model_dirs;
  std::vector<std::string> trusted_keys;  // --trusted-key signing.pub files
  RegistryFlags registry;                 // serve the active version when set
  std::string tokens_file;         // "" = $SPATIAL_TOKENS_FILE, else none
  double cache_mb = 16;            // prediction cache; 0 disables
  int feedback_max_per_token = 0;  // 0: half of feedback_min_labelled, up
};

// What the server runs with: ServeFlags resolved and checked.
struct ServeConfig : ServeSettings {
  std::string environment;
  int port = 8001;  // 0..65535; 0: any free port
  // The bundles given as directories: --model-dir, else (without a registry)
  // DefaultModelDirs(). Empty with a registry and no --model-dir.
  std::vector<std::string> model_dirs;
  // --trusted-key, else $SPATIAL_TRUSTED_KEYS (with a registry: its anchor).
  TrustedKeyFiles trusted_keys;
  // --registry, else $SPATIAL_REGISTRY (not with --no-registry);
  // registry.registry "" = no registry. must_exist is set: serving never
  // creates a registry.
  RegistryFlags registry;
  RegistrySource registry_source = RegistrySource::kNone;
  std::string tokens_file;          // "": no tokens
  uint64_t cache_bytes = 16 << 20;  // 0: no prediction cache
  int feedback_max_per_token = 25;  // 1..feedback_window

  bool has_registry() const { return !registry.registry.empty(); }
};

// `flags` resolved against `env` ($ENVIRONMENT, $API_PORT, $SPATIAL_REGISTRY,
// $SPATIAL_MODEL_PATH and $MODEL_TYPE, $SPATIAL_TRUSTED_KEYS,
// $SPATIAL_TOKENS_FILE). InvalidArgument naming the flag for a value out of
// range or flags that do not go together.
absl::StatusOr<ServeConfig> MakeServeConfig(const ServeFlags& flags,
                                            const EnvLookup& env = ProcessEnv);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_SERVE_CONFIG_H_
