// `spatial serve`, step two of three: ServeStack wires a server from a
// ServeConfig (cli/serve_config.h). It owns everything a running server is
// made of: the metrics, the prediction cache, the registry (when served), the
// bundle gate, the private work directory, the model manager, live accuracy
// and the drift rollback, the tokens, the APIs and the HTTP server. Members
// are torn down in reverse order of building: the server stops taking
// requests before the manager stops, and the work directory is removed after
// the manager is gone.
//
// Not thread-safe: built, started and stopped by one thread (the signal loop
// in cli/serve_cmd.cc); what it owns serves requests on threads of its own.
#ifndef SPATIAL_CLI_SERVE_WIRING_H_
#define SPATIAL_CLI_SERVE_WIRING_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cli/registry_context.h"
#include "cli/serve_config.h"
#include "cli/serve_trust.h"
#include "src/serving/console/console_api.h"
#include "src/serving/drift_rollback.h"
#include "src/serving/http/http_server.h"
#include "src/serving/live_accuracy.h"
#include "src/serving/management_api.h"
#include "src/serving/metrics.h"
#include "src/serving/model_manager.h"
#include "src/serving/pizza_api.h"
#include "src/serving/prediction_cache.h"
#include "src/serving/tokens.h"

namespace spatial::cli {

class ServeStack {
 public:
  // Opens the registry (when served), resolves the bundle trust, makes the
  // work directory, loads the tokens file and wires the rest; prints what the
  // live accuracy floor and POST /feedback will ask. Nothing listens yet and
  // no model is loaded. Errors name what is wrong (exit codes per
  // cli/exit_codes.h).
  static absl::StatusOr<std::unique_ptr<ServeStack>> Build(
      const ServeConfig& config);
  ~ServeStack();
  ServeStack(const ServeStack&) = delete;
  ServeStack& operator=(const ServeStack&) = delete;

  // Listens (liveness answers at once), writes --port-file, then loads and
  // warms the models; prints the listening line and the ready line (with the
  // time since `started`). An error leaves nothing listening.
  absl::Status Start(std::chrono::steady_clock::time_point started);

  // SIGHUP: reloads the tokens file (revoked tokens stop working), then looks
  // at the registry now, retrying a version that failed.
  void Refresh();

  // Finishes in-flight requests (up to 20 s), then stops the rollback and the
  // manager.
  void Stop();

 private:
  explicit ServeStack(const ServeConfig& config);

  // Removes a directory when destroyed.
  struct RemovedDir {
    std::string path;
    ~RemovedDir();
  };

  const ServeConfig config_;
  serving::Metrics metrics_;
  serving::PredictionCache cache_;
  std::optional<RegistryContext> registry_;
  // The registry the server follows, or nullptr (--model-dir alone).
  registry::Registry* RegistryOrNull() const {
    return registry_ ? registry_->registry.get() : nullptr;
  }
  std::optional<BundleGate> gate_;
  RemovedDir work_dir_;  // declared before (so removed after) the manager
  std::unique_ptr<serving::ModelManager> manager_;
  std::optional<serving::DriftRollback> rollback_;
  std::unique_ptr<serving::LiveAccuracy> live_;
  std::optional<serving::TokenTable> tokens_;
  std::unique_ptr<serving::ManagementApi> management_;
  std::unique_ptr<serving::ConsoleApi> console_;
  std::unique_ptr<serving::PizzaApi> api_;
  std::unique_ptr<serving::http::HttpServer> server_;
};

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_SERVE_WIRING_H_
