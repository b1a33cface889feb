// Rewrites the seed's flag forms of `spatial model` (`--register PATH`,
// `--validate ID`, `--list`, `--info ID`, `--latest`, `--test`) into the
// subcommand forms (`register PATH`, ...). Pure; thread-safe.
#ifndef SPATIAL_CLI_LEGACY_ALIASES_H_
#define SPATIAL_CLI_LEGACY_ALIASES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spatial::cli {

// `args` are the words after "model". Returns them unchanged when no alias is
// used, rewritten when exactly one is, InvalidArgument when several are or an
// alias lacks its value.
absl::StatusOr<std::vector<std::string>> RewriteModelAliases(
    const std::vector<std::string>& args);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_LEGACY_ALIASES_H_
