// The two binaries of spatial-deploy, as git has its dispatcher and its
// libexec programs: `spatial`, the one users run, links only the registry,
// audit, key and token commands and runs those itself; every other command
// (serve, eval, check, bench, pipeline, ..., and `model register` / `model
// validate`, which read or run a model) it hands, with the same argv and
// environment, to `spatial-full`, which links the inference stack (OpenCV,
// protobuf, libonnx) and has every command. So `spatial --version` and
// `spatial model list` start in milliseconds, and the CLI stays one tree:
// help, completion and parse errors always come from spatial-full, which
// builds the whole of it. spatial-full sits beside `spatial`, or in
// ../libexec/spatial/. Functions only; thread-compatible.
#ifndef SPATIAL_CLI_DISPATCH_H_
#define SPATIAL_CLI_DISPATCH_H_

#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"

namespace spatial::cli {

// What `spatial --version` prints.
inline constexpr char kVersionText[] = "spatial 0.1.0";
// The program that has every command (see above).
inline constexpr char kFullBinaryName[] = "spatial-full";

// The top-level app both binaries build: name, description, --version, one
// subcommand required.
std::unique_ptr<CLI::App> NewTopLevelApp();

// `args` (argv after the program name) with the seed's `model --register
// PATH ...` forms rewritten to subcommands (cli/legacy_aliases.h).
absl::StatusOr<std::vector<std::string>> RewriteArgs(
    std::vector<std::string> args);

// Whether the light `spatial` may parse `args` itself: the first word is a
// command it links (model, audit, keys, token) or --version.
bool StartsWithLightCommand(const std::vector<std::string>& args);

// The subcommands `app` chose, space-separated: "model list".
std::string ChosenCommand(const CLI::App& app);

// Whether the light command path `chosen` (ChosenCommand) needs the
// inference stack: "model register" reads the ONNX graph, "model validate"
// runs the model.
bool NeedsEngine(const std::string& chosen);

// Whether the command `app` parsed names a PostgreSQL registry: in any
// option's value (--registry, `model migrate --from/--to`), else, without
// --registry or --no-registry, in $SPATIAL_REGISTRY. The light
// `spatial` is linked without the PostgreSQL client (it would cost every
// command ~25 more libraries at start) and hands such a command to
// spatial-full.
bool NamesPostgresRegistry(const CLI::App& app);

// Where spatial-full is for the program at `self` (a path): beside it, else
// in ../libexec/spatial/; NotFound naming both when neither exists.
absl::StatusOr<std::string> FullBinaryPath(const std::string& self);

// The program a command that starts spatial again (pipeline, envtest, check)
// runs, as a user would: for spatial-full, the `spatial` beside it (or in
// ../../bin/ for the ../libexec/spatial/ layout) when there is one, so that
// its logs name `spatial` and its light commands start light; else this
// program (/proc/self/exe).
std::string DispatcherPath();
// DispatcherPath for the program at `self`.
std::string DispatcherPathFor(const std::string& self);

// Replaces this process with spatial-full, `argv` and the environment
// unchanged. Returns only when that fails: the exit code, the error printed.
int ExecFull(char** argv);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_DISPATCH_H_
