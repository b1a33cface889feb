#include "src/registry/rules.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace spatial::registry {
namespace {

RuleResult Missing(const Environment& env, std::string rule, std::string what,
                   Json required) {
  RuleResult r;
  r.rule = std::move(rule);
  r.required = std::move(required);
  if (env.skip_heavy_tests) {
    r.outcome = RuleOutcome::kWarn;
    r.message = absl::StrCat(what, " is unknown; allowed in ", env.name,
                             " (validation_config.skip_heavy_tests)");
  } else {
    r.outcome = RuleOutcome::kFail;
    r.message =
        absl::StrCat(what, " is unknown; ", env.name,
                     " requires it (register a readable ONNX graph, or pass "
                     "--metric accuracy=N, --metric inference_time_ms=N, "
                     "--metric memory_estimate_gb=N)");
  }
  return r;
}

RuleResult ArtifactRule(const ValidationInput& in) {
  RuleResult r{.rule = "artifact"};
  if (in.artifact_error) {
    r.outcome = RuleOutcome::kFail;
    r.message = *in.artifact_error;
  } else {
    r.message = "artifact present and sha256 matches";
    r.measured = in.version->checksum;
  }
  return r;
}

RuleResult ArchitectureRule(const ModelVersion& v, const Environment& env) {
  RuleResult r{.rule = "architecture",
               .measured = v.architecture,
               .required = env.supported_architectures};
  const auto& s = env.supported_architectures;
  if (std::find(s.begin(), s.end(), v.architecture) != s.end()) {
    r.message = absl::StrCat(v.architecture, " is supported in ", env.name);
  } else {
    r.outcome = RuleOutcome::kFail;
    r.message = absl::StrCat(v.architecture, " is not supported in ", env.name,
                             " (supported: ", absl::StrJoin(s, ", "), ")");
  }
  return r;
}

RuleResult MemoryRule(const ModelVersion& v, const Environment& env) {
  // From the graph, else as given with --metric memory_estimate_gb=N.
  const Json& c = v.compatibility_info;
  auto it = c.find("memory_estimate_gb");
  auto given = v.performance_metrics.find("memory_estimate_gb");
  double need = 0;
  if (it != c.end() && it->is_number()) {
    need = it->get<double>();
  } else if (given != v.performance_metrics.end()) {
    need = given->second;
  } else {
    return Missing(env, "memory", "memory estimate",
                   env.memory_requirements_gb);
  }
  RuleResult r{.rule = "memory",
               .measured = need,
               .required = env.memory_requirements_gb};
  if (need <= env.memory_requirements_gb) {
    r.message = absl::StrFormat("needs %.4g GB <= %.4g GB", need,
                                env.memory_requirements_gb);
  } else {
    r.outcome = RuleOutcome::kFail;
    r.message = absl::StrFormat("needs %.4g GB, more than the %.4g GB of %s",
                                need, env.memory_requirements_gb, env.name);
  }
  return r;
}

const Json* Evaluation(const Environment& env) {
  auto it = env.extra.find("evaluation");
  return it != env.extra.end() && it->is_object() ? &*it : nullptr;
}

std::optional<double> Declared(const ModelVersion& v, const char* name) {
  auto it = v.performance_metrics.find(name);
  if (it == v.performance_metrics.end()) return std::nullopt;
  return it->second;
}

Json OrNull(std::optional<double> d) { return d ? Json(*d) : Json(); }

RuleResult MeasurementRule(const ValidationInput& in) {
  const Environment& env = *in.environment;
  const MeasureResult& mr = in.measure;
  RuleResult r{.rule = "measurement", .required = MeasurementRequired(env)};
  if (mr.status == MeasureStatus::kMeasured && mr.measurement) {
    const Measurement& m = *mr.measurement;
    r.measured = m.set_digest;
    r.message = absl::StrFormat(
        "ran on %d images of %s (sha256 %s) with %s on %s in %.1f s", m.n,
        m.set, m.set_digest.substr(0, 12), m.engine, m.host, m.seconds);
    return r;
  }
  if (mr.status == MeasureStatus::kFailed) {
    r.outcome = RuleOutcome::kFail;
    r.message = absl::StrCat("could not be measured: ", mr.why);
    return r;
  }
  std::string why = mr.why.empty() ? "nothing was measured" : mr.why;
  if (MeasurementRequired(env)) {
    r.outcome = RuleOutcome::kFail;
    r.message = absl::StrCat(
        "not measured: ", why, "; ", env.name,
        " requires accuracy and latency measured on its evaluation set (a "
        "model bundle: model.onnx + manifest.json)");
  } else {
    r.outcome = RuleOutcome::kWarn;
    r.message = absl::StrCat("not measured: ", why, "; ", env.name,
                             " judges the declared values instead");
  }
  return r;
}

RuleResult DeclaredRule(const ValidationInput& in) {
  const Environment& env = *in.environment;
  std::optional<double> declared = Declared(*in.version, "accuracy");
  const double tol = DeclaredAccuracyTolerance(env);
  RuleResult r{
      .rule = "declared", .required = tol, .declared = OrNull(declared)};
  if (!in.measure.measurement) {
    r.message = "nothing measured to compare the declared values with";
    return r;
  }
  const double measured = in.measure.measurement->accuracy;
  r.measured = measured;
  if (!declared) {
    r.message = "no accuracy declared";
    return r;
  }
  const double off = std::abs(*declared - measured);
  if (off <= tol) {
    r.message =
        absl::StrFormat("declared accuracy %.3g, measured %.3g (within %.3g)",
                        *declared, measured, tol);
    return r;
  }
  r.message = absl::StrFormat(
      "declared accuracy %.3g, measured %.3g: off by %.3g, more than the %.3g "
      "tolerated",
      *declared, measured, off, tol);
  if (MeasurementRequired(env)) {
    r.outcome = RuleOutcome::kFail;
    absl::StrAppend(&r.message, " (", env.name,
                    " fails a version that declares what it does not measure)");
  } else {
    r.outcome = RuleOutcome::kWarn;
    absl::StrAppend(&r.message, " (a warning in ", env.name, ")");
  }
  return r;
}

// How accuracy and latency are judged: the measured value when there is
// one; else, where the environment does not require measurement, the
// declared one; else a failure.
struct Metric {
  const char* rule;  // "accuracy" | "latency"
  const char* name;  // in performance_metrics: what is declared
  std::optional<double> limit;
  bool at_least;  // pass when value >= limit (else <= limit)
  std::optional<double> measured;
  const char* measured_as;  // "measured " | "measured p95 "
  const char* unit;         // "" | " ms"
  int digits;               // significant digits in messages
};

RuleResult JudgeMetric(const ValidationInput& in, const Metric& m) {
  const Environment& env = *in.environment;
  std::optional<double> declared = Declared(*in.version, m.name);
  RuleResult r{.rule = m.rule,
               .measured = OrNull(m.measured),
               .declared = OrNull(declared)};
  if (!m.limit) {
    r.message = absl::StrCat("no ", m.rule, " requirement");
    return r;
  }
  r.required = *m.limit;
  double value = 0;
  std::string what = m.measured_as;
  std::string note;
  if (m.measured) {
    value = *m.measured;
    if (declared) {
      note = absl::StrFormat(" (declared %.*g%s)", m.digits, *declared, m.unit);
    }
  } else if (MeasurementRequired(env)) {
    r.outcome = RuleOutcome::kFail;
    r.message = absl::StrCat(m.rule, " was not measured; ", env.name,
                             " judges only measured ", m.rule);
    return r;
  } else if (declared) {
    value = *declared;
    what = "declared ";
  } else {
    return Missing(env, m.rule, m.name, *m.limit);
  }
  const bool pass = m.at_least ? value >= *m.limit : value <= *m.limit;
  if (pass) {
    r.message = absl::StrFormat("%s%.*g%s %s %.*g%s%s", what, m.digits, value,
                                m.unit, m.at_least ? ">=" : "<=", m.digits,
                                *m.limit, m.unit, note);
  } else {
    r.outcome = RuleOutcome::kFail;
    r.message = absl::StrFormat(
        "%s%.*g%s is %s the %.*g%s %s %s%s", what, m.digits, value, m.unit,
        m.at_least ? "below" : "above", m.digits, *m.limit, m.unit, env.name,
        m.at_least ? "requires" : "allows", note);
  }
  return r;
}

RuleResult AccuracyRule(const ValidationInput& in) {
  const auto& m = in.measure.measurement;
  return JudgeMetric(in,
                     {.rule = "accuracy",
                      .name = "accuracy",
                      .limit = in.environment->min_accuracy,
                      .at_least = true,
                      .measured = m ? std::optional(m->accuracy) : std::nullopt,
                      .measured_as = "measured ",
                      .unit = "",
                      .digits = 3});
}

RuleResult LatencyRule(const ValidationInput& in) {
  const auto& m = in.measure.measurement;
  return JudgeMetric(
      in, {.rule = "latency",
           .name = "inference_time_ms",
           .limit = in.environment->max_inference_time_ms,
           .at_least = false,
           .measured = m ? std::optional(m->latency_p95_ms) : std::nullopt,
           .measured_as = "measured p95 ",
           .unit = " ms",
           .digits = 4});
}

RuleResult GpuRule(const ValidationInput& in) {
  const Environment& env = *in.environment;
  RuleResult r{.rule = "gpu",
               .measured = in.host.gpu_memory_gb,
               .required = env.min_gpu_memory_gb};
  bool enough = in.host.gpu_count > 0 &&
                in.host.gpu_memory_gb >= env.min_gpu_memory_gb &&
                (!env.cuda_compatible || in.host.cuda_available);
  if (enough) {
    r.message =
        absl::StrFormat("GPU with %.4g GB present", in.host.gpu_memory_gb);
    return r;
  }
  std::string lack =
      in.host.gpu_count == 0
          ? std::string("no GPU on this host")
          : absl::StrFormat("GPU has %.4g GB, %.4g GB needed%s",
                            in.host.gpu_memory_gb, env.min_gpu_memory_gb,
                            in.host.cuda_available ? "" : ", no CUDA");
  if (!env.gpu_required()) {
    r.outcome = RuleOutcome::kWarn;
    r.message = absl::StrCat(lack, "; CPU-only allowed in ", env.name);
  } else if (!in.cpu_override_reason.empty()) {
    r.outcome = RuleOutcome::kOverridden;
    r.message =
        absl::StrCat(lack, "; ", env.name,
                     " requires a GPU, overridden: ", in.cpu_override_reason);
  } else {
    r.outcome = RuleOutcome::kFail;
    r.message = absl::StrCat(lack, "; ", env.name,
                             " requires a GPU (pass --allow-cpu-override "
                             "REASON to accept a CPU-only host)");
  }
  return r;
}

}  // namespace

absl::string_view ToString(RuleOutcome o) {
  switch (o) {
    case RuleOutcome::kPass:
      return "pass";
    case RuleOutcome::kWarn:
      return "warn";
    case RuleOutcome::kFail:
      return "fail";
    case RuleOutcome::kOverridden:
      return "overridden";
  }
  return "fail";
}

Json ValidationOutcome::ToJson() const {
  Json rules_json = Json::array();
  for (const auto& r : rules) {
    rules_json.push_back({{"rule", r.rule},
                          {"outcome", ToString(r.outcome)},
                          {"message", r.message},
                          {"measured", r.measured},
                          {"required", r.required},
                          {"declared", r.declared}});
  }
  return {{"valid", valid}, {"rules", rules_json}};
}

RuleResult SignatureRule(const ValidationInput& in) {
  RuleResult r{
      .rule = "signature",
      .required = "a signature by a key " + in.environment->name + " trusts"};
  if (in.signature_error) {
    r.outcome = RuleOutcome::kFail;
    r.message = *in.signature_error;
  } else {
    r.message = "signed by a trusted key; every file matches the signature";
  }
  return r;
}

bool MeasurementRequired(const Environment& env) {
  if (const Json* e = Evaluation(env)) {
    auto it = e->find("required");
    if (it != e->end() && it->is_boolean()) return it->get<bool>();
  }
  return !env.skip_heavy_tests;
}

double DeclaredAccuracyTolerance(const Environment& env) {
  if (const Json* e = Evaluation(env)) {
    auto t = e->find("declared_tolerance");
    if (t != e->end() && t->is_object()) {
      auto a = t->find("accuracy");
      if (a != t->end() && a->is_number() && a->get<double>() >= 0)
        return a->get<double>();
    }
  }
  return 0.05;
}

ValidationOutcome ApplyRules(const ValidationInput& in) {
  const ModelVersion& v = *in.version;
  const Environment& env = *in.environment;
  ValidationOutcome out;
  out.rules = {ArtifactRule(in),   ArchitectureRule(v, env),
               MemoryRule(v, env), MeasurementRule(in),
               AccuracyRule(in),   DeclaredRule(in),
               LatencyRule(in),    GpuRule(in)};
  if (env.requires_signature()) out.rules.push_back(SignatureRule(in));
  out.valid = std::none_of(
      out.rules.begin(), out.rules.end(),
      [](const auto& r) { return r.outcome == RuleOutcome::kFail; });
  return out;
}

}  // namespace spatial::registry
