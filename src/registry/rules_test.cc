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

MeasureResult Measured(double accuracy, double p95_ms = 3) {
  Measurement m;
  m.set = "render seed=3001 per_class=20 shift=none size=128";
  m.set_digest = std::string(64, 'd');
  m.n = 120;
  m.host = "test host";
  m.engine = "OpenCV DNN";
  m.accuracy = accuracy;
  m.latency_p50_ms = p95_ms / 2;
  m.latency_p95_ms = p95_ms;
  return {.status = MeasureStatus::kMeasured, .measurement = m};
}

MeasureResult NotRunnable() {
  return {.status = MeasureStatus::kNotRunnable,
          .why = "'v1' is a single file (m.bin)"};
}

const RuleResult* Find(const ValidationOutcome& o, const std::string& rule) {
  for (const auto& r : o.rules) {
    if (r.rule == rule) return &r;
  }
  return nullptr;
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
    MeasureResult measure = Measured(0.95);
  };
  auto no_metrics = Good();
  no_metrics.performance_metrics.clear();
  auto unknown_compat = Good();
  unknown_compat.compatibility_info = {{"status", "unknown"}};
  auto visual = Good();
  visual.architecture = "visual-encoder";
  auto slow = Good();
  slow.performance_metrics["inference_time_ms"] = 1600;
  auto weak_dev = Good();
  weak_dev.performance_metrics["accuracy"] = 0.6;
  auto modest = Good();
  modest.performance_metrics["accuracy"] = 0.9;
  Environment slow_dev = Dev();
  slow_dev.max_inference_time_ms = 1000;
  Environment optional_prod = Prod();
  optional_prod.extra["evaluation"] = {{"required", false}};
  Environment tolerant_prod = Prod();
  tolerant_prod.extra["evaluation"] = {
      {"declared_tolerance", {{"accuracy", 0.1}}}};
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
      {"unmeasured accuracy fails in prod", Good(), Prod(), Gpu(24), "",
       "accuracy", RuleOutcome::kFail, false, NotRunnable()},
      {"unmeasured latency fails in prod", Good(), Prod(), Gpu(24), "",
       "latency", RuleOutcome::kFail, false, NotRunnable()},
      {"not runnable fails measurement in prod", Good(), Prod(), Gpu(24), "",
       "measurement", RuleOutcome::kFail, false, NotRunnable()},
      {"not runnable warns in dev",
       Good(),
       Dev(),
       {},
       "",
       "measurement",
       RuleOutcome::kWarn,
       true,
       NotRunnable()},
      {"declared accuracy judged in dev when not runnable",
       weak_dev,
       Dev(),
       {},
       "",
       "accuracy",
       RuleOutcome::kFail,
       false,
       NotRunnable()},
      {"a bundle that could not be run fails in dev",
       Good(),
       Dev(),
       {},
       "",
       "measurement",
       RuleOutcome::kFail,
       false,
       {.status = MeasureStatus::kFailed, .why = "graph does not load"}},
      {"measured accuracy below dev minimum fails despite declared 0.95",
       Good(),
       Dev(),
       {},
       "",
       "accuracy",
       RuleOutcome::kFail,
       false,
       Measured(0.17)},
      {"measured accuracy passes without a declared one", no_metrics, Prod(),
       Gpu(24), "", "accuracy", RuleOutcome::kPass, true},
      {"declared within tolerance passes", Good(), Prod(), Gpu(24), "",
       "declared", RuleOutcome::kPass, true, Measured(0.91)},
      {"declared off by more than tolerance warns in dev",
       Good(),
       Dev(),
       {},
       "",
       "declared",
       RuleOutcome::kWarn,
       true,
       Measured(0.89)},
      {"declared off by more than tolerance fails in prod", Good(), Prod(),
       Gpu(24), "", "declared", RuleOutcome::kFail, false, Measured(0.89)},
      {"declared below measured by more than tolerance also fails in prod",
       modest, Prod(), Gpu(24), "", "declared", RuleOutcome::kFail, false,
       Measured(0.97)},
      {"nothing declared: nothing to compare", no_metrics, Prod(), Gpu(24), "",
       "declared", RuleOutcome::kPass, true},
      {"measured p95 above the limit fails", Good(), Prod(), Gpu(24), "",
       "latency", RuleOutcome::kFail, false, Measured(0.95, 1600)},
      {"evaluation.required false lets prod judge declared values", Good(),
       optional_prod, Gpu(24), "", "measurement", RuleOutcome::kWarn, true,
       NotRunnable()},
      {"a wider declared tolerance is honoured", Good(), tolerant_prod, Gpu(24),
       "", "declared", RuleOutcome::kPass, true, Measured(0.89)},
      {"missing accuracy warns in dev when not runnable",
       no_metrics,
       Dev(),
       {},
       "",
       "accuracy",
       RuleOutcome::kWarn,
       true,
       NotRunnable()},
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
      {"declared latency above limit fails in dev when not runnable",
       slow,
       slow_dev,
       {},
       "",
       "latency",
       RuleOutcome::kFail,
       false,
       NotRunnable()},
      {"declared latency at dev limit passes when not runnable",
       slow,
       Dev(),
       {},
       "",
       "latency",
       RuleOutcome::kPass,
       true,
       NotRunnable()},
      {"measured accuracy below threshold fails", Good(), Prod(), Gpu(24), "",
       "accuracy", RuleOutcome::kFail, false, Measured(0.84)},
  };
  for (const auto& c : cases) {
    ValidationInput in{.version = &c.v,
                       .environment = &c.env,
                       .host = c.host,
                       .cpu_override_reason = c.override_reason,
                       .measure = c.measure};
    ValidationOutcome o = ApplyRules(in);
    EXPECT_EQ(OutcomeOf(o, c.rule), c.want) << c.name;
    EXPECT_EQ(o.valid, c.valid) << c.name << "\n" << o.ToJson().dump(1);
  }
}

// A broken artifact fails validation everywhere and the message is kept.
TEST(RulesTest, ArtifactErrorFailsWithItsMessage) {
  ModelVersion v = Good();
  Environment env = Dev();
  ValidationInput in{
      .version = &v,
      .environment = &env,
      .artifact_error = std::string("artifact file 'model.onnx' is corrupted"),
      .measure = Measured(0.95)};
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
                     .cpu_override_reason = "no GPU in CI",
                     .measure = Measured(0.95)};
  ValidationOutcome o = ApplyRules(in);
  EXPECT_TRUE(o.valid) << o.ToJson().dump(1);
  ASSERT_NE(Find(o, "gpu"), nullptr);
  EXPECT_NE(Find(o, "gpu")->message.find("no GPU in CI"), std::string::npos);
}

// The scrambled-weights case: a declared 0.99 beside a measured 0.17 fails
// accuracy and, in production, the declared comparison, naming both numbers;
// the declared value is kept beside the measured one.
TEST(RulesTest, MeasuredValueIsJudgedAndTheDeclaredOneShownBesideIt) {
  ModelVersion v = Good();
  v.performance_metrics["accuracy"] = 0.99;
  Environment env = Prod();
  ValidationInput in{.version = &v,
                     .environment = &env,
                     .cpu_override_reason = "CI",
                     .measure = Measured(1.0 / 6)};
  ValidationOutcome o = ApplyRules(in);
  EXPECT_FALSE(o.valid);
  const RuleResult* acc = Find(o, "accuracy");
  const RuleResult* declared = Find(o, "declared");
  ASSERT_NE(acc, nullptr);
  ASSERT_NE(declared, nullptr);
  EXPECT_EQ(acc->outcome, RuleOutcome::kFail);
  EXPECT_EQ(acc->message,
            "measured 0.167 is below the 0.85 production requires (declared "
            "0.99)");
  EXPECT_EQ(acc->declared, 0.99);
  EXPECT_DOUBLE_EQ(acc->measured.get<double>(), 1.0 / 6);
  EXPECT_EQ(declared->outcome, RuleOutcome::kFail);
  EXPECT_EQ(declared->message.rfind("declared accuracy 0.99, measured 0.167: "
                                    "off by 0.823, more than the 0.05 "
                                    "tolerated",
                                    0),
            0u)
      << declared->message;
}

// A measurement stored in a validation result reads back as it was; an
// imported or older result has none and says so.
TEST(MeasurementTest, RoundTripsThroughTheValidationResult) {
  MeasureResult mr = Measured(0.5, 7);
  mr.measurement->per_class_recall = {{"basic", 1.0}, {"burnt", 0.0}};
  Json result = {{"measurement", mr.ToJson()}};
  MeasureResult back = MeasureResultOf(result);
  ASSERT_EQ(back.status, MeasureStatus::kMeasured) << back.why;
  EXPECT_EQ(back.measurement->ToJson(), mr.measurement->ToJson());
  EXPECT_EQ(MeasureResultOf(Json::object()).status,
            MeasureStatus::kNotMeasured);
  EXPECT_EQ(MeasureResultOf({{"measurement", NotRunnable().ToJson()}}).why,
            NotRunnable().why);
  Json broken = {{"measurement", {{"status", "measured"}, {"n", "x"}}}};
  EXPECT_EQ(MeasureResultOf(broken).status, MeasureStatus::kNotMeasured);
  EXPECT_TRUE(IsImportedValidation({{"imported", true}}));
  EXPECT_FALSE(IsImportedValidation({{"imported", "yes"}}));
  EXPECT_FALSE(IsImportedValidation(Json::object()));
}

}  // namespace
}  // namespace spatial::registry
