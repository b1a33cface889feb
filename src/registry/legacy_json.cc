#include "src/registry/legacy_json.h"

#include "absl/strings/str_cat.h"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"

namespace spatial::registry {
namespace {

// Typed field access with errors that say which entry and field was wrong.
class Reader {
 public:
  Reader(const Json& j, std::string where) : j_(j), where_(std::move(where)) {}

  absl::Status Error(absl::string_view field, absl::string_view want) const {
    return absl::InvalidArgumentError(
        absl::StrCat(where_, ": field '", field, "' ", want));
  }
  const Json* Find(absl::string_view field) const {
    auto it = j_.find(field);
    return it == j_.end() ? nullptr : &*it;
  }
  absl::StatusOr<std::string> String(absl::string_view field) const {
    const Json* f = Find(field);
    if (f == nullptr) return Error(field, "is missing");
    if (!f->is_string()) return Error(field, "must be a string");
    return f->get<std::string>();
  }
  absl::StatusOr<double> Number(absl::string_view field) const {
    const Json* f = Find(field);
    if (f == nullptr) return Error(field, "is missing");
    if (!f->is_number()) return Error(field, "must be a number");
    return f->get<double>();
  }
  absl::StatusOr<bool> Bool(absl::string_view field) const {
    const Json* f = Find(field);
    if (f == nullptr) return Error(field, "is missing");
    if (!f->is_boolean()) return Error(field, "must be true or false");
    return f->get<bool>();
  }
  absl::StatusOr<const Json*> Object(absl::string_view field) const {
    const Json* f = Find(field);
    if (f == nullptr) return Error(field, "is missing");
    if (!f->is_object()) return Error(field, "must be an object");
    return f;
  }
  absl::StatusOr<std::vector<std::string>> Strings(
      absl::string_view field) const {
    const Json* f = Find(field);
    if (f == nullptr) return Error(field, "is missing");
    if (!f->is_array()) return Error(field, "must be an array of strings");
    std::vector<std::string> out;
    for (const auto& e : *f) {
      if (!e.is_string()) return Error(field, "must be an array of strings");
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  const std::string& where() const { return where_; }

 private:
  const Json& j_;
  std::string where_;
};

std::optional<double> OptionalNumber(const Json& j, absl::string_view field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// Our fields under "spatial_deploy" (VersionToJson), each checked for its
// type: json::value() would throw on a wrong one.
absl::Status ReadOurFields(const Json& ours, const Reader& r, ModelVersion* v) {
  auto is_size = [](const Json* f) {
    return f->is_number_unsigned() ||
           (f->is_number_integer() && f->get<int64_t>() >= 0);
  };
  Reader o(ours, absl::StrCat(r.where(), ": spatial_deploy"));
  if (const Json* f = o.Find("size_bytes")) {
    if (!is_size(f)) return o.Error("size_bytes", "must be a byte count");
    v->size_bytes = f->get<uint64_t>();
  }
  if (o.Find("actor")) {
    ASSIGN_OR_RETURN(v->actor, o.String("actor"));
  }
  if (o.Find("is_directory")) {
    ASSIGN_OR_RETURN(v->is_directory, o.Bool("is_directory"));
  }
  const Json* files = o.Find("files");
  if (files == nullptr) return absl::OkStatus();
  if (!files->is_array()) return o.Error("files", "must be an array");
  for (const auto& f : *files) {
    if (!f.is_object()) return o.Error("files", "must hold objects");
    Reader fr(f, o.where());
    ArtifactFile af;
    if (fr.Find("path")) {
      ASSIGN_OR_RETURN(af.path, fr.String("path"));
    }
    if (fr.Find("sha256")) {
      ASSIGN_OR_RETURN(af.sha256, fr.String("sha256"));
    }
    if (const Json* size = fr.Find("size")) {
      if (!is_size(size))
        return o.Error("files", "holds a size that is not a byte count");
      af.size = size->get<uint64_t>();
    }
    if (!base::IsSha256Hex(af.sha256)) {
      return r.Error("spatial_deploy.files", "holds an invalid sha256");
    }
    v->files.push_back(std::move(af));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Json> ParseJson(absl::string_view text,
                               absl::string_view where) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " is not valid JSON (byte ", e.byte, ")"));
  } catch (const Json::exception& e) {
    // A number too large for a double ("1e400") is out_of_range, not a
    // parse_error; what() names the number after a "[json.exception...] ".
    absl::string_view what = e.what();
    if (size_t cut = what.find("] "); cut != absl::string_view::npos)
      what.remove_prefix(cut + 2);
    return absl::InvalidArgumentError(
        absl::StrCat(where, " is not valid JSON: ", what));
  }
}

Json EnvironmentToJson(const Environment& e) {
  Json perf = Json::object();
  perf["accuracy"] = e.min_accuracy ? Json(*e.min_accuracy) : Json(nullptr);
  perf["inference_time_ms"] =
      e.max_inference_time_ms ? Json(*e.max_inference_time_ms) : Json(nullptr);
  Json j = {
      {"name", e.name},
      {"supported_architectures", e.supported_architectures},
      {"memory_requirements_gb", e.memory_requirements_gb},
      {"compute_requirements",
       {{"min_gpu_memory_gb", e.min_gpu_memory_gb},
        {"cuda_compatible", e.cuda_compatible}}},
      {"performance_requirements", perf},
      {"validation_config",
       {{"skip_heavy_tests", e.skip_heavy_tests},
        {"allow_cpu_only", e.allow_cpu_only}}},
  };
  for (const auto& [k, v] : e.extra.items()) j[k] = v;
  return j;
}

absl::StatusOr<Environment> EnvironmentFromJson(const Json& j,
                                                absl::string_view where) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": an environment must be a JSON object"));
  }
  Reader r(j, std::string(where));
  Environment e;
  ASSIGN_OR_RETURN(e.name, r.String("name"));
  RETURN_IF_ERROR(base::CheckIdentifier(e.name, "environment name"));
  ASSIGN_OR_RETURN(e.supported_architectures,
                   r.Strings("supported_architectures"));
  ASSIGN_OR_RETURN(e.memory_requirements_gb,
                   r.Number("memory_requirements_gb"));
  ASSIGN_OR_RETURN(const Json* compute, r.Object("compute_requirements"));
  Reader rc(*compute, absl::StrCat(where, ".compute_requirements"));
  ASSIGN_OR_RETURN(e.min_gpu_memory_gb, rc.Number("min_gpu_memory_gb"));
  ASSIGN_OR_RETURN(e.cuda_compatible, rc.Bool("cuda_compatible"));
  ASSIGN_OR_RETURN(const Json* perf, r.Object("performance_requirements"));
  e.min_accuracy = OptionalNumber(*perf, "accuracy");
  e.max_inference_time_ms = OptionalNumber(*perf, "inference_time_ms");
  ASSIGN_OR_RETURN(const Json* vc, r.Object("validation_config"));
  Reader rv(*vc, absl::StrCat(where, ".validation_config"));
  ASSIGN_OR_RETURN(e.skip_heavy_tests, rv.Bool("skip_heavy_tests"));
  ASSIGN_OR_RETURN(e.allow_cpu_only, rv.Bool("allow_cpu_only"));
  static const char* kKnown[] = {"name",
                                 "supported_architectures",
                                 "memory_requirements_gb",
                                 "compute_requirements",
                                 "performance_requirements",
                                 "validation_config"};
  for (const auto& [k, v] : j.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), k) ==
        std::end(kKnown)) {
      e.extra[k] = v;
    }
  }
  return e;
}

Json EnvironmentsToJson(const std::vector<Environment>& envs) {
  Json j = Json::object();
  for (const auto& e : envs) j[e.name] = EnvironmentToJson(e);
  return j;
}

absl::StatusOr<std::vector<Environment>> EnvironmentsFromJson(
    const Json& j, absl::string_view where) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, " must be a JSON object of environment name -> environment"));
  }
  std::vector<Environment> out;
  for (const auto& [name, value] : j.items()) {
    ASSIGN_OR_RETURN(
        Environment e,
        EnvironmentFromJson(value, absl::StrCat(where, ": '", name, "'")));
    if (e.name != name) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": key '", name, "' holds environment named '", e.name, "'"));
    }
    out.push_back(std::move(e));
  }
  return out;
}

Json VersionToJson(const ModelVersion& v) {
  Json metrics = Json::object();
  for (const auto& [k, val] : v.performance_metrics) metrics[k] = val;
  Json files = Json::array();
  for (const auto& f : v.files) {
    files.push_back({{"path", f.path}, {"sha256", f.sha256}, {"size", f.size}});
  }
  return {
      {"version_id", v.version_id},
      {"model_type", v.model_type},
      {"architecture", v.architecture},
      {"file_path", v.file_path},
      {"creation_date", v.creation_date},
      {"checksum", v.checksum},
      {"size_mb", v.size_mb()},
      {"performance_metrics", metrics},
      {"compatibility_info", v.compatibility_info},
      {"deployment_environments", v.deployment_environments},
      {"training_config", v.training_config},
      {"validation_status", ToString(v.validation_status)},
      {"tags", v.tags},
      {"spatial_deploy",
       {{"size_bytes", v.size_bytes},
        {"actor", v.actor},
        {"is_directory", v.is_directory},
        {"files", files}}},
  };
}

absl::StatusOr<ModelVersion> VersionFromJson(const Json& j,
                                             absl::string_view where) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": a model version must be a JSON object"));
  }
  Reader r(j, std::string(where));
  ModelVersion v;
  ASSIGN_OR_RETURN(v.version_id, r.String("version_id"));
  RETURN_IF_ERROR(base::CheckIdentifier(v.version_id, "version id"));
  ASSIGN_OR_RETURN(v.model_type, r.String("model_type"));
  ASSIGN_OR_RETURN(v.architecture, r.String("architecture"));
  ASSIGN_OR_RETURN(v.file_path, r.String("file_path"));
  ASSIGN_OR_RETURN(v.creation_date, r.String("creation_date"));
  ASSIGN_OR_RETURN(v.checksum, r.String("checksum"));
  if (!base::IsSha256Hex(v.checksum)) {
    return r.Error("checksum", "must be a sha256 digest (64 lowercase hex)");
  }
  ASSIGN_OR_RETURN(double size_mb, r.Number("size_mb"));
  // 2^44 MB is 2^64 bytes: a larger size would not fit (undefined cast).
  if (size_mb < 0 || size_mb >= 17592186044416.0)
    return r.Error("size_mb", "must be between 0 and 2^44");
  v.size_bytes = static_cast<uint64_t>(size_mb * 1024.0 * 1024.0 + 0.5);
  ASSIGN_OR_RETURN(const Json* metrics, r.Object("performance_metrics"));
  for (const auto& [k, val] : metrics->items()) {
    if (val.is_null()) continue;
    if (!val.is_number()) {
      return r.Error(absl::StrCat("performance_metrics.", k),
                     "must be a number");
    }
    v.performance_metrics[k] = val.get<double>();
  }
  ASSIGN_OR_RETURN(const Json* compat, r.Object("compatibility_info"));
  v.compatibility_info = *compat;
  ASSIGN_OR_RETURN(v.deployment_environments,
                   r.Strings("deployment_environments"));
  ASSIGN_OR_RETURN(const Json* training, r.Object("training_config"));
  v.training_config = *training;
  ASSIGN_OR_RETURN(std::string status, r.String("validation_status"));
  ASSIGN_OR_RETURN(v.validation_status, ParseValidationStatus(status));
  ASSIGN_OR_RETURN(v.tags, r.Strings("tags"));
  if (const Json* ours = r.Find("spatial_deploy"); ours && ours->is_object()) {
    RETURN_IF_ERROR(ReadOurFields(*ours, r, &v));
  }
  return v;
}

Json VersionsToJson(const std::vector<ModelVersion>& versions) {
  Json j = Json::object();
  for (const auto& v : versions) j[v.version_id] = VersionToJson(v);
  return j;
}

absl::StatusOr<std::vector<ModelVersion>> VersionsFromJson(
    const Json& j, absl::string_view where) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, " must be a JSON object of version id -> model version"));
  }
  std::vector<ModelVersion> out;
  for (const auto& [id, value] : j.items()) {
    ASSIGN_OR_RETURN(
        ModelVersion v,
        VersionFromJson(value, absl::StrCat(where, ": '", id, "'")));
    if (v.version_id != id) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": key '", id, "' holds version_id '", v.version_id, "'"));
    }
    out.push_back(std::move(v));
  }
  // Oldest first, so that an import keeps the registration order.
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.creation_date < b.creation_date;
  });
  return out;
}

}  // namespace spatial::registry
