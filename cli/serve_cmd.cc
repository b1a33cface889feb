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
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "cli/registry_context.h"
#include "cli/registry_options.h"
#include "cli/serve_trust.h"
#include "cli/serve_workdir.h"
#include "opencv2/core/utility.hpp"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/security/policy.h"
#include "src/serving/drift_rollback.h"
#include "src/serving/feedback_api.h"
#include "src/serving/live_accuracy.h"
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
  std::vector<std::string> trusted_keys;  // --trusted-key signing.pub files
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
  double cache_mb = 16;  // prediction cache; 0 disables
  int feedback_window = 200;
  int feedback_min_labelled = 50;
  int feedback_max_per_token = 0;        // 0: half of feedback_min_labelled, up
  std::optional<double> accuracy_floor;  // none: the environment's, if any
  bool rollback_on_drift = false;
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
    std::cerr << "error: " << base::EscapeForTerminal(s.message()) << "\n";
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
  f.registry.registry = RegistryFlagOrEnvironment(f.registry);
  if (f.model_dirs.empty() && f.registry.registry.empty())
    f.model_dirs = DefaultModelDirs();
  if (!(f.cache_mb >= 0 && f.cache_mb <= 1 << 20))
    return fail(absl::InvalidArgumentError(
        "--cache-mb must be a size in MB from 0 (no cache) to 1048576"));
  cv::setNumThreads(1);  // one inference per worker; workers = cores
  serving::Metrics metrics;
  serving::PredictionCache cache(
      static_cast<uint64_t>(f.cache_mb * 1024 * 1024));
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
  // Results of versions no longer served are dropped at once.
  mo.on_publish = [&cache](const serving::ModelSet& set) {
    std::set<serving::CacheModel> served;
    for (const auto& m : set.all()) served.insert(serving::CacheModelOf(*m));
    cache.RetainOnly(std::move(served));
  };
  mo.model_dirs = f.model_dirs;
  mo.environment = f.environment;
  mo.poll_interval =
      std::chrono::milliseconds(static_cast<int64_t>(f.poll_registry_s * 1000));
  if (f.inject_spatial_faults < 0 || f.inject_spatial_faults > 1)
    return fail(absl::InvalidArgumentError(
        "--inject-spatial-faults must be in [0, 1]"));
  mo.spatial_fault_rate = f.inject_spatial_faults;
  if (f.feedback_window < 1 || f.feedback_window > 1000000)
    return fail(
        absl::InvalidArgumentError("--feedback-window must be 1..1000000"));
  if (f.feedback_min_labelled < 1 ||
      f.feedback_min_labelled > f.feedback_window)
    return fail(absl::InvalidArgumentError(
        "--feedback-min-labelled must be 1..--feedback-window"));
  // No token alone brings a window to judgement: at least two are needed.
  if (f.feedback_max_per_token == 0)
    f.feedback_max_per_token = (f.feedback_min_labelled + 1) / 2;
  if (f.feedback_max_per_token < 1 ||
      f.feedback_max_per_token > f.feedback_window)
    return fail(absl::InvalidArgumentError(
        "--feedback-max-per-token must be 1..--feedback-window"));
  if (f.accuracy_floor && !(*f.accuracy_floor >= 0 && *f.accuracy_floor <= 1))
    return fail(
        absl::InvalidArgumentError("--accuracy-floor must be in [0, 1]"));
  if (f.rollback_on_drift && f.registry.registry.empty())
    return fail(absl::InvalidArgumentError(
        "--rollback-on-drift needs --registry (it rolls back the registry's "
        "environment)"));
  std::optional<double> floor = f.accuracy_floor;
  std::string floor_source = "--accuracy-floor";
  std::optional<RegistryContext> ctx;
  std::optional<registry::Environment> served_env;
  if (!f.registry.registry.empty()) {
    f.registry.must_exist = true;
    auto opened = OpenRegistryContext(f.registry);
    if (!opened.ok()) return fail(opened.status());
    ctx = std::move(*opened);
    auto got_env = ctx->registry->GetEnvironment(f.environment);
    if (!got_env.ok()) return fail(got_env.status());
    served_env = std::move(*got_env);
    if (!floor && served_env->min_accuracy) {
      floor = served_env->min_accuracy;
      floor_source =
          absl::StrCat("the accuracy requirement of ", served_env->name);
    }
    // Staging and production serve only versions signed by a trusted key
    // (the environment's policy, read anew for every load), checked on the
    // digests of the private copy that is then loaded.
    mo.admit = [reg = ctx->registry.get(), env_name = f.environment](
                   const registry::ModelVersion& v,
                   const std::vector<security::FileDigest>& files) {
      auto env = reg->GetEnvironment(env_name);
      if (!env.ok()) return env.status();
      return security::CheckServableFiles(*reg, v, *env, files);
    };
    mo.registry = ctx->registry.get();
    mo.store = &ctx->service->store();
  }
  // Bundles given as directories: signed by a key the environment trusts
  // where its policy requires it (cli/serve_trust.h).
  auto trust =
      ResolveBundleTrust(f.environment, served_env ? &*served_env : nullptr,
                         f.registry.config, f.trusted_keys);
  if (!trust.ok()) return fail(trust.status());
  BundleGate gate(std::move(*trust));
  mo.admit_bundle = [&gate](const std::string& source,
                            const serving::CopiedBundle& copy) {
    return gate.Admit(source, copy);
  };
  // Everything is loaded from a private copy (sweeps the dirs of killed
  // servers first); removed when Serve returns, after the manager stopped.
  auto work_dir = MakeServeWorkDir();
  if (!work_dir.ok()) return fail(work_dir.status());
  mo.work_dir = *work_dir;
  struct RemoveOnReturn {
    std::string dir;
    ~RemoveOnReturn() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } remove_work_dir{*work_dir};
  serving::ModelManager manager(mo);
  // Live accuracy from /feedback; with --rollback-on-drift an alarm rolls the
  // environment back (declared after the manager it refreshes).
  std::optional<serving::DriftRollback> rollback;
  if (f.rollback_on_drift) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    rollback.emplace(serving::DriftRollback::Options{
        .service = ctx->service.get(),
        .manager = &manager,
        .environment = f.environment,
        .actor = absl::StrCat("pizza-api-spatial@", host, " (pid ", getpid(),
                              ", --rollback-on-drift)")});
  }
  serving::LiveAccuracy live(
      {.window = f.feedback_window,
       .min_labelled = f.feedback_min_labelled,
       .max_per_labeler = f.feedback_max_per_token,
       .floor = floor,
       .on_alarm = [&rollback](const serving::LiveAlarm& a) {
         if (rollback) rollback->OnAlarm(a);
       }});
  if (floor) {
    std::cout << "live accuracy floor " << *floor << " (" << floor_source
              << "), judged once " << f.feedback_min_labelled << " of the last "
              << f.feedback_window << " predictions per version have feedback"
              << (rollback ? "; an alarm rolls the environment back" : "")
              << std::endl;
  }
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
  const bool feedback_needs_token = serving::FeedbackNeedsToken(
      f.environment, f.rollback_on_drift, f.require_token);
  if (feedback_needs_token) {
    std::cout << "POST /feedback needs a labeler token"
              << (tokens ? ""
                         : " and there is no --tokens-file: all of it "
                           "is refused")
              << "; one token holds at most " << f.feedback_max_per_token
              << " labels of a version's window" << std::endl;
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
       .require_token = f.require_token,
       .feedback_needs_token = feedback_needs_token,
       .cache = &cache,
       .live = &live},
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
  if (std::string w = gate.UnsignedWarning(); !w.empty())
    std::cerr << w << std::endl;
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
  if (rollback) rollback->Stop();
  manager.Stop();
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
  serve->add_option(
      "--trusted-key", f->trusted_keys,
      "Public key (signing.pub) trusted to sign the --model-dir bundles "
      "(repeatable; default $SPATIAL_TRUSTED_KEYS, files separated by ':'; "
      "adds to the environment's trusted_keys in the environments file; not "
      "with --registry, whose environment says which "
      "keys it trusts). Where the environment requires a signature "
      "(staging, production), every bundle's DIR/model.sig must verify with "
      "one of these keys or the server does not start");
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
  AddRegistryFlag(*serve, f->registry.registry,
                  "Serve the version active for the environment in this "
                  "registry, swapping to newly promoted versions",
                  "no registry: --model-dir or the shipped bundles");
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
                    "Bearer tokens for /api/v1, /feedback and "
                    "--require-token (JSON of name, role, sha256; "
                    "make one with `spatial token add`; default "
                    "$SPATIAL_TOKENS_FILE)");
  serve->add_flag("--require-token", f->require_token,
                  "Inference endpoints, /status and /visualizations need a "
                  "token too (any role; a visualization answers only the "
                  "token that made it), and /feedback a labeler token");
  serve
      ->add_option("--cache-mb", f->cache_mb,
                   "Memory for the prediction cache in MB (results by the "
                   "upload's sha256 and model version, least recently used "
                   "evicted first; 0 disables it)")
      ->capture_default_str();
  serve
      ->add_option("--feedback-window", f->feedback_window,
                   "Live accuracy: labelled predictions (and predictions) per "
                   "model version in the sliding window of POST /feedback")
      ->capture_default_str();
  serve
      ->add_option("--feedback-min-labelled", f->feedback_min_labelled,
                   "Live accuracy: labelled predictions in the window before "
                   "it is judged against the floor")
      ->capture_default_str();
  serve->add_option(
      "--feedback-max-per-token", f->feedback_max_per_token,
      "Live accuracy: labels one token may hold in a version's window; more "
      "are refused (403) and not counted, so that no token fills the window "
      "or raises an alarm alone (default: half of --feedback-min-labelled, "
      "rounded up: 25). Feedback without a token (development only) is not "
      "bounded");
  serve->add_option_function<double>(
      "--accuracy-floor", [f](const double& v) { f->accuracy_floor = v; },
      "Live accuracy below this raises pizza_api_live_accuracy_alarm "
      "(default: the environment's accuracy requirement with --registry, "
      "else no floor)");
  serve->add_flag(
      "--rollback-on-drift", f->rollback_on_drift,
      "With --registry: a live accuracy alarm of the active version rolls the "
      "environment back (once per version, reason in `spatial model "
      "history`, naming the tokens that labelled) and serves the previous "
      "version. POST /feedback then needs a labeler token");
  serve->callback([f, action] { *action = [f] { return Serve(*f); }; });
}

}  // namespace spatial::cli
