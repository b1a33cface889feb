#include "cli/serve_cmd.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "opencv2/core/utility.hpp"
#include "src/base/files.h"
#include "src/base/status_macros.h"
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
};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Loads a bundle into a batcher and warms every worker with a real image, so
// that the first request does not pay for lazy initialisation.
absl::StatusOr<std::shared_ptr<serving::ServedModel>> LoadModel(
    const std::string& dir, const ServeFlags& f, serving::Metrics* metrics) {
  serving::Batcher::Options o;
  o.workers =
      f.workers > 0
          ? f.workers
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.max_batch = f.max_batch;
  o.max_queue_delay = std::chrono::microseconds(f.max_queue_delay_us);
  o.queue_capacity = static_cast<size_t>(f.queue_capacity);
  // The model type labels the batch metrics; read it before the workers start.
  ASSIGN_OR_RETURN(auto manifest, inference::LoadManifest(dir));
  ASSIGN_OR_RETURN(
      auto batcher,
      serving::Batcher::Start(
          o, [&] { return inference::Classifier::Open(dir); },
          [metrics, type = manifest.model_type](int size, double seconds) {
            metrics->RecordBatch(type, size, seconds);
          }));
  auto model = std::make_shared<serving::ServedModel>();
  model->bundle_dir = dir;
  model->version =
      absl::StrCat(batcher->manifest().name, "-v", batcher->manifest().version);
  model->batcher = std::move(batcher);
  auto img = vision::DecodeImage(vision::RenderPizza(0, 1, 0, 128).jpeg);
  if (!img.ok()) return img.status();
  auto input = std::make_shared<inference::PreparedInput>(
      inference::PrepareInput(model->manifest(), *img));
  std::vector<std::promise<absl::Status>> warm(static_cast<size_t>(o.workers) *
                                               2);
  for (auto& p : warm) {
    RETURN_IF_ERROR(model->batcher->Submit(
        input, [&p](auto r) { p.set_value(r.status()); }));
  }
  for (auto& p : warm) RETURN_IF_ERROR(p.get_future().get());
  return model;
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
  if (f.model_dirs.empty()) {
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
  std::shared_ptr<serving::ServedModel> spatial, standard;
  for (const auto& dir : f.model_dirs) {
    auto m = LoadModel(dir, f, &metrics);
    if (!m.ok())
      return fail(absl::Status(
          m.status().code(),
          absl::StrCat("cannot serve ", dir, ": ", m.status().message())));
    auto& slot = (*m)->manifest().has_spatial() ? spatial : standard;
    if (slot)
      return fail(absl::InvalidArgumentError(absl::StrCat(
          "two ", (*m)->manifest().has_spatial() ? "spatial" : "standard",
          " models given; serve one of each")));
    slot = *m;
  }
  if (spatial)
    metrics.SetModelInfo("spatial", spatial->version,
                         spatial->manifest().model_type);
  if (standard) {
    metrics.SetModelInfo("standard", standard->version,
                         standard->manifest().model_type);
  }
  serving::PizzaApi api({.environment = f.environment,
                         .ab_split = f.ab_split,
                         .metrics = &metrics},
                        spatial, standard);
  serving::http::HttpServer::Options ho;
  ho.address = f.address;
  ho.port = f.port;
  ho.io_threads = f.io_threads;
  auto server = serving::http::HttpServer::Start(ho, &api);
  if (!server.ok()) return fail(server.status());
  double ready_ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
  if (!f.port_file.empty()) {
    absl::Status s = base::WriteFileAtomic(
        f.port_file, absl::StrCat((*server)->port(), "\n"));
    if (!s.ok()) return fail(s);
  }
  std::cout << "pizza-api-spatial listening on http://" << f.address << ":"
            << (*server)->port() << " (environment " << f.environment
            << "; spatial " << (spatial ? spatial->version : "none")
            << ", standard " << (standard ? standard->version : "none")
            << "; ready in " << static_cast<int>(ready_ms) << " ms)"
            << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cout << "received " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << ": finishing in-flight requests" << std::endl;
  (*server)->Stop(std::chrono::seconds(20));
  if (spatial) spatial->batcher->Stop();
  if (standard) standard->batcher->Stop();
  std::cout << "stopped" << std::endl;
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, std::function<int()>* action) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand("serve",
                                       "Run pizza-api-spatial, the inference "
                                       "server (stop with SIGTERM or Ctrl-C)");
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
  serve->callback([f, action] { *action = [f] { return Serve(*f); }; });
}

}  // namespace spatial::cli
