#include "src/inference/manifest.h"

#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"

namespace spatial::inference {
namespace {

using Json = nlohmann::json;

absl::Status Bad(const std::string& where, absl::string_view field,
                 absl::string_view want) {
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": '", field, "' ", want));
}

absl::StatusOr<std::array<float, 3>> Triple(const Json& j,
                                            const std::string& where,
                                            absl::string_view field) {
  if (!j.is_array() || j.size() != 3)
    return Bad(where, field, "must be 3 numbers");
  std::array<float, 3> out{};
  for (int i = 0; i < 3; ++i) {
    if (!j[i].is_number()) return Bad(where, field, "must be 3 numbers");
    out[i] = j[i].get<float>();
  }
  return out;
}

}  // namespace

absl::StatusOr<Manifest> ParseManifest(const Json& j,
                                       const std::string& where) {
  if (!j.is_object())
    return absl::InvalidArgumentError(where + " must hold a JSON object");
  Manifest m;
  m.raw = j;
  auto str = [&](const char* field, std::string* out) -> absl::Status {
    auto it = j.find(field);
    if (it == j.end() || !it->is_string())
      return Bad(where, field, "must be a string");
    *out = it->get<std::string>();
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(str("name", &m.name));
  RETURN_IF_ERROR(str("version", &m.version));
  RETURN_IF_ERROR(str("model_type", &m.model_type));
  RETURN_IF_ERROR(str("architecture", &m.architecture));
  RETURN_IF_ERROR(str("output", &m.output));
  auto classes = j.find("classes");
  if (classes == j.end() || !classes->is_array() || classes->empty()) {
    return Bad(where, "classes", "must be a non-empty array of names");
  }
  for (const auto& c : *classes) {
    if (!c.is_string())
      return Bad(where, "classes", "must be a non-empty array of names");
    m.classes.push_back(c.get<std::string>());
  }
  auto inputs = j.find("inputs");
  if (inputs == j.end() || !inputs->is_array() || inputs->empty()) {
    return Bad(where, "inputs", "must be a non-empty array");
  }
  for (const auto& in : *inputs) {
    InputSpec spec;
    if (!in.is_object() || !in.value("name", Json()).is_string()) {
      return Bad(where, "inputs", "entries need a name");
    }
    spec.name = in["name"].get<std::string>();
    std::string kind = in.value("kind", "");
    if (kind == "visual") {
      spec.kind = InputKind::kVisual;
    } else if (kind == "spatial") {
      spec.kind = InputKind::kSpatial;
    } else {
      return Bad(where, "inputs.kind", "must be visual or spatial");
    }
    auto shape = in.value("shape", Json());
    if (!shape.is_array() || shape.size() != 3)
      return Bad(where, "inputs.shape", "must be [C, H, W]");
    for (const auto& d : shape) {
      if (!d.is_number_integer() || d.get<int>() <= 0 || d.get<int>() > 4096) {
        return Bad(where, "inputs.shape", "must hold positive sizes");
      }
      spec.shape.push_back(d.get<int>());
    }
    int want_channels = spec.kind == InputKind::kVisual ? 3 : 4;
    if (spec.shape[0] != want_channels || spec.shape[1] != spec.shape[2]) {
      return Bad(where, "inputs.shape",
                 absl::StrCat("of ", spec.name, " must be [", want_channels,
                              ", S, S]"));
    }
    (spec.kind == InputKind::kVisual ? m.visual_size : m.spatial_size) =
        spec.shape[1];
    m.inputs.push_back(std::move(spec));
  }
  if (m.visual_size == 0)
    return Bad(where, "inputs", "must include a visual input");
  const Json pre = j.value("preprocessing", Json::object());
  const Json norm = pre.value("normalization", Json::object());
  ASSIGN_OR_RETURN(m.normalization.mean,
                   Triple(norm.value("mean", Json()), where,
                          "preprocessing.normalization.mean"));
  ASSIGN_OR_RETURN(m.normalization.std,
                   Triple(norm.value("std", Json()), where,
                          "preprocessing.normalization.std"));
  for (float s : m.normalization.std) {
    if (!(s > 0))
      return Bad(where, "preprocessing.normalization.std", "must be positive");
  }
  m.metrics = j.value("metrics", Json::object());
  return m;
}

absl::StatusOr<Manifest> LoadManifest(const std::string& dir) {
  std::string path = dir + "/manifest.json";
  auto text = base::ReadFile(path, 4 << 20);
  if (!text.ok()) {
    return absl::NotFoundError(absl::StrCat("no model bundle at ", dir, ": ",
                                            text.status().message()));
  }
  Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return absl::InvalidArgumentError(path + " is not valid JSON");
  return ParseManifest(j, path);
}

}  // namespace spatial::inference
