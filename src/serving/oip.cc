// OipApi's handlers (oip.h): parse the OIP request, format the OIP answer.
// Thread-safe.
#include "src/serving/oip.h"

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

// The served model a route names: NotFound naming what is served.
absl::StatusOr<std::shared_ptr<ServedModel>> FindModel(
    const std::vector<std::shared_ptr<ServedModel>>& models,
    const RouteCall& call, std::vector<std::string>* versions) {
  struct {
    std::string model, version;
  } r{call.Param("name"), call.Param("version")};
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

Json MetadataJson(const ServedModel& model,
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
      options_(std::move(options)),
      core_({.metrics = options_.metrics, .decode = options_.limits.decode}) {}

std::string OipApi::EndpointLabel(const std::string& path) {
  return RouteTable::Label(path, Route::Owner::kOip);
}

bool OipApi::Handle(const HttpRequest& req, http::Responder& respond) const {
  return RouteTable::Dispatch({.oip = this}, {}, req, respond,
                              /*not_found_is_404=*/false);
}

void OipApi::ServerMetadata(const RouteCall&, http::Responder respond) const {
  respond(JsonResponse(200, {{"name", "pizza-api-spatial"},
                             {"version", options_.server_version},
                             {"extensions", Json::array()}}));
}

void OipApi::RepositoryIndex(const RouteCall& call,
                             http::Responder respond) const {
  // The body is optional: {} or {"ready": true} (only the ready models).
  bool only_ready = false;
  if (!call.request.body.empty()) {
    Json body = Json::parse(call.request.body, nullptr, false);
    if (!body.is_object() ||
        (body.contains("ready") && !body["ready"].is_boolean())) {
      return respond(Error(absl::InvalidArgumentError(
          "the repository index takes an empty body or a JSON object "
          "{\"ready\": true|false}")));
    }
    only_ready = body.value("ready", false);
  }
  // Every served model is loaded and warmed together (ready_), so they
  // share one state; a server still loading lists them as LOADING.
  const bool ready = ready_();
  Json index = Json::array();
  for (const auto& m : models_()) {
    if (!m || (only_ready && !ready)) continue;
    index.push_back({{"name", m->manifest().name},
                     {"version", m->version},
                     {"state", ready ? "READY" : "LOADING"},
                     {"reason", ""}});
  }
  respond(JsonResponse(200, index));
}

void OipApi::Live(const RouteCall&, http::Responder respond) const {
  respond(JsonResponse(200, {{"live", true}}));
}

void OipApi::Ready(const RouteCall&, http::Responder respond) const {
  // The protocol: 200 means ready, a 4xx status means not ready.
  bool ready = ready_() && !models_().empty();
  respond(JsonResponse(ready ? 200 : 400, {{"ready", ready}}));
}

void OipApi::ModelMetadata(const RouteCall& call,
                           http::Responder respond) const {
  std::vector<std::string> versions;
  auto model = FindModel(models_(), call, &versions);
  if (!model.ok()) return respond(Error(model.status()));
  respond(JsonResponse(200, MetadataJson(**model, versions)));
}

void OipApi::ModelReady(const RouteCall& call, http::Responder respond) const {
  std::vector<std::string> versions;
  auto model = FindModel(models_(), call, &versions);
  if (!model.ok()) return respond(Error(model.status()));
  bool ready = ready_();
  respond(JsonResponse(ready ? 200 : 400,
                       {{"name", call.Param("name")}, {"ready", ready}}));
}

void OipApi::Infer(const RouteCall& call, http::Responder respond) const {
  std::vector<std::string> versions;
  auto found = FindModel(models_(), call, &versions);
  if (!found.ok()) return respond(Error(found.status()));
  std::shared_ptr<ServedModel> model = std::move(*found);
  if (!ready_()) {
    return respond(Error(absl::UnavailableError(
        "the server is not ready yet (models loading or warming up)")));
  }
  auto parsed = ParseOipInferRequest(model->manifest(), call.request.body,
                                     options_.limits);
  if (!parsed.ok()) return respond(Error(parsed.status()));
  auto request = std::make_shared<OipInferRequest>(std::move(*parsed));
  std::vector<PredictInput> inputs = std::move(request->inputs);
  Metrics* metrics = options_.metrics;
  core_.Predict(std::move(model), std::move(inputs), {},
                [request, metrics, respond = std::move(respond)](
                    absl::StatusOr<PredictOutcome> out) {
                  if (!out.ok()) return respond(Error(out.status()));
                  const inference::Manifest& m = out->model->manifest;
                  const auto& preds = out->predictions;
                  const int n_items = static_cast<int>(preds.size());
                  const int k = static_cast<int>(m.classes.size());
                  Json probabilities = Json::array(), classes = Json::array();
                  for (const auto& pred : preds) {
                    for (float v : pred.probabilities)
                      probabilities.push_back(v);
                    const std::string& label = m.classes[pred.label];
                    classes.push_back(label);
                    if (metrics) metrics->RecordPrediction(m.model_type, label);
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
                  Json body = {{"model_name", m.name},
                               {"model_version", out->model->version},
                               {"outputs", std::move(outputs)}};
                  if (request->id) body["id"] = *request->id;
                  respond(JsonResponse(200, body));
                });
}

}  // namespace spatial::serving
