#include "src/pipeline/stages.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/base/files.h"

namespace spatial::pipeline {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr const char* kEnvValidation = "environment-validation";
constexpr const char* kSpatialTests = "spatial-tests";
constexpr const char* kModelValidation = "model-validation";
constexpr const char* kContainer = "container-build-test";
constexpr const char* kEnvtest = "multi-environment-testing";
constexpr const char* kPerformance = "performance-testing";
constexpr const char* kSecurity = "security-scanning";
constexpr const char* kDeployment = "deployment";

// Attaches the stage's JSON report; a passed stage without a reason says what
// the report counted ("what: 12 passed, 0 failed, 1 skipped").
StageResult WithReport(StageResult r, std::string report,
                       const std::string& what = "") {
  if (r.status == StageStatus::kPassed && r.reason.empty() && !what.empty()) {
    auto text = base::ReadFile(report);
    Json j = text.ok() ? Json::parse(*text, nullptr, false) : Json();
    if (j.is_object() && j.contains("summary") && j["summary"].is_object()) {
      const Json& sum = j["summary"];
      r.reason = absl::StrCat(what, ": ", sum.value("passed", 0), " passed, ",
                              sum.value("failed", 0), " failed");
      if (sum.value("skipped", 0) > 0)
        absl::StrAppend(&r.reason, ", ", sum.value("skipped", 0), " skipped");
    }
  }
  r.report_path = std::move(report);
  return r;
}

// The bundle of the version: --model, else where it was registered from.
absl::Status ResolveBundle(const PipelineConfig& c, PipelineState* s,
                           const std::string& stage) {
  if (!s->bundle_dir.empty()) return absl::OkStatus();
  if (s->version_id.empty()) {
    return absl::FailedPreconditionError("no model version to test");
  }
  std::string info = ArtifactPath(c, "model_info.json");
  std::vector<std::string> args = {"model"};
  for (auto& a : RegistryArgs(c)) args.push_back(a);
  for (auto a : {"info", s->version_id.c_str(), "--json"}) args.push_back(a);
  auto r = RunSpatial(c, stage, args, info);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::NotFoundError(absl::StrCat(
        "spatial model info ", s->version_id, " exited with ", r->exit_code));
  }
  auto text = base::ReadFile(info);
  if (!text.ok()) return text.status();
  Json j = Json::parse(*text, nullptr, false);
  std::string path = j.is_object() ? j.value("file_path", "") : "";
  if (path.empty() || !fs::is_directory(path)) {
    return absl::NotFoundError(
        absl::StrCat("version ", s->version_id, " was registered from '", path,
                     "', which is not a bundle directory on this machine (pass "
                     "--model DIR)"));
  }
  s->bundle_dir = path;
  return absl::OkStatus();
}

std::vector<std::string> CheckArgs(const PipelineConfig& c,
                                   std::vector<std::string> flags,
                                   const std::string& report) {
  std::vector<std::string> args = {"check"};
  for (auto& f : flags) args.push_back(std::move(f));
  for (const auto& a : std::vector<std::string>{"--environment", c.environment,
                                                "--output", report}) {
    args.push_back(a);
  }
  return args;
}

// The checks of a `spatial check` report that failed or erred, as
// "category/name: reason".
std::vector<std::pair<std::string, std::string>> FailedChecks(
    const std::string& report) {
  std::vector<std::pair<std::string, std::string>> out;
  auto text = base::ReadFile(report);
  Json j = text.ok() ? Json::parse(*text, nullptr, false) : Json();
  if (!j.is_object() || !j["results"].is_object()) return out;
  for (const auto& [category, tests] : j["results"].items()) {
    if (!tests.is_object()) continue;
    for (const auto& [name, t] : tests.items()) {
      const std::string status = t.value("status", "");
      if (status == "failed" || status == "error") {
        out.emplace_back(absl::StrCat(category, "/", name),
                         t.value("reason", ""));
      }
    }
  }
  return out;
}

StageResult EnvironmentValidation(const PipelineConfig& c, PipelineState* s) {
  LoadEnvironment(c, s, kEnvValidation);
  std::string report = ReportPath(c, "check_env.json");
  auto r =
      RunSpatial(c, kEnvValidation, CheckArgs(c, {"--validate-env"}, report));
  StageResult st = FromCommand(r, "spatial check --validate-env",
                               LogPath(c, kEnvValidation));
  if (st.status != StageStatus::kFailed) {
    return WithReport(st, report, "environment checks");
  }
  // Say which checks failed here, not only in the log.
  auto failed = FailedChecks(report);
  const bool only_gpu =
      !failed.empty() &&
      std::all_of(failed.begin(), failed.end(),
                  [](const auto& f) { return f.first == "environment/gpu"; });
  if (only_gpu && !c.cpu_override.empty()) {
    StageResult ok = StageResult::Passed(absl::StrCat(
        "environment checks passed but environment/gpu, overridden by "
        "--allow-cpu-override (",
        c.cpu_override, "): ", failed[0].second));
    ok.log_path = st.log_path;
    ok.details = {{"cpu_override", c.cpu_override},
                  {"overridden", failed[0].first}};
    return WithReport(ok, report);
  }
  for (const auto& [check, why] : failed) {
    absl::StrAppend(&st.reason, "; ", check, ": ", why);
  }
  if (only_gpu) {
    absl::StrAppend(&st.reason,
                    " (pass --allow-cpu-override REASON to accept a host "
                    "without the GPU; the reason is recorded)");
  }
  return WithReport(st, report);
}

StageResult SpatialTests(const PipelineConfig& c, PipelineState* s) {
  if (auto st = ResolveBundle(c, s, kSpatialTests); !st.ok()) {
    return StageResult::Error(std::string(st.message()));
  }
  std::string report = ReportPath(c, "check_spatial.json");
  auto r =
      RunSpatial(c, kSpatialTests,
                 CheckArgs(c,
                           {"--test-features", "--test-preprocessing",
                            "--test-inference", "--model-dir", s->bundle_dir},
                           report));
  return WithReport(
      FromCommand(r, "spatial check --test-*", LogPath(c, kSpatialTests)),
      report, "feature, preprocessing and inference checks");
}

// model-validation's details for the reports: what `model validate`
// measured and, rule by rule, the measured value beside the declared one.
Json ValidationDetails(const Json& v) {
  if (!v.is_object() || !v.contains("rules")) return nullptr;
  Json rules = Json::object();
  for (const auto& r : v["rules"]) {
    rules[r.value("rule", "")] = {{"outcome", r.value("outcome", "")},
                                  {"measured", r.value("measured", Json())},
                                  {"declared", r.value("declared", Json())},
                                  {"required", r.value("required", Json())},
                                  {"message", r.value("message", "")}};
  }
  return {{"valid", v.value("valid", false)},
          {"environment", v.value("environment", "")},
          {"measurement", v.value("measurement", Json())},
          {"rules", rules}};
}

// "measured accuracy 0.993 (declared 0.99) on 120 images, p95 3.1 ms".
std::string MeasurementSummary(const Json& details) {
  if (!details.is_object()) return "";
  const Json& m = details["measurement"];
  if (!m.is_object() || m.value("status", "") != "measured") {
    return absl::StrCat("not measured: ",
                        m.is_object() ? m.value("why", "") : "");
  }
  const Json& declared = details["rules"]["accuracy"]["declared"];
  return absl::StrFormat(
      "measured accuracy %.3f%s on %d images, latency p95 %.2f ms (%s)",
      m.value("accuracy", 0.0),
      declared.is_number()
          ? absl::StrFormat(" (declared %.3g)", declared.get<double>())
          : "",
      m.value("n", 0), m["latency_ms"].value("p95", 0.0),
      m.value("engine", ""));
}

StageResult ModelValidation(const PipelineConfig& c, PipelineState* s) {
  const std::string log = LogPath(c, kModelValidation);
  std::vector<std::string> model = {"model"};
  for (auto& a : RegistryArgs(c)) model.push_back(a);
  auto with = [&](std::vector<std::string> tail) {
    std::vector<std::string> args = model;
    args.insert(args.end(), tail.begin(), tail.end());
    return args;
  };
  if (!c.model_dir.empty() && c.model_version.empty()) {
    auto r = RunSpatial(c, kModelValidation,
                        with({"register", c.model_dir, "--version-id",
                              s->version_id, "--tag", "pipeline"}));
    StageResult reg = FromCommand(r, "spatial model register", log);
    if (reg.status != StageStatus::kPassed) return reg;
  }
  std::string validation = ReportPath(c, "model_validation.json");
  std::vector<std::string> validate = {"validate", s->version_id,
                                       "--environment", c.environment};
  if (!c.cpu_override.empty()) {
    validate.push_back("--allow-cpu-override");
    validate.push_back(c.cpu_override);
  }
  auto v = RunSpatial(c, kModelValidation, with(validate), validation);
  StageResult val = FromCommand(v, "spatial model validate", log);
  auto text = base::ReadFile(validation);
  Json j = text.ok() ? Json::parse(*text, nullptr, false) : Json();
  Json details = ValidationDetails(j);
  if (val.status != StageStatus::kPassed) {
    val.details = details;
    // Name the failed rules (e.g. a corrupted artifact) in the reason.
    if (j.is_object() && j.contains("rules")) {
      for (const auto& rule : j["rules"]) {
        if (rule.value("outcome", "") == "fail") {
          absl::StrAppend(&val.reason, "; ", rule.value("rule", ""), ": ",
                          rule.value("message", ""));
        }
      }
    }
    return WithReport(val, validation);
  }
  std::string report = ReportPath(c, "model_checksums.json");
  auto t = RunSpatial(c, kModelValidation, with({"test", "--json"}), report);
  StageResult test =
      WithReport(FromCommand(t, "spatial model test (checksums)", log), report);
  if (test.status != StageStatus::kPassed) return test;
  // Signatures: `model validate` applies the environment's policy (a valid
  // signature by a key the environment trusts where it requires one), so
  // the rules above already passed or failed on it.
  StageResult ok = StageResult::Passed(absl::StrCat(
      "rules (with the environment's signature policy) and checksums "
      "passed; ",
      MeasurementSummary(details)));
  ok.log_path = log;
  ok.details = std::move(details);
  return WithReport(ok, report);
}

StageResult ContainerBuildTest(const PipelineConfig& c) {
  const std::string log = LogPath(c, kContainer);
  std::string report = ReportPath(c, "check_docker.json");
  auto r = RunSpatial(c, kContainer, CheckArgs(c, {"--docker-mode"}, report));
  StageResult st = WithReport(
      FromCommand(r, "spatial check --docker-mode (static checks)", log),
      report);
  if (st.status != StageStatus::kPassed) return st;
  std::string engine;
  for (const char* name : {"podman", "docker"}) {
    std::string path = FindInPath(name);
    if (path.empty()) continue;
    CommandOptions o;
    o.log_path = log;
    o.timeout = std::chrono::seconds(20);
    auto info = RunCommand({path, "info"}, o);
    if (info.ok() && info->exit_code == 0) {
      engine = path;
      break;
    }
  }
  if (engine.empty()) {
    StageResult skip = StageResult::Skipped(
        "static checks passed; build not run: no container engine "
        "(podman/docker info failed)");
    skip.log_path = log;
    return WithReport(skip, report);
  }
  std::string script = c.source_dir + "/scripts/container-test.sh";
  if (!c.container_build || !fs::exists(script)) {
    StageResult skip = StageResult::Skipped(absl::StrCat(
        "static checks passed; build not run: ",
        !fs::exists(script) ? "no scripts/container-test.sh"
                            : "pass --container-build to build and probe"));
    skip.log_path = log;
    return WithReport(skip, report);
  }
  CommandOptions o;
  o.log_path = log;
  o.cwd = c.source_dir;
  o.timeout = std::chrono::minutes(30);
  auto b = RunCommand({"/bin/bash", script}, o);
  return WithReport(FromCommand(b, "scripts/container-test.sh", log), report);
}

StageResult MultiEnvironmentTesting(const PipelineConfig& c, PipelineState* s) {
  if (auto st = ResolveBundle(c, s, kEnvtest); !st.ok()) {
    return StageResult::Error(std::string(st.message()));
  }
  std::string report = ReportPath(c, "envtest.json");
  std::vector<std::string> args = {"envtest",
                                   "--environment",
                                   c.environment,
                                   "--output",
                                   report,
                                   "--junit",
                                   ReportPath(c, "envtest.xml"),
                                   "--state-file",
                                   ArtifactPath(c, "envtest_state.json"),
                                   "--model-dir",
                                   s->bundle_dir};
  // The run's environments file sets envtest's thresholds too.
  if (!c.config.empty()) {
    args.push_back("--environments-file");
    args.push_back(c.config);
  }
  // The API tests cover /predict/standard and /ab-test/compare, which need
  // the standard model beside the version under test.
  std::string standard = c.source_dir + "/models/standard-pizza-v1";
  std::error_code ec;
  if (fs::exists(standard + "/manifest.json", ec) &&
      !fs::equivalent(standard, s->bundle_dir, ec)) {
    args.push_back("--model-dir");
    args.push_back(standard);
  }
  auto r = RunSpatial(c, kEnvtest, args);
  return WithReport(FromCommand(r, "spatial envtest", LogPath(c, kEnvtest)),
                    report, "environment tests");
}

}  // namespace

const std::vector<std::string>& StageNames() {
  static const std::vector<std::string> kNames = {
      kEnvValidation, kSpatialTests, kModelValidation, kContainer,
      kEnvtest,       kPerformance,  kSecurity,        kDeployment};
  return kNames;
}

std::string StageDescription(const std::string& name) {
  static const std::map<std::string, std::string> kWhat = {
      {kEnvValidation, "spatial check --validate-env (host, GPU, memory)"},
      {kSpatialTests,
       "spatial check --test-features --test-preprocessing --test-inference"},
      {kModelValidation,
       "spatial model register (with --model), validate, test: writes a "
       "version and a validation to the registry"},
      {kContainer,
       "spatial check --docker-mode; a build with "
       "--container-build and an engine"},
      {kEnvtest, "spatial envtest: a real server on loopback"},
      {kPerformance, "spatial bench against a server of the version"},
      {kSecurity, "secrets, key permissions, package inventory"},
      {kDeployment,
       "spatial model promote, verify the --server(s), roll back on failure: "
       "changes which version the environment serves"},
  };
  auto it = kWhat.find(name);
  return it == kWhat.end() ? "" : it->second;
}

absl::StatusOr<std::vector<std::string>> ParseStageList(
    const std::string& list) {
  const auto& names = StageNames();
  if (list.empty() || list == "all") return names;
  std::vector<std::string> out;
  for (absl::string_view raw : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    std::string item(absl::StripAsciiWhitespace(raw));
    int n = 0;
    std::string name;
    if (absl::SimpleAtoi(item, &n) && n >= 1 &&
        n <= static_cast<int>(names.size())) {
      name = names[n - 1];
    } else {
      for (const auto& known : names) {
        if (known == item) name = known;
      }
    }
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown stage '", item, "'; stages are 1-8 or ",
                       absl::StrJoin(names, ", ")));
    }
    out.push_back(name);
  }
  return out;
}

std::vector<Stage> MakeStages(const PipelineConfig& c, PipelineState* s,
                              const std::vector<std::string>& selected) {
  auto stage = [&](const char* name, std::vector<std::string> deps,
                   std::function<StageResult()> run) {
    Stage st;
    st.name = name;
    st.deps = std::move(deps);
    st.run = std::move(run);
    if (std::find(selected.begin(), selected.end(), name) == selected.end()) {
      st.skip_reason = "not selected (--stages)";
    } else if (c.skip_tests &&
               (st.name == kSpatialTests || st.name == kEnvtest)) {
      st.skip_reason = "--skip-tests";
    }
    return st;
  };
  return {
      stage(kEnvValidation, {},
            [&c, s] { return EnvironmentValidation(c, s); }),
      stage(kSpatialTests, {kEnvValidation},
            [&c, s] { return SpatialTests(c, s); }),
      stage(kModelValidation, {kEnvValidation},
            [&c, s] { return ModelValidation(c, s); }),
      stage(kContainer, {kEnvValidation},
            [&c] { return ContainerBuildTest(c); }),
      stage(kEnvtest, {kModelValidation, kSpatialTests},
            [&c, s] { return MultiEnvironmentTesting(c, s); }),
      stage(kPerformance, {kModelValidation},
            [&c, s] { return RunPerformanceStage(c, s); }),
      stage(kSecurity, {kModelValidation},
            [&c, s] { return RunSecurityStage(c, s); }),
      stage(kDeployment,
            {kModelValidation, kSpatialTests, kContainer, kEnvtest,
             kPerformance, kSecurity},
            [&c, s] { return RunDeploymentStage(c, s); }),
  };
}

}  // namespace spatial::pipeline
