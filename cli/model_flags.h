// The model command's flags: what every `spatial model` subcommand parses
// into (one struct, shared by their callbacks, filled by parsing, read once
// by the command that runs). Not thread-safe; needs no locking (one command
// runs per process).
#ifndef SPATIAL_CLI_MODEL_FLAGS_H_
#define SPATIAL_CLI_MODEL_FLAGS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "cli/registry_context.h"
#include "src/base/text.h"

namespace spatial::cli {

// Everything the model subcommands parse into; shared by their callbacks.
struct ModelFlags {
  RegistryFlags reg;
  std::string path, id, environment, reason, to, out_dir, cpu_override,
      training_config, parent;
  std::string model_type, architecture;
  std::string migrate_from, migrate_to;
  std::vector<std::string> metrics, tags, artifact_roots;
  double max_artifact_mb = 2048;
  bool json = false;
  bool plan = false;
  bool dry_run = false;  // register, promote: check, print, change nothing
  bool table = false;    // validate: a table instead of the JSON record
};

// What users and imported files wrote, made safe for the terminal.
inline std::string E(absl::string_view text) {
  return base::EscapeForTerminal(text);
}

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_MODEL_FLAGS_H_
