#include "src/serving/pizza_api.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgproc.hpp"
#include "src/base/text.h"
#include "src/serving/feedback_api.h"
#include "src/serving/http/status_mapping.h"
#include "src/serving/multipart.h"
#include "src/serving/responses.h"
#include "src/vision/codec.h"
#include "src/vision/decode.h"

namespace spatial::serving {
namespace {

using Json = nlohmann::json;
using http::HttpRequest;
using http::HttpResponse;
using Clock = std::chrono::steady_clock;

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
      rng_(options.seed ? options.seed : std::random_device{}()) {}

void PizzaApi::Handle(HttpRequest req, http::Responder respond) {
  if (options_.metrics == nullptr)
    return Route(std::move(req), std::move(respond));
  // Known endpoints are labels; anything else is "other", so that a scan of
  // random paths cannot grow the metrics without bound.
  static const char* kEndpoints[] = {"/",
                                     "/health",
                                     "/status",
                                     "/classify",
                                     "/predict/spatial",
                                     "/predict/standard",
                                     "/ab-test/compare",
                                     "/ab-test/status",
                                     "/feedback",
                                     "/metrics"};
  std::string endpoint = absl::StartsWith(req.path, "/visualizations/")
                             ? "/visualizations"
                             : "other";
  for (const char* e : kEndpoints) {
    if (req.path == e) endpoint = e;
  }
  if (std::string oip = OipApi::EndpointLabel(req.path); !oip.empty())
    endpoint = oip;
  if (std::string m = ManagementApi::EndpointLabel(req.path); !m.empty())
    endpoint = m;
  Route(std::move(req), [this, endpoint, respond = std::move(respond),
                         started = Clock::now()](HttpResponse r) {
    options_.metrics->RecordRequest(
        endpoint, r.status,
        std::chrono::duration<double>(Clock::now() - started).count());
    respond(std::move(r));
  });
}

void PizzaApi::Route(HttpRequest req, http::Responder respond) {
  ++requests_;
  if (options_.management && options_.management->Handle(req, respond)) return;
  // With --require-token: what runs a model or shows what it saw needs a
  // token (feedback has its own rule, in HandleFeedback).
  std::string caller;  // the checked token's sha256
  if (options_.require_token &&
      ((req.method == "POST" &&
        (req.path == "/classify" || absl::StartsWith(req.path, "/predict/") ||
         req.path == "/ab-test/compare" ||
         (absl::StartsWith(req.path, "/v2/") &&
          absl::EndsWith(req.path, "/infer")))) ||
       req.path == "/status" ||
       absl::StartsWith(req.path, "/visualizations/"))) {
    AuthResult auth = Authorize(options_.tokens, req, Role::kViewer);
    if (!auth.entry) return respond(auth.refusal);
    caller = auth.entry->sha256;
  }
  if (oip_.Handle(req, respond)) return;
  const std::string& path = req.path;
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  auto need = [&](bool ok) {
    if (!ok) {
      respond(Error(absl::UnimplementedError(
          absl::StrCat("method ", req.method, " is not allowed on ", path))));
    }
    return ok;
  };
  if (path == "/") {
    if (!need(get)) return;
    return respond(JsonResponse(
        200, {{"service", "pizza-api-spatial"},
              {"environment", options_.environment},
              {"endpoints",
               {"/health", "/status", "/metrics", "/classify",
                "/predict/spatial", "/predict/standard", "/feedback",
                "/ab-test/compare", "/ab-test/status", "/v2", "/v2/health/live",
                "/v2/health/ready", "/v2/models/{name}",
                "/v2/models/{name}/ready", "/v2/models/{name}/infer"}}}));
  }
  if (path == "/health") {
    if (!need(get)) return;
    Json models = Json::object();
    auto set = models_();
    if (set->spatial) models["spatial"] = set->spatial->version;
    if (set->standard) models["standard"] = set->standard->version;
    return respond(
        JsonResponse(200, {{"status", ready_() ? "healthy" : "loading"},
                           {"models", models},
                           {"environment", options_.environment},
                           {"timestamp", Now()}}));
  }
  if (path == "/status") {
    if (!need(get)) return;
    return respond(Status());
  }
  if (path == "/metrics") {
    if (!need(get)) return;
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
    return respond(r);
  }
  if (path == "/ab-test/status") {
    if (!need(get)) return;
    return respond(AbStatus());
  }
  if (path == "/classify" || path == "/predict/spatial" ||
      path == "/predict/standard") {
    if (!need(post)) return;
    std::string forced = path == "/predict/spatial"    ? "spatial"
                         : path == "/predict/standard" ? "standard"
                                                       : "";
    return Classify(req, forced, caller, std::move(respond));
  }
  if (path == "/feedback") {
    if (!need(post)) return;
    return respond(HandleFeedback(*live_,
                                  {.need_token = options_.feedback_needs_token,
                                   .tokens = options_.tokens},
                                  req));
  }
  if (path == "/ab-test/compare") {
    if (!need(post)) return;
    return Compare(req, std::move(respond));
  }
  if (absl::StartsWith(path, "/visualizations/")) {
    if (!need(get)) return;
    return respond(Visualization(path, caller));
  }
  respond(Error(
      absl::NotFoundError(absl::StrCat("no endpoint ", path.substr(0, 200)))));
}

void PizzaApi::RetainServedLiveWindows() const {
  std::set<std::string> served;
  for (const auto& m : models_()->all()) served.insert(m->version);
  live_->Retain(served);
}

HttpResponse PizzaApi::Status() const {
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
  return JsonResponse(200, {{"service", "pizza-api-spatial"},
                            {"environment", options_.environment},
                            {"uptime_seconds", uptime},
                            {"requests", requests_.load()},
                            {"fallbacks", fallbacks_.load()},
                            {"models", models},
                            {"prediction_cache", cache},
                            {"timestamp", Now()}});
}

HttpResponse PizzaApi::AbStatus() const {
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
  return JsonResponse(
      200, {{"split", {{"A", options_.ab_split}, {"B", 1 - options_.ab_split}}},
            {"groups",
             {{"A", group(group_a_, "spatial-mllm")},
              {"B", group(group_b_, "standard-cnn")}}},
            {"timestamp", Now()}});
}

std::string PizzaApi::StoreVisualization(const inference::PreparedInput& input,
                                         const std::string& owner) {
  cv::Mat depth8, normals8;
  input.maps.depth.convertTo(depth8, CV_8U, 255.0);
  cv::Mat shifted = (input.maps.normals + cv::Scalar(1, 1, 1)) * 127.5;
  shifted.convertTo(normals8, CV_8UC3);
  cv::cvtColor(normals8, normals8,
               cv::COLOR_RGB2BGR);  // nx -> red, ny -> green, nz -> blue
  auto depth_png = vision::EncodePng(depth8);
  auto normals_png = vision::EncodePng(normals8);
  if (!depth_png.ok() || !normals_png.ok()) return "";
  // Random, not counted: an id says nothing about the others.
  const std::string id = RandomId128();
  std::lock_guard<std::mutex> lock(mu_);
  visualizations_[id] = {std::move(*depth_png), std::move(*normals_png), owner};
  visualization_order_.push_back(id);
  while (visualization_order_.size() > 256) {
    visualizations_.erase(visualization_order_.front());
    visualization_order_.pop_front();
  }
  return absl::StrCat("/visualizations/", id, "/depth.png");
}

HttpResponse PizzaApi::Visualization(const std::string& path,
                                     const std::string& caller) const {
  // /visualizations/{id}/{depth|normals}.png
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  if (parts.size() != 4 ||
      (parts[3] != "depth.png" && parts[3] != "normals.png")) {
    return Error(absl::NotFoundError(
        "no such visualization (use /visualizations/ID/depth.png "
        "or /visualizations/ID/normals.png)"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = visualizations_.find(parts[2]);
  // Another token's visualization is answered like a missing one: its
  // caller learns nothing, not even that the id exists.
  if (it == visualizations_.end() ||
      (options_.require_token && it->second.owner != caller)) {
    return Error(absl::NotFoundError(
        "visualization expired, never existed or was made with another "
        "token"));
  }
  HttpResponse r;
  r.content_type = "image/png";
  r.body =
      parts[3] == "depth.png" ? it->second.depth_png : it->second.normals_png;
  return r;
}

}  // namespace spatial::serving
