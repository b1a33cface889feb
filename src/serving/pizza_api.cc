// PizzaApi's handlers (pizza_api.h): each parses its request and formats its
// answer; the route table (route_table.cc) says which runs for what, and who
// may call it; inference is PredictCore's. Thread-safe.
#include "src/serving/pizza_api.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "src/serving/classify_form.h"
#include "src/serving/feedback_api.h"
#include "src/serving/responses.h"

namespace spatial::serving {
namespace {

using Json = nlohmann::json;
using http::HttpRequest;
using http::HttpResponse;
using Clock = std::chrono::steady_clock;

Json ProbabilitiesJson(const inference::Manifest& m,
                       const inference::Prediction& p) {
  Json j = Json::object();
  for (size_t i = 0; i < m.classes.size(); ++i)
    j[m.classes[i]] = p.probabilities[i];
  return j;
}

Json FeaturesJson(const vision::SpatialFeatures& f) {
  return {{"depth_mean", f.depth_mean},
          {"depth_std", f.depth_std},
          {"depth_p10", f.depth_p10},
          {"depth_p50", f.depth_p50},
          {"depth_p90", f.depth_p90},
          {"raised_fraction", f.raised_fraction},
          {"recessed_fraction", f.recessed_fraction},
          {"normal_z_mean", f.normal_z_mean},
          {"mean_tilt_degrees", f.mean_tilt_degrees},
          {"surface_roughness", f.surface_roughness}};
}

// The checked token's sha256; "" when the route checked none.
std::string Caller(const RouteCall& call) {
  return call.token ? call.token->sha256 : "";
}

}  // namespace

PizzaApi::PizzaApi(Options options,
                   std::function<std::shared_ptr<const ModelSet>()> models,
                   std::function<bool()> ready)
    : options_(options),
      models_(std::move(models)),
      ready_(std::move(ready)),
      oip_([this] { return models_()->all(); }, [this] { return ready_(); },
           {.server_version = SPATIAL_VERSION, .metrics = options.metrics}),
      own_live_(options.live
                    ? nullptr
                    : std::make_unique<LiveAccuracy>(LiveAccuracy::Options{})),
      live_(options.live ? options.live : own_live_.get()),
      core_({.cache = options.cache, .metrics = options.metrics}),
      visualizations_(/*owner_only=*/options.require_token),
      rng_(options.seed ? options.seed : std::random_device{}()) {}

void PizzaApi::Handle(HttpRequest req, http::Responder respond) {
  ++requests_;
  if (options_.metrics) {
    respond = [this, label = RouteTable::Label(req.path),
               respond = std::move(respond),
               started = Clock::now()](HttpResponse r) {
      options_.metrics->RecordRequest(
          label, r.status,
          std::chrono::duration<double>(Clock::now() - started).count());
      respond(std::move(r));
    };
  }
  RouteTable::Dispatch({.pizza = this,
                        .oip = &oip_,
                        .management = options_.management,
                        .console = options_.console},
                       {.tokens = options_.tokens,
                        .require_token = options_.require_token,
                        .feedback_needs_token = options_.feedback_needs_token},
                       req, respond, /*not_found_is_404=*/true);
}

void PizzaApi::Index(const RouteCall&, http::Responder respond) {
  respond(JsonResponse(200, {{"service", "pizza-api-spatial"},
                             {"environment", options_.environment},
                             {"endpoints", RouteTable::Listed()}}));
}

void PizzaApi::Health(const RouteCall&, http::Responder respond) {
  Json models = Json::object();
  auto set = models_();
  if (set->spatial) models["spatial"] = set->spatial->version;
  if (set->standard) models["standard"] = set->standard->version;
  Json body = {{"status", ready_() ? "healthy" : "loading"},
               {"models", models},
               {"environment", options_.environment},
               {"timestamp", Now()}};
  if (!options_.instance.empty()) body["instance"] = options_.instance;
  respond(JsonResponse(200, body));
}

void PizzaApi::MetricsText(const RouteCall&, http::Responder respond) {
  std::map<std::string, size_t> depths;
  for (const auto& m : models_()->all())
    depths[m->manifest().model_type] = m->batcher->queue_depth();
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  std::optional<PredictionCacheStats> cache;
  if (options_.cache) cache = options_.cache->Stats();
  r.body = options_.metrics
               ? options_.metrics->Render(depths, cache ? &*cache : nullptr)
               : "";
  RetainServedLiveWindows();
  r.body += live_->RenderMetrics();
  respond(r);
}

void PizzaApi::RetainServedLiveWindows() const {
  std::set<std::string> served;
  for (const auto& m : models_()->all()) served.insert(m->version);
  live_->Retain(served);
}

void PizzaApi::ServerStatus(const RouteCall&, http::Responder respond) {
  RetainServedLiveWindows();
  Json models = Json::object();
  auto set = models_();
  for (const auto& [name, m] : {std::pair{"spatial", set->spatial},
                                std::pair{"standard", set->standard}}) {
    if (!m) continue;
    models[name] = {{"version", m->version},
                    {"bundle", m->bundle_dir},
                    {"model_type", m->manifest().model_type},
                    {"architecture", m->manifest().architecture},
                    {"metrics", m->manifest().metrics},
                    {"queue_depth", m->batcher->queue_depth()},
                    {"live", live_->StatusJson(m->version)}};
  }
  double uptime =
      std::chrono::duration<double>(Clock::now() - started_).count();
  Json cache = nullptr;
  if (options_.cache) {
    PredictionCacheStats c = options_.cache->Stats();
    cache = {{"enabled", options_.cache->enabled()},
             {"capacity_bytes", c.capacity_bytes},
             {"bytes", c.bytes},
             {"entries", c.entries},
             {"hits", c.hits},
             {"misses", c.misses},
             {"evictions", c.evictions},
             {"invalidations", c.invalidations}};
  }
  respond(JsonResponse(200, {{"service", "pizza-api-spatial"},
                             {"environment", options_.environment},
                             {"uptime_seconds", uptime},
                             {"requests", requests_.load()},
                             {"fallbacks", core_.fallbacks()},
                             {"models", models},
                             {"prediction_cache", cache},
                             {"timestamp", Now()}}));
}

void PizzaApi::AbTestStatus(const RouteCall&, http::Responder respond) {
  auto group = [](const GroupStats& g, const char* model) {
    uint64_t n = g.requests.load(), e = g.errors.load();
    uint64_t ok = n - std::min(n, e);
    return Json{{"model", model},
                {"requests", n},
                {"errors", e},
                {"error_rate",
                 n ? static_cast<double>(e) / static_cast<double>(n) : 0.0},
                {"mean_latency_seconds",
                 ok ? static_cast<double>(g.latency_us_total.load()) / 1e6 /
                          static_cast<double>(ok)
                    : 0.0}};
  };
  // Without an A/B test every request without a group goes to A (or to
  // the only model loaded); "enabled" says which.
  const double a = options_.ab_split.value_or(1.0);
  respond(JsonResponse(200, {{"enabled", options_.ab_split.has_value()},
                             {"split", {{"A", a}, {"B", 1 - a}}},
                             {"groups",
                              {{"A", group(group_a_, "spatial-mllm")},
                               {"B", group(group_b_, "standard-cnn")}}},
                             {"timestamp", Now()}}));
}

void PizzaApi::Feedback(const RouteCall& call, http::Responder respond) {
  // The table checked the labeler's token where feedback needs one.
  respond(
      RecordFeedback(*live_, call.token ? call.token->name : "", call.request));
}

void PizzaApi::Visualization(const RouteCall& call, http::Responder respond) {
  respond(visualizations_.Get(call.request.path, Caller(call)));
}

void PizzaApi::Classify(const RouteCall& call, http::Responder respond) {
  ClassifyOn(call, "", std::move(respond));
}
void PizzaApi::PredictSpatial(const RouteCall& call, http::Responder respond) {
  ClassifyOn(call, "spatial", std::move(respond));
}
void PizzaApi::PredictStandard(const RouteCall& call, http::Responder respond) {
  ClassifyOn(call, "standard", std::move(respond));
}

// One classify request on its way through PredictCore.
struct PizzaApi::ClassifyCall {
  ClassifyOptions options;
  GroupStats* stats = nullptr;       // of its A/B group, if it has one
  std::atomic<bool> counted{false};  // decoded: counts as a group request
  std::string caller;  // the token's sha256, owner of a visualization
  Clock::time_point started;
  http::Responder respond;
};

void PizzaApi::ClassifyOn(const RouteCall& rc, const std::string& forced,
                          http::Responder respond) {
  const auto started = Clock::now();
  auto form = ParseClassifyForm(rc.request);
  if (!form.ok()) return respond(Error(form.status()));
  auto options = ParseClassifyOptions(*form, !forced.empty());
  if (!options.ok()) return respond(Error(options.status()));
  // Which model: the endpoint, then ab_test_group, then use_spatial, then the
  // split (or, without an A/B test, what is served).
  auto models = models_();
  bool use_spatial = true;
  if (!forced.empty()) {
    use_spatial = forced == "spatial";
  } else if (!options->group.empty()) {
    use_spatial = options->group == "A";
  } else if (options->use_spatial) {
    use_spatial = *options->use_spatial;
  } else if (!options_.ab_split) {
    // No A/B test: the spatial model, or the standard one when it is the
    // only one served (not a fallback: nothing else was asked for).
    use_spatial = models->spatial || !models->standard;
  } else {
    std::lock_guard<std::mutex> lock(mu_);
    const bool a =
        std::uniform_real_distribution<double>(0, 1)(rng_) < *options_.ab_split;
    options->group.assign(1, a ? 'A' : 'B');  // (assigning "A"/"B" trips
                                              // GCC 12's -Wrestrict)
    use_spatial = a;
  }
  auto call = std::make_shared<ClassifyCall>();
  call->options = std::move(*options);
  const std::string& group = call->options.group;
  call->stats = group == "A" ? &group_a_ : group == "B" ? &group_b_ : nullptr;
  call->caller = Caller(rc);
  call->started = started;
  call->respond = std::move(respond);

  std::shared_ptr<ServedModel> model =
      use_spatial ? models->spatial : models->standard;
  PredictOptions po;
  if (!model) {
    if (!forced.empty() || (!models->spatial && !models->standard)) {
      if (call->stats) {
        ++call->stats->requests;
        ++call->stats->errors;
      }
      return call->respond(Error(absl::UnavailableError(
          forced.empty()
              ? std::string("no model is loaded yet; retry shortly")
              : absl::StrCat("the ", forced,
                             " model is not loaded on this server"))));
    }
    // The asked-for model is not loaded: serve the other one and say so.
    model = use_spatial ? models->standard : models->spatial;
    po.fallback_reason = absl::StrCat(
        "the ", use_spatial ? "spatial" : "standard", " model is not loaded");
  }
  // Visualizations are not cached, so they always compute.
  po.use_cache = call->options.want_cache && !call->options.want_visualization;
  po.keep_inputs = call->options.want_visualization;
  // A failing spatial model falls back to the standard one, unless the
  // caller asked for the spatial model by its endpoint.
  if (forced.empty() && model == models->spatial)
    po.fallback = models->standard;
  po.started = [call] {
    call->counted = true;
    if (call->stats) ++call->stats->requests;
  };
  core_.Predict(
      model, {{.image = std::move(form->image)}}, std::move(po),
      [this, call](absl::StatusOr<PredictOutcome> out) {
        if (!out.ok()) {
          if (call->counted && call->stats) ++call->stats->errors;
          return call->respond(Error(out.status()));
        }
        std::string viz_url;
        if (call->options.want_visualization &&
            out->model->manifest.has_spatial() && !out->inputs.empty()) {
          viz_url = visualizations_.Store(*out->inputs[0], call->caller);
        }
        RespondPrediction(*call, *out, viz_url);
      });
}

void PizzaApi::RespondPrediction(const ClassifyCall& call,
                                 const PredictOutcome& out,
                                 const std::string& viz_url) {
  const std::string& version = out.model->version;
  const inference::Manifest& m = out.model->manifest;
  const inference::Prediction& pred = out.predictions[0];
  const std::optional<vision::SpatialFeatures>& features = out.features[0];
  if (options_.metrics)
    options_.metrics->RecordPrediction(m.model_type, m.classes[pred.label]);
  double seconds =
      std::chrono::duration<double>(Clock::now() - call.started).count();
  if (call.stats)
    call.stats->latency_us_total += static_cast<uint64_t>(seconds * 1e6);
  const std::string& group = call.options.group;
  const bool fell_back = !out.fallback_reason.empty();
  // Every answer, computed or cached, can be judged by POST /feedback.
  const std::string prediction_id = live_->Record(version, m, pred.label);
  Json j = {
      {"prediction_id", prediction_id},
      {"predicted_class", m.classes[pred.label]},
      {"confidence", pred.confidence},
      {"probabilities", call.options.want_probabilities
                            ? ProbabilitiesJson(m, pred)
                            : Json(nullptr)},
      {"model_used", m.model_type},
      {"model_version", version},
      {"inference_time", seconds},
      {"spatial_features", features ? FeaturesJson(*features) : Json(nullptr)},
      {"visualization_url", viz_url.empty() ? Json(nullptr) : Json(viz_url)},
      {"ab_test_group", group.empty() ? Json(nullptr) : Json(group)},
      {"fallback", fell_back},
      {"fallback_reason",
       fell_back ? Json(out.fallback_reason) : Json(nullptr)},
      {"cached", out.cached},
      {"timestamp", Now()}};
  http::HttpResponse response = JsonResponse(200, j);
  // For load generators, which count cached answers without parsing bodies.
  response.headers.emplace_back(kPredictionCacheHeader,
                                out.cached ? "hit" : "miss");
  call.respond(std::move(response));
}

// Both models on the same image. Not cached and without a fallback: the
// point is to see what each model says.
void PizzaApi::Compare(const RouteCall& rc, http::Responder respond) {
  auto models = models_();
  if (!models->spatial || !models->standard) {
    return respond(
        Error(absl::UnavailableError("comparison needs both models loaded")));
  }
  auto form = ParseClassifyForm(rc.request);
  if (!form.ok()) return respond(Error(form.status()));
  struct Both {
    std::mutex mu;
    Json results = Json::object();
    int pending = 2;
    absl::Status error;
  };
  auto both = std::make_shared<Both>();
  const auto started = Clock::now();
  for (const auto& model : {models->spatial, models->standard}) {
    core_.Predict(
        model, {{.image = form->image}}, {},
        [both, started, respond](absl::StatusOr<PredictOutcome> out) {
          std::lock_guard<std::mutex> lock(both->mu);
          if (!out.ok()) {
            if (both->error.ok()) both->error = out.status();
          } else {
            const inference::Manifest& m = out->model->manifest;
            const auto& pred = out->predictions[0];
            both->results[m.model_type] = {
                {"predicted_class", m.classes[pred.label]},
                {"confidence", pred.confidence},
                {"probabilities", ProbabilitiesJson(m, pred)},
                {"model_version", out->model->version}};
          }
          if (--both->pending > 0) return;
          if (!both->error.ok()) return respond(Error(both->error));
          Json& r = both->results;
          r["agreement"] = r["spatial-mllm"]["predicted_class"] ==
                           r["standard-cnn"]["predicted_class"];
          r["inference_time"] =
              std::chrono::duration<double>(Clock::now() - started).count();
          r["timestamp"] = Now();
          respond(JsonResponse(200, r));
        });
  }
}

}  // namespace spatial::serving
