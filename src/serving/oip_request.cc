// ParseOipInferRequest (oip_request.h): the OIP infer body into PredictCore
// inputs. Pure functions; thread-safe.
#include "src/serving/oip_request.h"

#include <cfloat>
#include <cmath>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "src/base/status_macros.h"

namespace spatial::serving {
namespace {

using Json = nlohmann::json;

template <typename... Parts>
absl::Status Invalid(const Parts&... parts) {
  return absl::InvalidArgumentError(absl::StrCat(parts...));
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

std::string ExpectedShape(const inference::InputSpec& spec) {
  return absl::StrCat("[N,", absl::StrJoin(spec.shape, ","), "]");
}

// What the model takes, for messages: "visual [N,3,64,64] and spatial
// [N,4,64,64] (FP32), or image_bytes [N] (BYTES)".
std::string Accepted(const inference::Manifest& m) {
  std::vector<std::string> parts;
  for (const auto& spec : m.inputs)
    parts.push_back(absl::StrCat(spec.name, " ", ExpectedShape(spec)));
  return absl::StrCat(absl::StrJoin(parts, " and "), " (FP32), or ",
                      kImageBytesInput, " [N] (BYTES)");
}

// One input tensor of the request, its data flattened in row-major order.
struct RequestTensor {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  std::vector<const Json*> data;
};

// Nested arrays are allowed (row-major); deeper than the rank is an error.
absl::Status Flatten(const RequestTensor& t, const Json& j, size_t depth,
                     std::vector<const Json*>* out) {
  if (!j.is_array()) {
    out->push_back(&j);
    return absl::OkStatus();
  }
  if (depth >= t.shape.size()) {
    return Invalid("input '", t.name,
                   "': data is nested deeper than its shape ",
                   ShapeText(t.shape));
  }
  for (const Json& e : j) RETURN_IF_ERROR(Flatten(t, e, depth + 1, out));
  return absl::OkStatus();
}

absl::StatusOr<RequestTensor> ReadTensor(const Json& j, size_t index) {
  RequestTensor t;
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    return Invalid("inputs[", std::to_string(index),
                   "] must be an object with name, shape, datatype and data");
  }
  t.name = j["name"].get<std::string>();
  if (!j.contains("datatype") || !j["datatype"].is_string()) {
    return Invalid("input '", t.name, "' has no datatype (a string)");
  }
  t.datatype = j["datatype"].get<std::string>().substr(0, 32);
  if (!j.contains("shape") || !j["shape"].is_array()) {
    return Invalid("input '", t.name, "' has no shape (a list of integers)");
  }
  for (const Json& d : j["shape"]) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0 || t.shape.size() > 8) {
      return Invalid("input '", t.name,
                     "': shape must be a short list of non-negative integers");
    }
    t.shape.push_back(d.get<int64_t>());
  }
  if (j.contains("parameters") && j["parameters"].is_object() &&
      j["parameters"].contains("binary_data_size")) {
    return Invalid("input '", t.name,
                   "': the binary tensor data extension is not supported; "
                   "send the values in 'data'");
  }
  if (!j.contains("data") || !j["data"].is_array()) {
    return Invalid("input '", t.name, "' has no 'data' list");
  }
  RETURN_IF_ERROR(Flatten(t, j["data"], 0, &t.data));
  return t;
}

// The batch size N of a tensor whose first dimension it is.
absl::Status CheckBatch(const RequestTensor& t, const OipLimits& limits) {
  if (t.shape.empty() || t.shape[0] < 1) {
    return Invalid("input '", t.name, "' has shape ", ShapeText(t.shape),
                   ": the batch dimension N must be at least 1");
  }
  if (t.shape[0] > limits.max_batch) {
    return Invalid("input '", t.name, "' has a batch of ",
                   std::to_string(t.shape[0]),
                   absl::StrCat(", over the limit of ", limits.max_batch,
                                " per request; split it"));
  }
  return absl::OkStatus();
}

absl::Status CheckCount(const RequestTensor& t, int64_t expected) {
  if (static_cast<int64_t>(t.data.size()) != expected) {
    return Invalid("input '", t.name,
                   absl::StrCat("' has ", t.data.size(), " values; shape "),
                   ShapeText(t.shape), absl::StrCat(" needs ", expected));
  }
  return absl::OkStatus();
}

// FP32 tensors, one per manifest input, into N prepared inputs.
absl::Status ReadTensors(const inference::Manifest& m,
                         const std::map<std::string, RequestTensor>& given,
                         const OipLimits& limits, OipInferRequest* out) {
  int64_t n = -1;
  std::string n_from;
  std::vector<std::shared_ptr<inference::PreparedInput>> batch;
  for (const auto& spec : m.inputs) {
    if (!given.contains(spec.name)) {
      return Invalid("missing input '", spec.name, "'; model '", m.name,
                     "' takes ", Accepted(m));
    }
  }
  for (const auto& spec : m.inputs) {
    const RequestTensor& t = given.at(spec.name);
    if (t.datatype != "FP32") {
      return Invalid("input '", t.name, "' has datatype '",
                     absl::StrCat(t.datatype, "'; expected FP32"));
    }
    bool shape_ok = t.shape.size() == 4;
    for (size_t d = 0; shape_ok && d < 3; ++d)
      shape_ok = t.shape[d + 1] == spec.shape[d];
    if (!shape_ok) {
      return Invalid(
          "input '", t.name, "' has shape ",
          absl::StrCat(ShapeText(t.shape), "; expected ", ExpectedShape(spec)));
    }
    RETURN_IF_ERROR(CheckBatch(t, limits));
    if (n < 0) {
      n = t.shape[0];
      n_from = t.name;
      for (int64_t i = 0; i < n; ++i)
        batch.push_back(std::make_shared<inference::PreparedInput>());
    } else if (t.shape[0] != n) {
      return Invalid("input '", t.name,
                     absl::StrCat("' has a batch of ", t.shape[0], " but '",
                                  n_from, "' has ", n),
                     "; every input needs the same N");
    }
    const int64_t per = int64_t{spec.shape[0]} * spec.shape[1] * spec.shape[2];
    RETURN_IF_ERROR(CheckCount(t, n * per));
    for (int64_t i = 0; i < n; ++i) {
      auto& dst = spec.kind == inference::InputKind::kVisual
                      ? batch[i]->visual
                      : batch[i]->spatial;
      dst.resize(static_cast<size_t>(per));
      for (int64_t k = 0; k < per; ++k) {
        const Json& v = *t.data[static_cast<size_t>(i * per + k)];
        double f = v.is_number() ? v.get<double>() : NAN;
        if (!std::isfinite(f) || std::fabs(f) > FLT_MAX) {
          return Invalid("input '", t.name,
                         absl::StrCat("': element ", i * per + k, " (",
                                      v.dump().substr(0, 32), ")"),
                         " is not a finite FP32 number");
        }
        dst[static_cast<size_t>(k)] = static_cast<float>(f);
      }
    }
  }
  for (auto& prepared : batch)
    out->inputs.push_back({.prepared = std::move(prepared)});
  return absl::OkStatus();
}

// The BYTES input: N base64-encoded image files (PredictCore decodes and
// preprocesses them, naming the element in its errors).
absl::Status ReadImages(const RequestTensor& t, const OipLimits& limits,
                        OipInferRequest* out) {
  if (t.datatype != "BYTES") {
    return Invalid("input '", t.name, "' has datatype '",
                   absl::StrCat(t.datatype,
                                "'; expected BYTES (base64-encoded JPEG, PNG "
                                "or WebP files)"));
  }
  if (t.shape.size() != 1) {
    return Invalid("input '", t.name, "' has shape ",
                   ShapeText(t.shape) + "; expected [N], one file each");
  }
  RETURN_IF_ERROR(CheckBatch(t, limits));
  RETURN_IF_ERROR(CheckCount(t, t.shape[0]));
  for (size_t i = 0; i < t.data.size(); ++i) {
    const Json& e = *t.data[i];
    PredictInput in{.where = absl::StrCat("input '", t.name, "' element ", i)};
    if (!e.is_string()) {
      return Invalid(in.where,
                     ": expected a base64-encoded image file (string)");
    }
    if (!absl::Base64Unescape(e.get_ref<const std::string&>(), &in.image)) {
      return Invalid(in.where, ": not valid base64");
    }
    out->inputs.push_back(std::move(in));
  }
  return absl::OkStatus();
}

absl::Status ReadOutputs(const Json& j, OipInferRequest* out) {
  if (!j.contains("outputs")) return absl::OkStatus();
  const Json& outputs = j["outputs"];
  if (!outputs.is_array()) {
    return Invalid("'outputs' must be a list of {\"name\": ...}");
  }
  if (outputs.empty()) return absl::OkStatus();  // all of them
  out->want_probabilities = out->want_predicted_class = false;
  for (const Json& o : outputs) {
    if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) {
      return Invalid("'outputs' must be a list of {\"name\": ...}");
    }
    const std::string& name = o["name"].get_ref<const std::string&>();
    if (name == kProbabilitiesOutput) {
      out->want_probabilities = true;
    } else if (name == kPredictedClassOutput) {
      out->want_predicted_class = true;
    } else {
      return Invalid(
          "unknown output '", name.substr(0, 64),
          absl::StrCat("'; the outputs are ", kProbabilitiesOutput,
                       " (FP32) and ", kPredictedClassOutput, " (BYTES)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OipInferRequest> ParseOipInferRequest(
    const inference::Manifest& m, absl::string_view body,
    const OipLimits& limits) {
  Json j;
  try {
    j = Json::parse(body.begin(), body.end());
  } catch (const Json::exception& e) {  // parse_error, number overflow
    return Invalid("the body is not valid JSON: ", e.what());
  }
  if (!j.is_object()) {
    return Invalid("the body must be a JSON object with an 'inputs' list");
  }
  OipInferRequest out;
  if (j.contains("id")) {
    if (!j["id"].is_string()) return Invalid("'id' must be a string");
    out.id = j["id"].get<std::string>();
  }
  RETURN_IF_ERROR(ReadOutputs(j, &out));
  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty()) {
    return Invalid("'inputs' must be a non-empty list of tensors; model '",
                   m.name, "' takes ", Accepted(m));
  }
  std::map<std::string, RequestTensor> given;
  for (size_t i = 0; i < j["inputs"].size(); ++i) {
    ASSIGN_OR_RETURN(RequestTensor t, ReadTensor(j["inputs"][i], i));
    bool known = t.name == kImageBytesInput;
    for (const auto& spec : m.inputs) known |= t.name == spec.name;
    if (!known) {
      return Invalid("unknown input '", t.name, "'; model '",
                     absl::StrCat(m.name, "' takes ", Accepted(m)));
    }
    std::string name = t.name;
    if (!given.emplace(name, std::move(t)).second) {
      return Invalid("input '", name, "' is given twice");
    }
  }
  if (auto it = given.find(kImageBytesInput); it != given.end()) {
    if (given.size() > 1) {
      return Invalid("send either the FP32 tensors or the BYTES input '",
                     kImageBytesInput, "', not both");
    }
    RETURN_IF_ERROR(ReadImages(it->second, limits, &out));
  } else {
    RETURN_IF_ERROR(ReadTensors(m, given, limits, &out));
  }
  return out;
}

}  // namespace spatial::serving
