#include "src/registry/rules.h"

#include <algorithm>

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

RuleResult AccuracyRule(const ModelVersion& v, const Environment& env) {
  if (!env.min_accuracy) {
    return {.rule = "accuracy", .message = "no accuracy requirement"};
  }
  auto it = v.performance_metrics.find("accuracy");
  if (it == v.performance_metrics.end()) {
    return Missing(env, "accuracy", "accuracy", *env.min_accuracy);
  }
  RuleResult r{.rule = "accuracy",
               .measured = it->second,
               .required = *env.min_accuracy};
  if (it->second >= *env.min_accuracy) {
    r.message = absl::StrFormat("%.4g >= %.4g", it->second, *env.min_accuracy);
  } else {
    r.outcome = RuleOutcome::kFail;
    r.message = absl::StrFormat("%.4g is below the %.4g %s requires",
                                it->second, *env.min_accuracy, env.name);
  }
  return r;
}

RuleResult LatencyRule(const ModelVersion& v, const Environment& env) {
  if (!env.max_inference_time_ms) {
    return {.rule = "latency", .message = "no latency requirement"};
  }
  auto it = v.performance_metrics.find("inference_time_ms");
  if (it == v.performance_metrics.end()) {
    return Missing(env, "latency", "inference_time_ms",
                   *env.max_inference_time_ms);
  }
  RuleResult r{.rule = "latency",
               .measured = it->second,
               .required = *env.max_inference_time_ms};
  if (it->second <= *env.max_inference_time_ms) {
    r.message = absl::StrFormat("%.4g ms <= %.4g ms", it->second,
                                *env.max_inference_time_ms);
  } else {
    r.outcome = RuleOutcome::kFail;
    r.message =
        absl::StrFormat("%.4g ms is above the %.4g ms %s allows", it->second,
                        *env.max_inference_time_ms, env.name);
  }
  return r;
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
                          {"required", r.required}});
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

ValidationOutcome ApplyRules(const ValidationInput& in) {
  const ModelVersion& v = *in.version;
  const Environment& env = *in.environment;
  ValidationOutcome out;
  out.rules = {ArtifactRule(in),    ArchitectureRule(v, env),
               MemoryRule(v, env),  AccuracyRule(v, env),
               LatencyRule(v, env), GpuRule(in)};
  if (env.requires_signature()) out.rules.push_back(SignatureRule(in));
  out.valid = std::none_of(
      out.rules.begin(), out.rules.end(),
      [](const auto& r) { return r.outcome == RuleOutcome::kFail; });
  return out;
}

}  // namespace spatial::registry
