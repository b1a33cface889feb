// `spatial console`: flags -> a registry, the tokens, the console and the
// management API behind one HTTP server -> the signal loop. No inference
// stack is loaded: the console alone starts in milliseconds.
#include "cli/console_cmd.h"

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/audited_tokens.h"
#include "cli/process_env.h"
#include "cli/registry_context.h"
#include "cli/registry_options.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/serving/console/console_api.h"
#include "src/serving/console/console_server.h"
#include "src/serving/http/http_server.h"
#include "src/serving/management_api.h"
#include "src/serving/tokens.h"

namespace spatial::cli {
namespace {

struct ConsoleFlags {
  RegistryFlags registry;
  std::string address = "127.0.0.1";
  int port = 8002;
  std::string port_file;
  std::string tokens_file;  // "" = $SPATIAL_TOKENS_FILE
  std::string runs_dir = "output/spatial_pipeline_runs";
};

CommandResult Console(ConsoleFlags flags) {
  // Before any thread exists, so that only sigwait() below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (flags.tokens_file.empty())
    flags.tokens_file = ProcessEnv("SPATIAL_TOKENS_FILE");
  if (flags.tokens_file.empty()) {
    return WithExitCode(
        absl::InvalidArgumentError(
            "spatial console needs --tokens-file (or $SPATIAL_TOKENS_FILE): "
            "every page asks for a token; make one with `spatial token add`"),
        kExitUsage);
  }
  flags.registry.must_exist = true;
  ASSIGN_OR_RETURN(RegistryContext registry,
                   OpenRegistryContext(flags.registry));
  ASSIGN_OR_RETURN(
      serving::TokenTable tokens,
      LoadAuditedTokens(flags.tokens_file, registry.registry.get(), std::cerr));
  serving::ManagementApi management(serving::ManagementApi::Options{
      .tokens = &tokens, .service = registry.service.get()});
  serving::ConsoleApi console(serving::ConsoleApi::Options{
      .service = registry.service.get(), .runs_dir = flags.runs_dir});
  serving::ConsoleServer handler(&console, &management, &tokens);
  serving::http::HttpServer::Options ho;
  ho.address = flags.address;
  ho.port = flags.port;
  ASSIGN_OR_RETURN(auto server, serving::http::HttpServer::Start(ho, &handler));
  if (!flags.port_file.empty()) {
    RETURN_IF_ERROR(base::WriteFileAtomic(flags.port_file,
                                          absl::StrCat(server->port(), "\n")));
  }
  std::cout << "spatial console on http://" << flags.address << ":"
            << server->port() << "/console (registry " << registry.location
            << ", " << tokens.size() << " tokens)" << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "received " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << ": stopping" << std::endl;
  server->Stop(std::chrono::seconds(5));
  return kExitOk;
}

}  // namespace

void AddConsoleCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<ConsoleFlags>();
  CLI::App* c = app.add_subcommand(
      "console",
      "Serve the operator console (versions, environments, audit log, "
      "pipeline runs; promote, roll back) for a registry, without serving a "
      "model; `spatial serve` serves it too, at /console");
  AddRegistryFlag(*c, f->registry.registry, "Registry to show");
  AddStoreFlag(*c, f->registry.store);
  AddConfigFlag(*c, f->registry.config);
  c->add_option("--address", f->address, "Address to listen on")
      ->capture_default_str();
  c->add_option("--port", f->port, "Port; 0 = any free port")
      ->capture_default_str();
  c->add_option("--port-file", f->port_file,
                "Write the bound port to this file");
  c->add_option("--tokens-file", f->tokens_file,
                "Bearer tokens (as for `spatial serve`; make one with "
                "`spatial token add`); viewers read, deployers promote and "
                "roll back (default $SPATIAL_TOKENS_FILE; required)");
  c->add_option("--runs-dir", f->runs_dir,
                "Where `spatial pipeline run` left its runs")
      ->capture_default_str();
  c->callback([f, action] { *action = [f] { return Console(*f); }; });
}

}  // namespace spatial::cli
