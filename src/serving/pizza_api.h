// PizzaApi: the RequestHandler of pizza-api-spatial. Handle() counts and
// labels each request and dispatches it over the one route table
// (route_table.cc: every endpoint's method, path, access and metrics label ->
// handler), which holds this class's handlers for the original API's
// endpoints, OipApi's for /v2 and ManagementApi's for /api/v1. The handlers
// here parse their request and format their answer; inference runs on
// PredictCore (decode and preprocessing on the calling I/O thread, inference
// on each model's Batcher). Also owns the A/B draw and its counters.
// Thread-safe.
#ifndef SPATIAL_SERVING_PIZZA_API_H_
#define SPATIAL_SERVING_PIZZA_API_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "src/serving/http/http_server.h"
#include "src/serving/live_accuracy.h"
#include "src/serving/management_api.h"
#include "src/serving/metrics.h"
#include "src/serving/model_manager.h"
#include "src/serving/oip.h"
#include "src/serving/predict_core.h"
#include "src/serving/prediction_cache.h"
#include "src/serving/route_table.h"
#include "src/serving/served_model.h"
#include "src/serving/visualization_store.h"

namespace spatial::serving {

class PizzaApi : public http::RequestHandler {
 public:
  struct Options {
    std::string environment = "development";
    // Which server this is, in /health's "instance" (the pod name and pid:
    // a deployment through a Service tells its replicas apart by it);
    // empty (the default): not reported.
    std::string instance;
    // Share of /classify requests without ab_test_group or use_spatial drawn
    // into group A (spatial), the rest B (standard). None (the default): no
    // A/B test; such requests go to the spatial model, or to the standard
    // one when only it is loaded, with no group.
    std::optional<double> ab_split;
    uint64_t seed = 0;  // for the A/B draw; 0 = random
    Metrics* metrics =
        nullptr;  // not owned, outlives the api; null: /metrics is empty
    ManagementApi* management = nullptr;  // not owned; null: no /api/v1
    ConsoleApi* console = nullptr;        // not owned; null: no /console
    const TokenTable* tokens = nullptr;   // not owned; for require_token
    // Inference, /status and /visualizations need a viewer token; a
    // visualization answers only the token whose request made it.
    bool require_token = false;
    // POST /feedback needs a labeler token (FeedbackNeedsToken).
    bool feedback_needs_token = false;
    PredictionCache* cache = nullptr;  // not owned; null: no cache
    // Prediction ids, /feedback and the live accuracy windows; not owned.
    // Null: the api keeps its own with the default options.
    LiveAccuracy* live = nullptr;
  };
  // `models` returns what is served now (each request takes one snapshot and
  // finishes on it, so a swap never changes a model under a request);
  // `ready` says whether models are loaded and warmed.
  PizzaApi(Options options,
           std::function<std::shared_ptr<const ModelSet>()> models,
           std::function<bool()> ready);

  // Answers through the route table; with Options::metrics, counts the
  // request under its route's label.
  void Handle(http::HttpRequest request, http::Responder respond) override;

  // Counters by A/B group, for /ab-test/status.
  struct GroupStats {
    std::atomic<uint64_t> requests{0}, errors{0};
    std::atomic<uint64_t> latency_us_total{0};
  };

 private:
  friend class RouteTable;  // the handlers below are its rows'
  void Index(const RouteCall& call, http::Responder respond);
  void Health(const RouteCall& call, http::Responder respond);
  void ServerStatus(const RouteCall& call, http::Responder respond);
  void MetricsText(const RouteCall& call, http::Responder respond);
  void AbTestStatus(const RouteCall& call, http::Responder respond);
  void Classify(const RouteCall& call, http::Responder respond);
  void PredictSpatial(const RouteCall& call, http::Responder respond);
  void PredictStandard(const RouteCall& call, http::Responder respond);
  void Compare(const RouteCall& call, http::Responder respond);
  void Feedback(const RouteCall& call, http::Responder respond);
  void Visualization(const RouteCall& call, http::Responder respond);

  // /classify with the model the endpoint forces ("spatial", "standard" or
  // "" for the request's choice).
  void ClassifyOn(const RouteCall& call, const std::string& forced,
                  http::Responder respond);
  struct ClassifyCall;
  // The 200 answer of a classification.
  void RespondPrediction(const ClassifyCall& call, const PredictOutcome& out,
                         const std::string& viz_url);
  // Drops the live windows of versions no longer served (bounded metrics).
  void RetainServedLiveWindows() const;

  const Options options_;
  const std::function<std::shared_ptr<const ModelSet>()> models_;
  const std::function<bool()> ready_;
  const OipApi oip_;                        // the /v2 handlers
  std::unique_ptr<LiveAccuracy> own_live_;  // when options_.live is null
  LiveAccuracy* const live_;
  const PredictCore core_;  // with the cache and the fallbacks' counter
  VisualizationStore visualizations_;
  const std::chrono::steady_clock::time_point started_ =
      std::chrono::steady_clock::now();
  std::atomic<uint64_t> requests_{0};
  GroupStats group_a_, group_b_;
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_PIZZA_API_H_
