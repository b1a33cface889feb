// `spatial-full`: every command of spatial-deploy, the inference stack
// linked in. Users run `spatial` (cli/main.cc), which runs the registry,
// audit, key and token commands itself and hands every other invocation to
// this program with the same argv (cli/dispatch.h). Owns the whole command
// tree (each subcommand lives in its own file and adds itself) and the shell
// around it: CLI11 parse errors exit 2 (printed as DescribeParseError says),
// and a command's result goes through Finish() (cli/command.h), the one place
// that prints an error and maps it.
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
#include "cli/dispatch.h"
#include "cli/envtest_cmd.h"
#include "cli/eval_cmd.h"
#include "cli/keys_cmd.h"
#include "cli/model_cmd.h"
#include "cli/parse_errors.h"
#include "cli/pipeline_cmd.h"
#include "cli/registry_context.h"
#include "cli/serve_cmd.h"
#include "cli/token_cmd.h"
#include "src/inference/onnx_info.h"
#include "src/validation/measure.h"

int main(int argc, char** argv) {
  using namespace spatial::cli;
  SetEngineHooks(
      {spatial::inference::InspectOnnx, spatial::validation::MeasureVersion});
  auto args = RewriteArgs({argv + 1, argv + argc});
  if (!args.ok()) return Finish(WithExitCode(args.status(), kExitUsage));

  std::unique_ptr<CLI::App> app_owner = NewTopLevelApp();
  CLI::App& app = *app_owner;
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
    std::vector<std::string> reversed(args->rbegin(), args->rend());
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
    ParseErrorText text = DescribeParseError(app, *args, e.what());
    PrintError(text.message);
    std::cerr << "run '" << text.command << " --help' for usage\n";
    return kExitUsage;
  }
  return action ? Finish(action()) : kExitUsage;
}
