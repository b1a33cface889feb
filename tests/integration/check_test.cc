// Black-box tests of `spatial check`: the real binary, the shipped bundles,
// real servers; each category made to fail for a real reason.
#include <filesystem>

#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {
namespace {
namespace fs = std::filesystem;

std::string Status(const Json& report, const std::string& category,
                   const std::string& test) {
  if (!report.contains("results") || !report["results"].contains(category) ||
      !report["results"][category].contains(test)) {
    return "absent";
  }
  return report["results"][category][test]["status"];
}

TEST(CheckTest, ShippedModelsPassFeaturesInferenceAndEndpoints) {
  Sandbox box;
  ProcessResult r =
      box.Spatial({"check", "--test-features", "--test-inference",
                   "--test-endpoints", "--environment", "development",
                   "--model-dir", ShippedBundle("spatial-pizza-v1"),
                   "--model-dir", ShippedBundle("standard-pizza-v1"),
                   "--eval-images", "24", "--output", box.Path("report.json")});
  EXPECT_EQ(r.exit_code, 0) << r;
  Json j = ParseJsonOrFail(ReadBytes(box.Path("report.json")), "report");
  EXPECT_EQ(j["summary"]["deployment_ready"], true) << j.dump(2);
  EXPECT_EQ(j["summary"]["failed"], 0);
  EXPECT_EQ(Status(j, "preprocessing", "spatial_golden_values"), "passed");
  EXPECT_EQ(Status(j, "inference", "spatial-pizza-v1.reference_parity"),
            "passed");
  EXPECT_EQ(Status(j, "inference", "standard-pizza-v1.accuracy"), "passed");
  EXPECT_EQ(Status(j, "endpoints", "bad input: body over 10 MB"), "passed");
  EXPECT_EQ(Status(j, "environment", "gpu"), "absent");  // not asked for
  EXPECT_GT(j["results"]["endpoints"].size(), 15u);
  EXPECT_NE(r.out.find("deployment ready: yes"), std::string::npos) << r;
}

TEST(CheckTest, HostBelowTheEnvironmentsRulesIsNotReady) {
  Sandbox box;
  std::string config = box.WriteFile(
      "environments.json",
      R"({"huge": {"name": "huge", "supported_architectures": ["dual-encoder"],
          "memory_requirements_gb": 100000,
          "compute_requirements": {"min_gpu_memory_gb": 4000,
                                   "cuda_compatible": true},
          "performance_requirements": {"accuracy": 0.7,
                                       "inference_time_ms": 3000},
          "validation_config": {"skip_heavy_tests": false,
                                "allow_cpu_only": false}}})");
  ProcessResult r = box.Spatial({"check", "--validate-env", "--environment",
                                 "huge", "--config", config, "--json"});
  EXPECT_EQ(r.exit_code, 1) << r;
  Json j = ParseJsonOrFail(r.out, "report");
  EXPECT_EQ(Status(j, "environment", "memory_gb"), "failed");
  EXPECT_EQ(Status(j, "environment", "gpu"), "failed");
  EXPECT_EQ(j["results"]["environment"]["memory_gb"]["threshold"], 100000);
  EXPECT_GT(j["environment"]["host"]["ram_gb"].get<double>(), 0);
  EXPECT_EQ(j["summary"]["deployment_ready"], false);
}

TEST(CheckTest, ATamperedBundleFailsInference) {
  Sandbox box;
  fs::copy(ShippedBundle("standard-pizza-v1"), box.Path("bad"),
           fs::copy_options::recursive);
  // Another model's reference outputs: it loads, but parity fails.
  fs::copy_file(ShippedBundle("spatial-pizza-v1") + "/reference/logits.npy",
                box.Path("bad/reference/logits.npy"),
                fs::copy_options::overwrite_existing);
  ProcessResult r =
      box.Spatial({"check", "--test-inference", "--model-dir", box.Path("bad"),
                   "--eval-images", "6", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r;
  Json j = ParseJsonOrFail(r.out, "report");
  EXPECT_EQ(Status(j, "inference", "bad.loads"), "passed");
  EXPECT_NE(Status(j, "inference", "bad.reference_parity"), "passed")
      << j.dump(2);
}

TEST(CheckTest, DockerModeNamesMissingContainerFiles) {
  Sandbox box;  // an empty working directory
  ProcessResult r = box.Spatial({"check", "--docker-mode", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r;
  Json j = ParseJsonOrFail(r.out, "report");
  EXPECT_EQ(Status(j, "docker", "dockerfile"), "failed");
  EXPECT_NE(
      j["results"]["docker"]["dockerfile"]["reason"].get<std::string>().find(
          "Dockerfile.spatial is missing"),
      std::string::npos);
}

TEST(CheckTest, DryRunPrintsThePlanRunsNothingAndFailsOnProblems) {
  Sandbox box;
  ProcessResult ok = box.Spatial(
      {"check", "--dry-run", "--test-inference", "--model-dir",
       ShippedBundle("spatial-pizza-v1"), "--output", box.Path("never.json")});
  EXPECT_EQ(ok.exit_code, 0) << ok;
  EXPECT_NE(ok.out.find("[run ] inference"), std::string::npos) << ok;
  EXPECT_NE(ok.out.find("nothing was run"), std::string::npos);
  EXPECT_EQ(ok.out.find("PASS"), std::string::npos);  // no results invented
  EXPECT_FALSE(fs::exists(box.Path("never.json")));

  ProcessResult bad = box.Spatial({"check", "--dry-run", "--test-inference",
                                   "--model-dir", box.Path("nope")});
  EXPECT_EQ(bad.exit_code, 1) << bad;
  EXPECT_NE(bad.out.find("model bundle file missing"), std::string::npos)
      << bad;
}

TEST(CheckTest, UnknownEnvironmentIsAUsageError) {
  Sandbox box;
  ProcessResult r = box.Spatial({"check", "--environment", "qa"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("unknown environment 'qa'"), std::string::npos) << r;
  EXPECT_NE(r.err.find("development"), std::string::npos);
}

}  // namespace
}  // namespace spatial::integration
