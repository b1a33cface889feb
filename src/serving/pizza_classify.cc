// PizzaApi's inference handlers: /classify (and /predict/*) and
// /ab-test/compare.
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgproc.hpp"
#include "src/base/sha256.h"
#include "src/base/text.h"
#include "src/serving/http/status_mapping.h"
#include "src/serving/multipart.h"
#include "src/serving/pizza_api.h"
#include "src/serving/responses.h"
#include "src/vision/codec.h"
#include "src/vision/decode.h"

namespace spatial::serving {
namespace {

using Json = nlohmann::json;
using http::HttpRequest;
using http::HttpResponse;
using Clock = std::chrono::steady_clock;

absl::StatusOr<bool> ParseBool(absl::string_view field, absl::string_view v) {
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(v));
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("form field '", field, "' must be true or false, got '",
                   v.substr(0, 40), "'"));
}

// The upload and the form fields of a classify request.
struct ClassifyForm {
  std::string image;  // bytes of field 'file'
  std::map<std::string, std::string> fields;
};

absl::StatusOr<ClassifyForm> ParseForm(const HttpRequest& req) {
  auto boundary = MultipartBoundary(req.Header("content-type"));
  if (!boundary.ok()) return boundary.status();
  auto parts = ParseMultipart(req.body, *boundary);
  if (!parts.ok()) return parts.status();
  ClassifyForm form;
  bool has_file = false;
  for (const auto& p : *parts) {
    if (p.name == "file") {
      static const char* kTypes[] = {"image/jpeg",
                                     "image/jpg",
                                     "image/png",
                                     "image/webp",
                                     "application/octet-stream",
                                     ""};
      bool allowed = false;
      for (const char* t : kTypes) allowed |= p.content_type == t;
      if (!allowed) {
        return absl::InvalidArgumentError(
            absl::StrCat("field 'file' has content type '", p.content_type,
                         "'; send image/jpeg, image/png or image/webp"));
      }
      form.image = std::string(p.body);
      has_file = true;
    } else {
      form.fields[p.name] = std::string(p.body.substr(0, 256));
    }
  }
  if (!has_file) {
    return absl::InvalidArgumentError(
        "no image: send it as multipart/form-data field 'file'");
  }
  return form;
}

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

}  // namespace

// One /classify request on its way through a model (and maybe a fallback).
struct PizzaApi::ClassifyCall {
  cv::Mat image;
  std::string group;  // "A", "B" or "" (the model was chosen otherwise)
  GroupStats* stats = nullptr;
  bool want_probabilities = true, want_visualization = false;
  std::string fallback_reason;  // non-empty: served by the other model
  std::string image_sha256;     // non-empty: the result goes to the cache
  std::string caller;           // the token's sha256, owner of a visualization
  Clock::time_point started;
  http::Responder respond;
};

void PizzaApi::Classify(const HttpRequest& req, const std::string& forced,
                        const std::string& caller, http::Responder respond) {
  const auto started = Clock::now();
  auto form = ParseForm(req);
  if (!form.ok()) return respond(Error(form.status()));
  // Which model: the endpoint, then ab_test_group, then use_spatial, then the
  // split.
  std::string group;
  bool use_spatial = true;
  if (!forced.empty()) {
    use_spatial = forced == "spatial";
  } else if (auto g = form->fields.find("ab_test_group");
             g != form->fields.end()) {
    group = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(g->second));
    if (group != "A" && group != "B") {
      return respond(Error(absl::InvalidArgumentError(absl::StrCat(
          "ab_test_group must be A (spatial) or B (standard), got '",
          g->second.substr(0, 20), "'"))));
    }
    use_spatial = group == "A";
  } else if (auto u = form->fields.find("use_spatial");
             u != form->fields.end()) {
    auto v = ParseBool("use_spatial", u->second);
    if (!v.ok()) return respond(Error(v.status()));
    use_spatial = *v;
  } else {
    std::lock_guard<std::mutex> lock(mu_);
    const bool a =
        std::uniform_real_distribution<double>(0, 1)(rng_) < options_.ab_split;
    group.assign(1, a ? 'A' : 'B');  // (assigning "A"/"B" trips GCC 12's
                                     // -Wrestrict false positive)
    use_spatial = group == "A";
  }
  bool want_probabilities = true, want_visualization = false;
  if (auto f = form->fields.find("return_probabilities");
      f != form->fields.end()) {
    auto v = ParseBool("return_probabilities", f->second);
    if (!v.ok()) return respond(Error(v.status()));
    want_probabilities = *v;
  }
  if (auto f = form->fields.find("enable_visualization");
      f != form->fields.end()) {
    auto v = ParseBool("enable_visualization", f->second);
    if (!v.ok()) return respond(Error(v.status()));
    want_visualization = *v;
  }
  bool want_cache = true;
  if (auto f = form->fields.find("cache"); f != form->fields.end()) {
    auto v = ParseBool("cache", f->second);
    if (!v.ok()) return respond(Error(v.status()));
    want_cache = *v;
  }

  auto models = models_();
  auto call = std::make_shared<ClassifyCall>();
  call->group = group;
  call->stats = group == "A" ? &group_a_ : group == "B" ? &group_b_ : nullptr;
  call->want_probabilities = want_probabilities;
  call->want_visualization = want_visualization;
  call->caller = caller;
  call->started = started;
  call->respond = std::move(respond);
  std::shared_ptr<ServedModel> model =
      use_spatial ? models->spatial : models->standard;
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
    call->fallback_reason = absl::StrCat(
        "the ", use_spatial ? "spatial" : "standard", " model is not loaded");
  }
  // The cache, before any decoding: a hit skips decode, preprocessing and
  // inference. Visualizations are not cached, so they always compute.
  if (options_.cache && options_.cache->enabled() && want_cache &&
      !want_visualization) {
    call->image_sha256 = base::Sha256Hex(form->image);
    if (auto hit =
            options_.cache->Lookup(call->image_sha256, CacheModelOf(*model))) {
      if (call->stats) ++call->stats->requests;
      if (!call->fallback_reason.empty()) CountFallback();
      return RespondPrediction(*call, *model, hit->prediction,
                               hit->features ? &*hit->features : nullptr, "",
                               /*cached=*/true);
    }
  }
  auto image = vision::DecodeImage(form->image);
  if (!image.ok()) return call->respond(Error(image.status()));
  call->image = std::move(*image);
  if (call->stats) ++call->stats->requests;
  if (!call->fallback_reason.empty()) CountFallback();
  // A failing spatial model falls back to the standard one, unless the
  // caller asked for the spatial model by its endpoint.
  RunClassify(
      call, model,
      forced.empty() && model == models->spatial ? models->standard : nullptr);
}

void PizzaApi::CountFallback() {
  ++fallbacks_;
  if (options_.metrics) options_.metrics->RecordFallback();
}

void PizzaApi::RunClassify(std::shared_ptr<ClassifyCall> call,
                           std::shared_ptr<ServedModel> model,
                           std::shared_ptr<ServedModel> fallback) {
  auto input = std::make_shared<inference::PreparedInput>(
      inference::PrepareInput(model->manifest(), call->image));
  std::string viz_url;
  if (call->want_visualization && model->manifest().has_spatial()) {
    viz_url = StoreVisualization(*input, call->caller);
  }
  auto finish = [this, call, model, fallback, input,
                 viz_url](absl::StatusOr<inference::Prediction> pred) {
    if (!pred.ok() && fallback &&
        pred.status().code() == absl::StatusCode::kInternal) {
      call->fallback_reason =
          absl::StrCat("the spatial model failed: ", pred.status().message());
      CountFallback();
      return RunClassify(call, fallback, nullptr);
    }
    if (!pred.ok()) {
      if (call->stats) ++call->stats->errors;
      return call->respond(Error(pred.status()));
    }
    const auto& m = model->manifest();
    // Stored under the model that produced it (after a fallback, the
    // standard one; never the model that failed).
    if (!call->image_sha256.empty() && options_.cache) {
      options_.cache->Insert(
          call->image_sha256, CacheModelOf(*model),
          {*pred,
           m.has_spatial() ? std::optional(input->features) : std::nullopt});
    }
    RespondPrediction(*call, *model, *pred,
                      m.has_spatial() ? &input->features : nullptr, viz_url,
                      /*cached=*/false);
  };
  absl::Status queued = model->batcher->Submit(input, finish);
  if (!queued.ok()) {
    if (call->stats) ++call->stats->errors;
    call->respond(Error(queued));
  }
}

void PizzaApi::RespondPrediction(const ClassifyCall& call,
                                 const ServedModel& model,
                                 const inference::Prediction& pred,
                                 const vision::SpatialFeatures* features,
                                 const std::string& viz_url, bool cached) {
  const auto& m = model.manifest();
  if (options_.metrics)
    options_.metrics->RecordPrediction(m.model_type, m.classes[pred.label]);
  double seconds =
      std::chrono::duration<double>(Clock::now() - call.started).count();
  if (call.stats)
    call.stats->latency_us_total += static_cast<uint64_t>(seconds * 1e6);
  const bool fell_back = !call.fallback_reason.empty();
  // Every answer, computed or cached, can be judged by POST /feedback.
  const std::string prediction_id = live_->Record(model.version, m, pred.label);
  Json j = {
      {"prediction_id", prediction_id},
      {"predicted_class", m.classes[pred.label]},
      {"confidence", pred.confidence},
      {"probabilities",
       call.want_probabilities ? ProbabilitiesJson(m, pred) : Json(nullptr)},
      {"model_used", m.model_type},
      {"model_version", model.version},
      {"inference_time", seconds},
      {"spatial_features", features ? FeaturesJson(*features) : Json(nullptr)},
      {"visualization_url", viz_url.empty() ? Json(nullptr) : Json(viz_url)},
      {"ab_test_group", call.group.empty() ? Json(nullptr) : Json(call.group)},
      {"fallback", fell_back},
      {"fallback_reason",
       fell_back ? Json(call.fallback_reason) : Json(nullptr)},
      {"cached", cached},
      {"timestamp", Now()}};
  call.respond(JsonResponse(200, j));
}

void PizzaApi::Compare(const HttpRequest& req, http::Responder respond) {
  auto models = models_();
  if (!models->spatial || !models->standard) {
    return respond(
        Error(absl::UnavailableError("comparison needs both models loaded")));
  }
  auto form = ParseForm(req);
  if (!form.ok()) return respond(Error(form.status()));
  auto image = vision::DecodeImage(form->image);
  if (!image.ok()) return respond(Error(image.status()));
  struct Both {
    std::mutex mu;
    Json results = Json::object();
    int pending = 2;
    absl::Status error;
  };
  auto both = std::make_shared<Both>();
  const auto started = Clock::now();
  for (const auto& model : {models->spatial, models->standard}) {
    auto input = std::make_shared<inference::PreparedInput>(
        inference::PrepareInput(model->manifest(), *image));
    auto done = [both, model, started,
                 respond](absl::StatusOr<inference::Prediction> pred) {
      std::lock_guard<std::mutex> lock(both->mu);
      const auto& m = model->manifest();
      if (!pred.ok()) {
        both->error = pred.status();
      } else {
        both->results[m.model_type] = {
            {"predicted_class", m.classes[pred->label]},
            {"confidence", pred->confidence},
            {"probabilities", ProbabilitiesJson(m, *pred)},
            {"model_version", model->version}};
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
    };
    if (absl::Status s = model->batcher->Submit(input, done); !s.ok()) {
      done(s);
    }
  }
}

}  // namespace spatial::serving
