// `spatial`: the program users run. It links only the registry, audit, key
// and token commands (no OpenCV, protobuf or libonnx), so that those start in
// milliseconds, and runs them itself; everything else (help, parse errors,
// the commands that read or run a model) it hands to `spatial-full` with the
// same argv, which prints and does exactly what this program always did
// (cli/dispatch.h). It is linked without the PostgreSQL client too: a
// command that names a PostgreSQL registry goes to spatial-full.
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli/audit_cmd.h"
#include "cli/command.h"
#include "cli/dispatch.h"
#include "cli/keys_cmd.h"
#include "cli/model_cmd.h"
#include "cli/token_cmd.h"

int main(int argc, char** argv) {
  using namespace spatial::cli;
  auto args = RewriteArgs({argv + 1, argv + argc});
  if (!args.ok() || !StartsWithLightCommand(*args)) return ExecFull(argv);

  std::unique_ptr<CLI::App> app = NewTopLevelApp();
  CommandAction action;
  // The same subcommands, built by the same functions, as spatial-full's.
  AddModelCommand(*app, &action);
  AddTokenCommand(*app, &action);
  AddKeysCommand(*app, &action);
  AddAuditCommand(*app, &action);
  try {
    std::vector<std::string> reversed(args->rbegin(), args->rend());
    app->parse(reversed);
  } catch (const CLI::CallForVersion& e) {
    return app->exit(e);
  } catch (const CLI::Error&) {
    // Help and parse errors name commands this program does not have.
    return ExecFull(argv);
  }
  if (NeedsEngine(ChosenCommand(*app)) || NamesPostgresRegistry(*app)) {
    return ExecFull(argv);
  }
  return action ? Finish(action()) : kExitUsage;
}
