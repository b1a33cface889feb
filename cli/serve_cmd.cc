#include "cli/serve_cmd.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "cli/registry_context.h"
#include "opencv2/core/utility.hpp"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/security/policy.h"
#include "src/serving/model_manager.h"
#include "src/serving/pizza_api.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"

namespace spatial::cli {
namespace {

struct ServeFlags {
  std::string environment;
  std::string address = "0.0.0.0";
  int port = -1;  // -1: $API_PORT, else 8001
  std::string port_file;
  std::vector<std::string> model_dirs;
  int io_threads = 2;
  int workers = 0;  // 0: one per core
  int max_batch = 8;
  int max_queue_delay_us = 2000;
  int queue_capacity = 256;
  double ab_split = 0.5;
  RegistryFlags registry;  // serve the active version when set
  double poll_registry_s = 5;
  int warmup_rounds = 1;
  double inject_spatial_faults = 0;
  std::string tokens_file;  // "" = $SPATIAL_TOKENS_FILE, else none
  bool require_token = false;
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

int Serve(const ServeFlags& flags) {
  const auto t0 = std::chrono::steady_clock::now();
  // Block the stop signals before any thread exists, so that every thread
  // inherits the mask and only the main thread's sigwait() receives them
  // (a worker thread taking SIGTERM would kill the process mid-request).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);  // not a stop: re-read the registry
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ServeFlags f = flags;
  auto fail = [](const absl::Status& s) {
    std::cerr << "error: " << s.message() << "\n";
    return ExitCodeFor(s);
  };
  if (f.environment.empty()) f.environment = Env("ENVIRONMENT");
  if (f.environment.empty()) f.environment = "development";
  if (f.port < 0) {
    std::string p = Env("API_PORT");
    if (p.empty()) {
      f.port = 8001;
    } else if (!absl::SimpleAtoi(p, &f.port) || f.port < 0 || f.port > 65535) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat("API_PORT must be a port number, got '", p, "'")));
    }
  }
  if (f.port > 65535)
    return fail(absl::InvalidArgumentError("--port must be 0..65535"));
  if (f.ab_split < 0 || f.ab_split > 1)
    return fail(absl::InvalidArgumentError("--ab-split must be in [0, 1]"));
  if (f.registry.registry.empty())
    f.registry.registry = Env("SPATIAL_REGISTRY");
  if (f.model_dirs.empty() && f.registry.registry.empty()) {
    // The original compose file named the model with these variables.
    std::string type = Env("MODEL_TYPE"), path = Env("SPATIAL_MODEL_PATH");
    if (!path.empty()) f.model_dirs.push_back(path);
    if (path.empty() || type == "standard" || type == "both") {
      for (const char* d :
           {"models/spatial-pizza-v1", "models/standard-pizza-v1"}) {
        if (path.empty() ||
            std::string(d).find("standard") != std::string::npos) {
          f.model_dirs.push_back(d);
        }
      }
    }
  }
  cv::setNumThreads(1);  // one inference per worker; workers = cores
  serving::Metrics metrics;
  serving::ModelManager::Options mo;
  mo.batcher.workers =
      f.workers > 0
          ? f.workers
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  mo.batcher.max_batch = f.max_batch;
  mo.batcher.max_queue_delay = std::chrono::microseconds(f.max_queue_delay_us);
  mo.batcher.queue_capacity = static_cast<size_t>(f.queue_capacity);
  mo.warmup_rounds = f.warmup_rounds;
  mo.metrics = &metrics;
  mo.model_dirs = f.model_dirs;
  mo.environment = f.environment;
  mo.poll_interval =
      std::chrono::milliseconds(static_cast<int64_t>(f.poll_registry_s * 1000));
  if (f.inject_spatial_faults < 0 || f.inject_spatial_faults > 1)
    return fail(absl::InvalidArgumentError(
        "--inject-spatial-faults must be in [0, 1]"));
  mo.spatial_fault_rate = f.inject_spatial_faults;
  std::optional<RegistryContext> ctx;
  std::string work_dir;
  if (!f.registry.registry.empty()) {
    f.registry.must_exist = true;
    auto opened = OpenRegistryContext(f.registry);
    if (!opened.ok()) return fail(opened.status());
    ctx = std::move(*opened);
    if (auto env = ctx->registry->GetEnvironment(f.environment); !env.ok())
      return fail(env.status());
    work_dir = (std::filesystem::temp_directory_path() /
                absl::StrCat("spatial-serve-", getpid()))
                   .string();
    // Staging and production serve only versions signed by a trusted key
    // (the environment's policy, read anew for every load).
    mo.admit = [reg = ctx->registry.get(), store = &ctx->service->store(),
                env_name = f.environment](const registry::ModelVersion& v) {
      auto env = reg->GetEnvironment(env_name);
      if (!env.ok()) return env.status();
      return security::CheckServable(*reg, *store, v, *env);
    };
    mo.registry = ctx->registry.get();
    mo.store = &ctx->service->store();
    mo.work_dir = work_dir;
  }
  serving::ModelManager manager(mo);
  if (f.tokens_file.empty()) f.tokens_file = Env("SPATIAL_TOKENS_FILE");
  std::optional<serving::TokenTable> tokens;
  if (!f.tokens_file.empty()) {
    auto t = serving::TokenTable::Load(f.tokens_file);
    if (!t.ok()) return fail(t.status());
    tokens = std::move(*t);
  } else if (f.require_token) {
    return fail(absl::InvalidArgumentError(
        "--require-token needs --tokens-file (or $SPATIAL_TOKENS_FILE)"));
  }
  serving::ManagementApi management(
      {.tokens = tokens ? &*tokens : nullptr,
       .service = ctx ? ctx->service.get() : nullptr,
       .manager = &manager,
       .environment = f.environment});
  serving::PizzaApi api(
      {.environment = f.environment,
       .ab_split = f.ab_split,
       .metrics = &metrics,
       .management = &management,
       .tokens = tokens ? &*tokens : nullptr,
       .require_token = f.require_token},
      [&manager] { return manager.Current(); },
      [&manager] { return manager.ready(); });
  serving::http::HttpServer::Options ho;
  ho.address = f.address;
  ho.port = f.port;
  ho.io_threads = f.io_threads;
  auto server = serving::http::HttpServer::Start(ho, &api);
  if (!server.ok()) return fail(server.status());
  if (!f.port_file.empty()) {
    absl::Status s = base::WriteFileAtomic(
        f.port_file, absl::StrCat((*server)->port(), "\n"));
    if (!s.ok()) return fail(s);
  }
  std::cout << "pizza-api-spatial listening on http://" << f.address << ":"
            << (*server)->port() << " (environment " << f.environment
            << "); loading models" << std::endl;
  // Listening first, ready later: liveness answers while models load and
  // /v2/health/ready says 503 until every model is warm.
  if (absl::Status s = manager.Start(); !s.ok()) {
    (*server)->Stop(std::chrono::seconds(1));
    return fail(s);
  }
  double ready_ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
  {
    // A snapshot held here would keep a swapped-out model from draining.
    auto models = manager.Current();
    std::cout << "pizza-api-spatial "
              << (manager.ready() ? "ready" : "NOT ready (see above)")
              << ": spatial "
              << (models->spatial ? models->spatial->version : "none")
              << ", standard "
              << (models->standard ? models->standard->version : "none")
              << (ctx ? absl::StrCat("; watching ", ctx->location, " every ",
                                     f.poll_registry_s, " s")
                      : "")
              << " (" << static_cast<int>(ready_ms) << " ms after start)"
              << std::endl;
  }
  int sig = 0;
  for (;;) {
    sigwait(&stop_signals, &sig);
    if (sig != SIGHUP) break;
    // SIGHUP: look at the registry now, retrying a version that failed.
    std::cout << "received SIGHUP: checking the registry" << std::endl;
    auto swapped = manager.Refresh(/*force=*/true);
    if (!swapped.ok()) {
      std::cerr << swapped.status().message() << std::endl;
    } else if (!*swapped) {
      std::cout << "nothing new to serve" << std::endl;
    }
  }
  std::cout << "received " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << ": finishing in-flight requests" << std::endl;
  (*server)->Stop(std::chrono::seconds(20));
  manager.Stop();
  if (!work_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(work_dir, ec);
  }
  std::cout << "stopped" << std::endl;
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, std::function<int()>* action) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand("serve",
                                       "Run pizza-api-spatial, the inference "
                                       "server (stop with SIGTERM or Ctrl-C; "
                                       "SIGHUP re-reads the registry now)");
  serve->add_option("--environment", f->environment,
                    "development | staging | production (default $ENVIRONMENT, "
                    "else development)");
  serve->add_option("--address", f->address, "Address to listen on")
      ->capture_default_str();
  serve->add_option("--port", f->port,
                    "Port; 0 = any free port (default $API_PORT, else 8001)");
  serve->add_option("--port-file", f->port_file,
                    "Write the bound port to this file");
  serve->add_option(
      "--model-dir", f->model_dirs,
      "Model bundle to serve (repeatable; one spatial and one standard at "
      "most; "
      "default $SPATIAL_MODEL_PATH, else both bundles under models/)");
  serve->add_option("--io-threads", f->io_threads, "HTTP threads")
      ->capture_default_str();
  serve->add_option("--workers", f->workers,
                    "Inference threads per model (default: one per core)");
  serve->add_option("--max-batch", f->max_batch, "Requests per inference batch")
      ->capture_default_str();
  serve
      ->add_option("--max-queue-delay-us", f->max_queue_delay_us,
                   "Longest wait for a batch to fill, microseconds")
      ->capture_default_str();
  serve
      ->add_option("--queue-capacity", f->queue_capacity,
                   "Waiting requests before 503 + Retry-After")
      ->capture_default_str();
  serve
      ->add_option("--ab-split", f->ab_split,
                   "Share of requests without a group sent to A (spatial)")
      ->capture_default_str();
  serve->add_option("--registry", f->registry.registry,
                    "Serve the version active for the environment in this "
                    "registry (SQLite path or postgresql:// URL; default "
                    "$SPATIAL_REGISTRY), swapping to newly promoted versions");
  serve->add_option("--store", f->registry.store,
                    "Artifact store of the registry (default $SPATIAL_STORE, "
                    "else store/ beside a SQLite registry)");
  serve->add_option("--config", f->registry.config,
                    "Environments file (default $SPATIAL_CONFIG, "
                    "config/environments.json, built-in)");
  serve
      ->add_option("--poll-registry-s", f->poll_registry_s,
                   "Seconds between registry checks for a new version (0: "
                   "never)")
      ->capture_default_str();
  serve
      ->add_option("--warmup-rounds", f->warmup_rounds,
                   "Warm-up rounds per worker before a model serves (a round "
                   "runs every batch size from 1 to --max-batch)")
      ->capture_default_str();
  serve->add_option(
      "--inject-spatial-faults", f->inject_spatial_faults,
      "Testing only: share of spatial inferences made to fail, to exercise "
      "the fallback to the standard model (default 0)");
  serve->add_option("--tokens-file", f->tokens_file,
                    "Bearer tokens for /api/v1 (JSON of name, role, sha256; "
                    "make one with `spatial token add`; default "
                    "$SPATIAL_TOKENS_FILE)");
  serve->add_flag("--require-token", f->require_token,
                  "Inference endpoints need a token too (any role)");
  serve->callback([f, action] { *action = [f] { return Serve(*f); }; });
}

}  // namespace spatial::cli
