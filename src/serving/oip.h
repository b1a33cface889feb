// OipApi: the Open Inference Protocol v2 REST endpoints of pizza-api-spatial
// over the models served at the moment of each request:
//   GET  /v2                                         server metadata
//   GET  /v2/health/live, /v2/health/ready           200, or 400 when not ready
//   GET  /v2/models/{name}[/versions/{v}]            model metadata
//   GET  /v2/models/{name}[/versions/{v}]/ready      200, or 400 when not ready
//   POST /v2/models/{name}[/versions/{v}]/infer      inference (oip_request.h)
// The model name is the manifest's name, the version ServedModel::version.
// Errors are {"error": "..."} with the status of http/status_mapping.h (404
// for an unknown model or version, 503 + Retry-After when the queue is full).
// Thread-safe; the callbacks must be too.
#ifndef SPATIAL_SERVING_OIP_H_
#define SPATIAL_SERVING_OIP_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/serving/http/http_server.h"
#include "src/serving/metrics.h"
#include "src/serving/oip_request.h"
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
  // returns false, leaving `respond` alone, for any other path.
  bool Handle(const http::HttpRequest& req, http::Responder& respond) const;

  // The metrics label of an OIP path ("/v2/models/infer", never the model
  // name, so that the label set stays fixed); "" for other paths.
  static std::string EndpointLabel(const std::string& path);

 private:
  void Infer(const http::HttpRequest& req, std::shared_ptr<ServedModel> model,
             http::Responder respond) const;

  const ModelsFn models_;
  const ReadyFn ready_;
  const Options options_;
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_OIP_H_
