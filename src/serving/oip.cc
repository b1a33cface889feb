#include "src/serving/oip.h"

#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "src/serving/http/status_mapping.h"
#include "src/serving/responses.h"

namespace spatial::serving {
namespace {

using Json = nlohmann::json;
using http::HttpRequest;
using http::HttpResponse;

enum class Action {
  kServerMetadata,
  kLive,
  kReady,
  kModel,
  kModelReady,
  kInfer
};

// A parsed OIP path.
struct Route {
  Action action;
  std::string model, version;  // for the model actions; version may be empty
};

// /v2, /v2/health/{live,ready},
// /v2/models/{name}[/versions/{v}][/ready|/infer]; nullopt for anything else.
std::optional<Route> ParseRoute(const std::string& path) {
  if (path == "/v2" || path == "/v2/") {
    return Route{Action::kServerMetadata, "", ""};
  }
  if (path == "/v2/health/live") return Route{Action::kLive, "", ""};
  if (path == "/v2/health/ready") return Route{Action::kReady, "", ""};
  std::vector<absl::string_view> p = absl::StrSplit(path, '/');
  // "", "v2", "models", name, ...
  if (p.size() < 4 || p[0] != "" || p[1] != "v2" || p[2] != "models" ||
      p[3].empty()) {
    return std::nullopt;
  }
  Route r{Action::kModel, std::string(p[3]), ""};
  size_t next = 4;
  if (p.size() >= 6 && p[4] == "versions" && !p[5].empty()) {
    r.version = std::string(p[5]);
    next = 6;
  }
  if (p.size() == next) return r;
  if (p.size() != next + 1) return std::nullopt;
  if (p[next] == "ready") {
    r.action = Action::kModelReady;
  } else if (p[next] == "infer") {
    r.action = Action::kInfer;
  } else {
    return std::nullopt;
  }
  return r;
}

// The served model a route names: NotFound naming what is served.
absl::StatusOr<std::shared_ptr<ServedModel>> FindModel(
    const std::vector<std::shared_ptr<ServedModel>>& models, const Route& r,
    std::vector<std::string>* versions) {
  std::vector<std::string> names;
  std::shared_ptr<ServedModel> found;
  for (const auto& m : models) {
    if (!m) continue;
    names.push_back(m->manifest().name);
    if (m->manifest().name != r.model) continue;
    versions->push_back(m->version);
    if (!found && (r.version.empty() || r.version == m->version)) found = m;
  }
  if (versions->empty()) {
    return absl::NotFoundError(absl::StrCat(
        "model '", r.model.substr(0, 100), "' is not served; served models: ",
        names.empty() ? "none" : absl::StrJoin(names, ", ")));
  }
  if (!found) {
    return absl::NotFoundError(absl::StrCat(
        "model '", r.model, "' has no version '", r.version.substr(0, 100),
        "'; served versions: ", absl::StrJoin(*versions, ", ")));
  }
  return found;
}

Json ModelMetadata(const ServedModel& model,
                   const std::vector<std::string>& versions) {
  const auto& m = model.manifest();
  Json inputs = Json::array();
  for (const auto& spec : m.inputs) {
    inputs.push_back(
        {{"name", spec.name},
         {"datatype", "FP32"},
         {"shape", {-1, spec.shape[0], spec.shape[1], spec.shape[2]}}});
  }
  inputs.push_back({{"name", kImageBytesInput},
                    {"datatype", "BYTES"},
                    {"shape", Json::array({-1})}});
  const int k = static_cast<int>(m.classes.size());
  return {
      {"name", m.name},
      {"versions", versions},
      {"platform", "onnx"},
      {"inputs", inputs},
      {"outputs",
       {{{"name", kProbabilitiesOutput},
         {"datatype", "FP32"},
         {"shape", {-1, k}}},
        {{"name", kPredictedClassOutput},
         {"datatype", "BYTES"},
         {"shape", Json::array({-1})}}}},
      // Not in the protocol: what the probabilities' columns mean.
      {"parameters", {{"classes", m.classes}, {"model_type", m.model_type}}}};
}

}  // namespace

OipApi::OipApi(ModelsFn models, ReadyFn ready, Options options)
    : models_(std::move(models)),
      ready_(std::move(ready)),
      options_(std::move(options)) {}

std::string OipApi::EndpointLabel(const std::string& path) {
  auto r = ParseRoute(path);
  if (!r) return "";
  switch (r->action) {
    case Action::kServerMetadata:
      return "/v2";
    case Action::kLive:
      return "/v2/health/live";
    case Action::kReady:
      return "/v2/health/ready";
    case Action::kModel:
      return "/v2/models/metadata";
    case Action::kModelReady:
      return "/v2/models/ready";
    case Action::kInfer:
      return "/v2/models/infer";
  }
  return "";
}

bool OipApi::Handle(const HttpRequest& req, http::Responder& respond) const {
  std::optional<Route> r = ParseRoute(req.path);
  if (!r) return false;
  http::Responder reply = std::move(respond);
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (r->action == Action::kInfer ? req.method != "POST" : !get) {
    reply(Error(absl::UnimplementedError(
        absl::StrCat("method ", req.method.substr(0, 16), " is not allowed on ",
                     req.path.substr(0, 200), "; use ",
                     r->action == Action::kInfer ? "POST" : "GET"))));
    return true;
  }
  switch (r->action) {
    case Action::kServerMetadata:
      reply(JsonResponse(200, {{"name", "pizza-api-spatial"},
                               {"version", options_.server_version},
                               {"extensions", Json::array()}}));
      return true;
    case Action::kLive:
      reply(JsonResponse(200, {{"live", true}}));
      return true;
    case Action::kReady: {
      // The protocol: 200 means ready, a 4xx status means not ready.
      bool ready = ready_() && !models_().empty();
      reply(JsonResponse(ready ? 200 : 400, {{"ready", ready}}));
      return true;
    }
    default:
      break;
  }
  std::vector<std::string> versions;
  auto model = FindModel(models_(), *r, &versions);
  if (!model.ok()) {
    reply(Error(model.status()));
    return true;
  }
  if (r->action == Action::kModel) {
    reply(JsonResponse(200, ModelMetadata(**model, versions)));
  } else if (r->action == Action::kModelReady) {
    bool ready = ready_();
    reply(JsonResponse(ready ? 200 : 400,
                       {{"name", r->model}, {"ready", ready}}));
  } else {
    Infer(req, std::move(*model), std::move(reply));
  }
  return true;
}

void OipApi::Infer(const HttpRequest& req, std::shared_ptr<ServedModel> model,
                   http::Responder respond) const {
  if (!ready_()) {
    return respond(Error(absl::UnavailableError(
        "the server is not ready yet (models loading or warming up)")));
  }
  auto parsed =
      ParseOipInferRequest(model->manifest(), req.body, options_.limits);
  if (!parsed.ok()) return respond(Error(parsed.status()));
  // Each item goes to the batcher on its own (it batches them with
  // concurrent requests); the last one to finish answers.
  struct Gather {
    std::mutex mu;
    std::vector<inference::Prediction> predictions;
    size_t pending = 0;
    absl::Status error;
  };
  const size_t n = parsed->inputs.size();
  auto gather = std::make_shared<Gather>();
  gather->predictions.resize(n);
  gather->pending = n;
  auto request = std::make_shared<OipInferRequest>(std::move(*parsed));
  // What the answer needs of the model, copied: the callbacks must not own
  // the model (its batcher would be destroyed on its own worker thread).
  struct Model {
    std::string name, version, type;
    std::vector<std::string> classes;
  };
  auto info = std::make_shared<const Model>(
      Model{model->manifest().name, model->version,
            model->manifest().model_type, model->manifest().classes});
  Metrics* metrics = options_.metrics;
  auto done = [gather, request, info, metrics, respond](
                  size_t i, absl::StatusOr<inference::Prediction> p) {
    {
      std::lock_guard<std::mutex> lock(gather->mu);
      if (!p.ok()) {
        if (gather->error.ok()) gather->error = p.status();
      } else {
        gather->predictions[i] = std::move(*p);
      }
      if (--gather->pending > 0) return;
    }
    // The last one: no other thread touches `gather` any more.
    if (!gather->error.ok()) return respond(Error(gather->error));
    const auto& preds = gather->predictions;
    const int n_items = static_cast<int>(preds.size());
    const int k = static_cast<int>(info->classes.size());
    Json probabilities = Json::array(), classes = Json::array();
    for (const auto& pred : preds) {
      for (float v : pred.probabilities) probabilities.push_back(v);
      const std::string& label = info->classes[pred.label];
      classes.push_back(label);
      if (metrics) metrics->RecordPrediction(info->type, label);
    }
    Json outputs = Json::array();
    if (request->want_probabilities) {
      outputs.push_back({{"name", kProbabilitiesOutput},
                         {"datatype", "FP32"},
                         {"shape", {n_items, k}},
                         {"data", std::move(probabilities)}});
    }
    if (request->want_predicted_class) {
      outputs.push_back({{"name", kPredictedClassOutput},
                         {"datatype", "BYTES"},
                         {"shape", Json::array({n_items})},
                         {"data", std::move(classes)}});
    }
    Json body = {{"model_name", info->name},
                 {"model_version", info->version},
                 {"outputs", std::move(outputs)}};
    if (request->id) body["id"] = *request->id;
    respond(JsonResponse(200, body));
  };
  absl::Status queued;
  for (size_t i = 0; i < n; ++i) {
    if (queued.ok()) {
      queued = model->batcher->Submit(
          request->inputs[i],
          [done, i](absl::StatusOr<inference::Prediction> p) {
            done(i, std::move(p));
          });
    }
    // Once the queue refuses one, the rest are not sent: they finish with
    // its error (503 + Retry-After for a full queue).
    if (!queued.ok()) done(i, queued);
  }
}

}  // namespace spatial::serving
