// OipApi: the Open Inference Protocol v2 REST endpoints of pizza-api-spatial
// over the models served at the moment of each request:
//   GET  /v2                                         server metadata
//   GET  /v2/health/live, /v2/health/ready           200, or 400 when not ready
//   GET  /v2/models/{name}[/versions/{v}]            model metadata
//   GET  /v2/models/{name}[/versions/{v}]/ready      200, or 400 when not ready
//   POST /v2/models/{name}[/versions/{v}]/infer      inference (oip_request.h)
//   POST /v2/repository/index                        served models and state
// The model name is the manifest's name, the version ServedModel::version.
// Errors are {"error": "..."} with the status of http/status_mapping.h (404
// for an unknown model or version, 503 + Retry-After when the queue is full).
// The routes are rows of the one route table (route_table.cc); infer runs on
// PredictCore, without the prediction cache and without a fallback: the
// caller names the model (and maybe the version), so only that model may
// answer, and every answer is computed (/status's cache counters stay those
// of /classify). Thread-safe; the callbacks must be too.
#ifndef SPATIAL_SERVING_OIP_H_
#define SPATIAL_SERVING_OIP_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/serving/http/http_server.h"
#include "src/serving/metrics.h"
#include "src/serving/oip_request.h"
#include "src/serving/predict_core.h"
#include "src/serving/route_table.h"
#include "src/serving/served_model.h"

namespace spatial::serving {

class OipApi {
 public:
  // A snapshot of the models served now (called once per request).
  using ModelsFn = std::function<std::vector<std::shared_ptr<ServedModel>>()>;
  // Whether the served models are loaded and warmed.
  using ReadyFn = std::function<bool()>;
  struct Options {
    std::string server_version;
    OipLimits limits;
    Metrics* metrics = nullptr;  // not owned; null: predictions not counted
  };

  OipApi(ModelsFn models, ReadyFn ready, Options options);

  // Answers the OIP paths above (consuming `respond`) and returns true;
  // returns false, leaving `respond` alone, for any other path. (The server
  // dispatches over the whole table instead; no access checks here.)
  bool Handle(const http::HttpRequest& req, http::Responder& respond) const;

  // The metrics label of an OIP path ("/v2/models/infer", never the model
  // name, so that the label set stays fixed); "" for other paths.
  static std::string EndpointLabel(const std::string& path);

 private:
  friend class RouteTable;  // the handlers below are its rows'
  void ServerMetadata(const RouteCall& call, http::Responder respond) const;
  // The model repository extension's index: [{name, version, state,
  // reason}] of the models served now.
  void RepositoryIndex(const RouteCall& call, http::Responder respond) const;
  void Live(const RouteCall& call, http::Responder respond) const;
  void Ready(const RouteCall& call, http::Responder respond) const;
  void ModelMetadata(const RouteCall& call, http::Responder respond) const;
  void ModelReady(const RouteCall& call, http::Responder respond) const;
  void Infer(const RouteCall& call, http::Responder respond) const;

  const ModelsFn models_;
  const ReadyFn ready_;
  const Options options_;
  const PredictCore core_;  // no cache, no fallback (see above)
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_OIP_H_
