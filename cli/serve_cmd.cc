// `spatial serve`, step three of three: the flags (declared here), then
// flags -> config (cli/serve_config.h) -> wiring (cli/serve_wiring.h), and the
// signal loop that owns the process until SIGTERM or SIGINT.
#include "cli/serve_cmd.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <memory>

#include "cli/registry_options.h"
#include "cli/serve_config.h"
#include "cli/serve_wiring.h"
#include "opencv2/core/utility.hpp"
#include "src/base/status_macros.h"

namespace spatial::cli {
namespace {

pthread_t g_signal_thread;

// Runs only in a thread that did not block the signal: one started before
// Serve (OpenBLAS starts its pool when it is loaded). The default action
// would kill the process (a SIGHUP during a reload, a second SIGTERM during
// the drain); instead the signal goes to the thread that sigwait()s for it.
void ForwardToSignalLoop(int sig) { ::pthread_kill(g_signal_thread, sig); }

// Blocks the stop signals (and SIGHUP) in the calling thread; threads made
// afterwards inherit the mask, so only sigwait() in the signal loop receives
// them (a worker thread taking SIGTERM would kill the process mid-request).
sigset_t BlockServeSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // not a stop: re-read the registry
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  g_signal_thread = ::pthread_self();
  struct sigaction forward = {};
  forward.sa_handler = ForwardToSignalLoop;
  forward.sa_flags = SA_RESTART;
  sigemptyset(&forward.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &forward, nullptr);
  return signals;
}

CommandResult Serve(const ServeFlags& flags) {
  const auto started = std::chrono::steady_clock::now();
  // Before any thread exists.
  const sigset_t signals = BlockServeSignals();
  ASSIGN_OR_RETURN(ServeConfig config, MakeServeConfig(flags));
  cv::setNumThreads(1);  // one inference per worker; workers = cores
  ASSIGN_OR_RETURN(std::unique_ptr<ServeStack> stack,
                   ServeStack::Build(config));
  RETURN_IF_ERROR(stack->Start(started));
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    stack->Refresh();
  }
  std::cout << "received " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << ": finishing in-flight requests" << std::endl;
  stack->Stop();
  std::cout << "stopped" << std::endl;
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* serve =
      app.add_subcommand("serve",
                         "Run pizza-api-spatial, the inference "
                         "server (stop with SIGTERM or Ctrl-C; "
                         "SIGHUP re-reads the tokens file and the "
                         "registry now)");
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
      "Public key (signing.pub) trusted to sign what is served (repeatable; "
      "default $SPATIAL_TRUSTED_KEYS, files separated by ':'). Without "
      "--registry it adds to the environment's trusted_keys in the "
      "environments file. With --registry it is the trust anchor: a key "
      "counts only if the registry's environment trusts it too, so a key "
      "slipped into the registry is not enough; required there where the "
      "environment requires a signature (staging, production). Every "
      "version and bundle served there must verify with such a key or it is "
      "not loaded");
  serve->add_option("--io-threads", f->io_threads, "HTTP threads")
      ->capture_default_str();
  serve->add_option("--workers", f->workers,
                    "Inference threads per model (default: one per core)");
  serve->add_option("--max-batch", f->max_batch, "Requests per inference batch")
      ->capture_default_str();
  serve
      ->add_option("--max-queue-delay-us", f->max_queue_delay_us,
                   "Longest a worker holds a partial batch open while every "
                   "other worker is busy, microseconds (an idle worker never "
                   "waits; 0: never hold)")
      ->capture_default_str();
  serve
      ->add_option("--queue-capacity", f->queue_capacity,
                   "Waiting requests before 503 + Retry-After")
      ->capture_default_str();
  serve->add_option_function<double>(
      "--ab-split", [f](const double& v) { f->ab_split = v; },
      "Turn on an A/B test: this share (0..1) of /classify requests that name "
      "no ab_test_group and no use_spatial go to group A (spatial), the rest "
      "to B (standard). Default: no A/B test; such requests go to the spatial "
      "model (the standard one when only it is loaded)");
  AddNoRegistryFlag(
      *serve, f->registry.no_registry,
      AddRegistryFlag(*serve, f->registry.registry,
                      "Serve the version active for the environment in this "
                      "registry, swapping to newly promoted versions",
                      "no registry: --model-dir or the shipped bundles"));
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
