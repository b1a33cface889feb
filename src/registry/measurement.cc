#include "src/registry/measurement.h"

#include "absl/strings/str_cat.h"

namespace spatial::registry {

Json Measurement::ToJson() const {
  return {{"set", set},
          {"set_digest", set_digest},
          {"n", n},
          {"host", host},
          {"engine", engine},
          {"accuracy", accuracy},
          {"per_class_recall", per_class_recall},
          {"latency_ms",
           {{"p50", latency_p50_ms},
            {"p95", latency_p95_ms},
            {"batch", 1},
            {"measures", "decode + preprocess + inference per image"}}},
          {"seconds", seconds}};
}

absl::StatusOr<Measurement> Measurement::FromJson(const Json& j) {
  auto bad = [](absl::string_view field) {
    return absl::InvalidArgumentError(
        absl::StrCat("measurement: missing or malformed '", field, "'"));
  };
  if (!j.is_object()) return bad("measurement");
  Measurement m;
  const std::pair<const char*, std::string*> fields[] = {
      {"set", &m.set},
      {"set_digest", &m.set_digest},
      {"host", &m.host},
      {"engine", &m.engine}};
  for (const auto& [key, out] : fields) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return bad(key);
    *out = it->get<std::string>();
  }
  auto n = j.find("n");
  auto acc = j.find("accuracy");
  auto lat = j.find("latency_ms");
  if (n == j.end() || !n->is_number_integer()) return bad("n");
  if (acc == j.end() || !acc->is_number()) return bad("accuracy");
  if (lat == j.end() || !lat->is_object() || !lat->contains("p50") ||
      !(*lat)["p50"].is_number() || !lat->contains("p95") ||
      !(*lat)["p95"].is_number()) {
    return bad("latency_ms");
  }
  m.n = n->get<int>();
  m.accuracy = acc->get<double>();
  m.latency_p50_ms = (*lat)["p50"].get<double>();
  m.latency_p95_ms = (*lat)["p95"].get<double>();
  if (auto r = j.find("per_class_recall"); r != j.end() && r->is_object()) {
    for (const auto& [k, v] : r->items()) {
      if (v.is_number()) m.per_class_recall[k] = v.get<double>();
    }
  }
  if (auto s = j.find("seconds"); s != j.end() && s->is_number())
    m.seconds = s->get<double>();
  return m;
}

absl::string_view ToString(MeasureStatus s) {
  switch (s) {
    case MeasureStatus::kMeasured:
      return "measured";
    case MeasureStatus::kNotRunnable:
      return "not_runnable";
    case MeasureStatus::kFailed:
      return "failed";
    case MeasureStatus::kNotMeasured:
      return "not_measured";
  }
  return "not_measured";
}

Json MeasureResult::ToJson() const {
  Json j = measurement ? measurement->ToJson() : Json::object();
  j["status"] = ToString(status);
  if (!why.empty()) j["why"] = why;
  return j;
}

MeasureResult MeasureResultOf(const Json& validation_result) {
  MeasureResult out;
  if (!validation_result.is_object()) return out;
  auto it = validation_result.find("measurement");
  if (it == validation_result.end() || !it->is_object()) return out;
  const std::string status = it->value("status", "");
  out.why = it->value("why", "");
  if (status == "measured") {
    auto m = Measurement::FromJson(*it);
    if (m.ok()) {
      out.status = MeasureStatus::kMeasured;
      out.measurement = *std::move(m);
    } else {
      out.why = std::string(m.status().message());
    }
  } else if (status == "not_runnable") {
    out.status = MeasureStatus::kNotRunnable;
  } else if (status == "failed") {
    out.status = MeasureStatus::kFailed;
  }
  return out;
}

bool IsImportedValidation(const Json& validation_result) {
  if (!validation_result.is_object()) return false;
  auto it = validation_result.find("imported");
  return it != validation_result.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace spatial::registry
