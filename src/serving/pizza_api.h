// PizzaApi: the request handlers of pizza-api-spatial (the original API's
// endpoints, and the Open Inference Protocol v2 routes through OipApi) over the
// served models. Decoding and preprocessing run on the calling I/O thread;
// inference runs on each model's Batcher. Thread-safe.
#ifndef SPATIAL_SERVING_PIZZA_API_H_
#define SPATIAL_SERVING_PIZZA_API_H_

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "src/serving/http/http_server.h"
#include "src/serving/live_accuracy.h"
#include "src/serving/management_api.h"
#include "src/serving/metrics.h"
#include "src/serving/model_manager.h"
#include "src/serving/oip.h"
#include "src/serving/prediction_cache.h"
#include "src/serving/served_model.h"

namespace spatial::serving {

class PizzaApi : public http::RequestHandler {
 public:
  struct Options {
    std::string environment = "development";
    double ab_split =
        0.5;            // share of requests without a group sent to A (spatial)
    uint64_t seed = 0;  // for the A/B draw; 0 = random
    Metrics* metrics =
        nullptr;  // not owned, outlives the api; null: /metrics is empty
    ManagementApi* management = nullptr;  // not owned; null: no /api/v1
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

  void Handle(http::HttpRequest request, http::Responder respond) override;
  // Routes one request (Handle() adds the request metrics around it).
  void Route(http::HttpRequest request, http::Responder respond);

  // Counters by A/B group, for /ab-test/status.
  struct GroupStats {
    std::atomic<uint64_t> requests{0}, errors{0};
    std::atomic<uint64_t> latency_us_total{0};
  };

 private:
  // `caller`: the token's hash when the request carried one that was
  // checked ("" otherwise); a visualization is kept for it alone.
  void Classify(const http::HttpRequest& req, const std::string& forced_model,
                const std::string& caller, http::Responder respond);
  void Compare(const http::HttpRequest& req, http::Responder respond);
  struct ClassifyCall;
  // Runs the call on `model`; when the spatial model fails at inference and
  // the call allows it, runs it again on `fallback` (flagged and counted).
  void RunClassify(std::shared_ptr<ClassifyCall> call,
                   std::shared_ptr<ServedModel> model,
                   std::shared_ptr<ServedModel> fallback);
  void CountFallback();
  // The 200 answer of a classification, computed (`features` from the
  // preprocessing) or from the cache.
  void RespondPrediction(const ClassifyCall& call, const ServedModel& model,
                         const inference::Prediction& pred,
                         const vision::SpatialFeatures* features,
                         const std::string& viz_url, bool cached);
  http::HttpResponse Status() const;
  http::HttpResponse AbStatus() const;
  http::HttpResponse Visualization(const std::string& path,
                                   const std::string& caller) const;
  // The new visualization's URL ("" when it could not be encoded).
  std::string StoreVisualization(const inference::PreparedInput& input,
                                 const std::string& owner);
  // Drops the live windows of versions no longer served (bounded metrics).
  void RetainServedLiveWindows() const;

  const Options options_;
  const std::function<std::shared_ptr<const ModelSet>()> models_;
  const std::function<bool()> ready_;
  const OipApi oip_;                        // the /v2 routes
  std::unique_ptr<LiveAccuracy> own_live_;  // when options_.live is null
  LiveAccuracy* const live_;
  const std::chrono::steady_clock::time_point started_ =
      std::chrono::steady_clock::now();
  std::atomic<uint64_t> requests_{0}, fallbacks_{0};
  GroupStats group_a_, group_b_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
  struct StoredVisualization {
    std::string depth_png, normals_png;
    std::string owner;  // sha256 of the token that made it; "" for none
  };
  // By id (128 random bits, hex: unguessable); the newest 256.
  std::map<std::string, StoredVisualization> visualizations_;  // guarded by mu_
  std::deque<std::string> visualization_order_;                // guarded by mu_
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_PIZZA_API_H_
