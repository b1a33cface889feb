#include "src/envtest/targets.h"

#include "absl/strings/str_cat.h"

namespace spatial::envtest {
namespace {

using Json = nlohmann::json;

absl::StatusOr<double> Number(const Json& j, const std::string& where,
                              const char* key, std::optional<double> fallback,
                              double min, double max) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".", key, " ", why));
  };
  if (!j.contains(key)) {
    if (fallback) return *fallback;
    return bad("is missing");
  }
  if (!j[key].is_number()) return bad("must be a number");
  double v = j[key].get<double>();
  if (!(v >= min && v <= max)) {
    return bad(absl::StrCat("must be in [", min, ", ", max, "], got ", v));
  }
  return v;
}

}  // namespace

absl::StatusOr<Targets> TargetsFor(const registry::Environment& env) {
  Targets t;
  t.environment = env.name;
  t.min_accuracy = env.min_accuracy;
  t.max_latency_ms = env.max_inference_time_ms;
  if (!env.extra.contains("load_profile")) return t;
  const Json& p = env.extra["load_profile"];
  const std::string where =
      absl::StrCat("environment ", env.name, ": load_profile");
  if (!p.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " must be an object"));
  }
  LoadProfile lp;
  auto rate = Number(p, where, "rate", std::nullopt, 0.1, 100000);
  auto duration = Number(p, where, "duration_s", std::nullopt, 0.1, 3600);
  auto warmup = Number(p, where, "warmup_s", 0.0, 0, 600);
  auto conc = Number(p, where, "concurrency", 8.0, 1, 4096);
  auto err = Number(p, where, "max_error_rate", 0.0, 0, 1);
  auto avail = Number(p, where, "availability", 1.0, 0, 1);
  for (const auto* s : {&rate, &duration, &warmup, &conc, &err, &avail}) {
    if (!s->ok()) return s->status();
  }
  lp.rate = *rate;
  lp.duration_s = *duration;
  lp.warmup_s = *warmup;
  lp.concurrency = static_cast<int>(*conc);
  lp.max_error_rate = *err;
  lp.availability = *avail;
  t.load = lp;
  return t;
}

}  // namespace spatial::envtest
