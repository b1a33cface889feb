// `spatial`: the one binary of spatial-deploy. Owns the command tree (each
// subcommand lives in its own file and adds itself) and the shell around it:
// CLI11 parse errors exit 2 (printed as DescribeParseError says), and a
// command's result goes through Finish()
// (cli/command.h), the one place that prints an error and maps it.
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli/audit_cmd.h"
#include "cli/bench_cmd.h"
#include "cli/check_cmd.h"
#include "cli/command.h"
#include "cli/completion_cmd.h"
#include "cli/console_cmd.h"
#include "cli/data_cmd.h"
#include "cli/envtest_cmd.h"
#include "cli/eval_cmd.h"
#include "cli/keys_cmd.h"
#include "cli/legacy_aliases.h"
#include "cli/model_cmd.h"
#include "cli/parse_errors.h"
#include "cli/pipeline_cmd.h"
#include "cli/serve_cmd.h"
#include "cli/token_cmd.h"

int main(int argc, char** argv) {
  using namespace spatial::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  // The seed's `model --register PATH ...` forms become subcommands.
  if (!args.empty() && args[0] == "model") {
    auto rewritten = RewriteModelAliases({args.begin() + 1, args.end()});
    if (!rewritten.ok()) {
      return Finish(WithExitCode(rewritten.status(), kExitUsage));
    }
    args.resize(1);
    args.insert(args.end(), rewritten->begin(), rewritten->end());
  }

  CLI::App app{
      "spatial: version, validate, serve, load-test and deploy the pizza "
      "classifier",
      "spatial"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("spatial 0.1.0"));
  CommandAction action;
  AddModelCommand(app, &action);
  AddDataCommand(app, &action);
  AddEvalCommand(app, &action);
  AddServeCommand(app, &action);
  AddConsoleCommand(app, &action);
  AddTokenCommand(app, &action);
  AddBenchCommand(app, &action);
  AddCheckCommand(app, &action);
  AddEnvtestCommand(app, &action);
  AddKeysCommand(app, &action);
  AddAuditCommand(app, &action);
  AddPipelineCommand(app, &action);
  AddCompletionCommand(app, &action);  // last: it prints the whole tree

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // As every other error prints: "error: ...", a close command name for a
    // mistyped one, and where the usage is.
    ParseErrorText text = DescribeParseError(app, args, e.what());
    PrintError(text.message);
    std::cerr << "run '" << text.command << " --help' for usage\n";
    return kExitUsage;
  }
  return action ? Finish(action()) : kExitUsage;
}
