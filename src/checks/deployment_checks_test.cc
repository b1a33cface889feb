#include "src/checks/deployment_checks.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/test_paths.h"

namespace spatial::checks {
namespace {
namespace fs = std::filesystem;

std::string StatusOf(const CheckReport& r, const std::string& category,
                     const std::string& test) {
  auto j = r.ToJson("", 0, nullptr);
  if (!j["results"].contains(category) ||
      !j["results"][category].contains(test))
    return "absent";
  return j["results"][category][test]["status"];
}

registry::Environment Env(bool cpu_ok, double min_gpu, double ram,
                          double min_acc, double max_ms) {
  registry::Environment e;
  e.name = "test-env";
  e.allow_cpu_only = cpu_ok;
  e.min_gpu_memory_gb = min_gpu;
  e.cuda_compatible = !cpu_ok;
  e.memory_requirements_gb = ram;
  e.min_accuracy = min_acc;
  e.max_inference_time_ms = max_ms;
  return e;
}

TEST(HostCheckTest, JudgesTheRealHostAgainstTheRules) {
  HostInfo host = ProbeHost(".");
  EXPECT_GE(host.cpu_cores, 1);
  EXPECT_GT(host.ram_gb, 0.1);
  EXPECT_FALSE(host.os.empty());
  EXPECT_FALSE(host.gpu_probe.empty());
  CheckReport ok;
  CheckHost(host, Env(true, 4, host.ram_gb / 2, 0, 0), &ok);
  EXPECT_EQ(StatusOf(ok, "environment", "memory_gb"), "passed");
  EXPECT_EQ(StatusOf(ok, "environment", "gpu"), "passed");
  CheckReport too_much;
  CheckHost(host, Env(true, 4, host.ram_gb * 4, 0, 0), &too_much);
  EXPECT_EQ(StatusOf(too_much, "environment", "memory_gb"), "failed");
}

TEST(HostCheckTest, GpuRequiredFailsWithoutEnoughGpu) {
  HostInfo host;
  host.ram_gb = 64;
  host.disk_free_gb = 100;
  host.cpu_cores = 2;
  host.gpu_probe = "no NVIDIA driver";
  CheckReport r;
  CheckHost(host, Env(false, 16, 8, 0, 0), &r);
  EXPECT_EQ(StatusOf(r, "environment", "gpu"), "failed");
  host.gpus.push_back({"Test GPU", 24});
  host.cuda_driver = "12.2";
  CheckReport with_gpu;
  CheckHost(host, Env(false, 16, 8, 0, 0), &with_gpu);
  EXPECT_EQ(StatusOf(with_gpu, "environment", "gpu"), "passed");
}

TEST(PreprocessingCheckTest, ThisBuildMatchesTheGoldenValues) {
  CheckReport r;
  CheckPreprocessing(&r);
  EXPECT_EQ(StatusOf(r, "preprocessing", "spatial_golden_values"), "passed");
  EXPECT_EQ(StatusOf(r, "features", "unit_normals"), "passed");
  EXPECT_EQ(r.summary().failed + r.summary().errors, 0) << r.ToText();
}

TEST(InferenceCheckTest, ShippedModelPassesAndAnUnreachableBarFails) {
  std::string dir = spatial::testing::SourceDir() + "/models/spatial-pizza-v1";
  CheckReport r;
  CheckInference({dir}, Env(true, 0, 1, 0.7, 3000),
                 {.eval_images = 24, .latency_runs = 5}, &r);
  EXPECT_EQ(StatusOf(r, "inference", "spatial-pizza-v1.loads"), "passed");
  EXPECT_EQ(StatusOf(r, "inference", "spatial-pizza-v1.reference_parity"),
            "passed");
  EXPECT_EQ(StatusOf(r, "inference", "spatial-pizza-v1.accuracy"), "passed")
      << r.ToText();
  CheckReport strict;
  CheckInference({dir}, Env(true, 0, 1, 1.01, 0.001),
                 {.eval_images = 12, .latency_runs = 3}, &strict);
  EXPECT_EQ(StatusOf(strict, "inference", "spatial-pizza-v1.accuracy"),
            "failed");
  EXPECT_EQ(StatusOf(strict, "inference", "spatial-pizza-v1.latency_ms"),
            "failed");
  CheckReport missing;
  CheckInference({"/nonexistent/bundle"}, Env(true, 0, 1, 0.7, 3000), {},
                 &missing);
  EXPECT_EQ(StatusOf(missing, "inference", "bundle.loads"), "failed");
}

class ContainerFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/container_files_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/docker-compose.yml")
        << "services:\n  pizza-api-spatial:\n    ports: [\"8001:8001\"]\n"
           "    healthcheck:\n      test: [\"CMD\", \"spatial\", \"probe\", "
           "\"http://127.0.0.1:8001/health\"]\n";
  }
  void WriteDockerfile(const std::string& text) {
    std::ofstream(dir_ + "/Dockerfile.spatial") << text;
  }
  std::string dir_;
};

TEST_F(ContainerFilesTest, AGoodDockerfilePasses) {
  WriteDockerfile(
      "FROM debian:bookworm AS build\nRUN make\n"
      "FROM debian:bookworm-slim\nENV API_PORT=8001 \\\n"
      "    SPATIAL_SIGNING_KEY_FILE=/run/secrets/key\n"
      "USER spatial\nEXPOSE 8001\n"
      "HEALTHCHECK CMD spatial probe http://127.0.0.1:8001/health\n");
  CheckReport r;
  CheckContainerFiles(dir_, &r);
  EXPECT_EQ(r.summary().failed, 0) << r.ToText();
  EXPECT_EQ(r.summary().passed, 6) << r.ToText();
}

TEST_F(ContainerFilesTest, EachDefectIsNamed) {
  WriteDockerfile(
      "FROM debian\nFROM ubuntu:latest\nENV API_TOKEN=hunter2\n"
      "USER root\n");
  CheckReport r;
  CheckContainerFiles(dir_, &r);
  EXPECT_EQ(StatusOf(r, "docker", "base_images_pinned"), "failed");
  EXPECT_EQ(StatusOf(r, "docker", "non_root_user"), "failed");
  EXPECT_EQ(StatusOf(r, "docker", "http_healthcheck"), "failed");
  EXPECT_EQ(StatusOf(r, "docker", "exposes_8001"), "failed");
  EXPECT_EQ(StatusOf(r, "docker", "no_baked_secrets"), "failed");
  EXPECT_NE(r.ToText().find("API_TOKEN"), std::string::npos);
  EXPECT_EQ(r.ToText().find("hunter2"), std::string::npos);  // never echoed
}

}  // namespace
}  // namespace spatial::checks
