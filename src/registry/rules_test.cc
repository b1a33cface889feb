#include "src/registry/rules.h"

#include "gtest/gtest.h"

namespace spatial::registry {
namespace {

Environment Dev() {
  Environment e;
  e.name = "development";
  e.supported_architectures = {"dual-encoder", "visual-encoder",
                               "spatial-encoder"};
  e.memory_requirements_gb = 8;
  e.min_gpu_memory_gb = 4;
  e.cuda_compatible = true;
  e.min_accuracy = 0.70;
  e.max_inference_time_ms = 3000;
  e.skip_heavy_tests = true;
  e.allow_cpu_only = true;
  return e;
}

Environment Prod() {
  Environment e = Dev();
  e.name = "production";
  e.supported_architectures = {"dual-encoder"};
  e.memory_requirements_gb = 32;
  e.min_gpu_memory_gb = 16;
  e.min_accuracy = 0.85;
  e.max_inference_time_ms = 1500;
  e.skip_heavy_tests = false;
  e.allow_cpu_only = false;
  return e;
}

ModelVersion Good() {
  ModelVersion v;
  v.version_id = "v1";
  v.architecture = "dual-encoder";
  v.checksum = std::string(64, 'a');
  v.performance_metrics = {{"accuracy", 0.95}, {"inference_time_ms", 2}};
  v.compatibility_info = {{"status", "known"}, {"memory_estimate_gb", 0.01}};
  return v;
}

RuleOutcome OutcomeOf(const ValidationOutcome& o, const std::string& rule) {
  for (const auto& r : o.rules) {
    if (r.rule == rule) return r.outcome;
  }
  ADD_FAILURE() << "no rule " << rule;
  return RuleOutcome::kFail;
}

HostFacts Gpu(double gb) {
  return {.gpu_count = 1, .gpu_memory_gb = gb, .cuda_available = true};
}

// Table: a change to the version, environment or host, and what each rule says.
TEST(RulesTest, EachRulePassesWarnsOrFailsAsSpecified) {
  struct Case {
    std::string name;
    ModelVersion v;
    Environment env;
    HostFacts host;
    std::string override_reason;
    std::string rule;
    RuleOutcome want;
    bool valid;
  };
  auto no_metrics = Good();
  no_metrics.performance_metrics.clear();
  auto unknown_compat = Good();
  unknown_compat.compatibility_info = {{"status", "unknown"}};
  auto visual = Good();
  visual.architecture = "visual-encoder";
  auto slow = Good();
  slow.performance_metrics["inference_time_ms"] = 1600;
  auto weak = Good();
  weak.performance_metrics["accuracy"] = 0.84;
  auto huge = Good();
  huge.compatibility_info["memory_estimate_gb"] = 40.0;
  const Case cases[] = {
      {"all good on a GPU host", Good(), Prod(), Gpu(24), "", "gpu",
       RuleOutcome::kPass, true},
      {"prod without GPU fails",
       Good(),
       Prod(),
       {},
       "",
       "gpu",
       RuleOutcome::kFail,
       false},
      {"prod with too small GPU fails", Good(), Prod(), Gpu(8), "", "gpu",
       RuleOutcome::kFail, false},
      {"prod CPU override is recorded",
       Good(),
       Prod(),
       {},
       "CI has no GPU",
       "gpu",
       RuleOutcome::kOverridden,
       true},
      {"dev without GPU warns",
       Good(),
       Dev(),
       {},
       "",
       "gpu",
       RuleOutcome::kWarn,
       true},
      {"missing accuracy fails in prod", no_metrics, Prod(), Gpu(24), "",
       "accuracy", RuleOutcome::kFail, false},
      {"missing latency fails in prod", no_metrics, Prod(), Gpu(24), "",
       "latency", RuleOutcome::kFail, false},
      {"missing accuracy warns in dev",
       no_metrics,
       Dev(),
       {},
       "",
       "accuracy",
       RuleOutcome::kWarn,
       true},
      {"unknown memory fails in prod", unknown_compat, Prod(), Gpu(24), "",
       "memory", RuleOutcome::kFail, false},
      {"unknown memory warns in dev",
       unknown_compat,
       Dev(),
       {},
       "",
       "memory",
       RuleOutcome::kWarn,
       true},
      {"memory above requirement fails", huge, Prod(), Gpu(24), "", "memory",
       RuleOutcome::kFail, false},
      {"visual encoder unsupported in prod", visual, Prod(), Gpu(24), "",
       "architecture", RuleOutcome::kFail, false},
      {"visual encoder supported in dev",
       visual,
       Dev(),
       {},
       "",
       "architecture",
       RuleOutcome::kPass,
       true},
      {"latency above limit fails", slow, Prod(), Gpu(24), "", "latency",
       RuleOutcome::kFail, false},
      {"latency at dev limit passes",
       slow,
       Dev(),
       {},
       "",
       "latency",
       RuleOutcome::kPass,
       true},
      {"accuracy below threshold fails", weak, Prod(), Gpu(24), "", "accuracy",
       RuleOutcome::kFail, false},
  };
  for (const auto& c : cases) {
    ValidationInput in{.version = &c.v,
                       .environment = &c.env,
                       .host = c.host,
                       .cpu_override_reason = c.override_reason};
    ValidationOutcome o = ApplyRules(in);
    EXPECT_EQ(OutcomeOf(o, c.rule), c.want) << c.name;
    EXPECT_EQ(o.valid, c.valid) << c.name;
  }
}

// A broken artifact fails validation everywhere and the message is kept.
TEST(RulesTest, ArtifactErrorFailsWithItsMessage) {
  ModelVersion v = Good();
  Environment env = Dev();
  ValidationInput in{
      .version = &v,
      .environment = &env,
      .artifact_error = std::string("artifact file 'model.onnx' is corrupted")};
  ValidationOutcome o = ApplyRules(in);
  EXPECT_FALSE(o.valid);
  EXPECT_EQ(OutcomeOf(o, "artifact"), RuleOutcome::kFail);
  EXPECT_EQ(o.ToJson()["rules"][0]["message"],
            "artifact file 'model.onnx' is corrupted");
}

// The JSON result carries the override reason in the gpu rule's message.
TEST(RulesTest, OverrideReasonAppearsInResult) {
  ModelVersion v = Good();
  Environment env = Prod();
  ValidationInput in{.version = &v,
                     .environment = &env,
                     .cpu_override_reason = "no GPU in CI"};
  auto j = ApplyRules(in).ToJson();
  EXPECT_TRUE(j["valid"].get<bool>());
  EXPECT_NE(j["rules"][5]["message"].get<std::string>().find("no GPU in CI"),
            std::string::npos);
}

}  // namespace
}  // namespace spatial::registry
