#include "src/registry/legacy_json.h"

#include "gtest/gtest.h"

namespace spatial::registry {
namespace {

ModelVersion Sample() {
  ModelVersion v;
  v.version_id = "spatial-mllm-v1.2.0";
  v.model_type = "spatial-mllm";
  v.architecture = "dual-encoder";
  v.file_path = "/models/spatial.onnx";
  v.creation_date = "2026-11-25T10:00:00.000000Z";
  v.checksum = std::string(64, 'b');
  v.size_bytes = 2 * 1024 * 1024;
  v.performance_metrics = {{"accuracy", 0.93}, {"inference_time_ms", 12}};
  v.compatibility_info = {{"status", "known"}, {"memory_estimate_gb", 0.02}};
  v.deployment_environments = {"development"};
  v.training_config = {{"epochs", 30}};
  v.validation_status = ValidationStatus::kValidated;
  v.tags = {"demo"};
  v.actor = "ci";
  v.files = {{"spatial.onnx", std::string(64, 'b'), 2 * 1024 * 1024}};
  return v;
}

// The original format's fields are all present with the original names.
TEST(LegacyJsonTest, VersionHasEveryOriginalField) {
  Json j = VersionToJson(Sample());
  for (const char* f :
       {"version_id", "model_type", "architecture", "file_path",
        "creation_date", "checksum", "size_mb", "performance_metrics",
        "compatibility_info", "deployment_environments", "training_config",
        "validation_status", "tags"}) {
    EXPECT_TRUE(j.contains(f)) << f;
  }
  EXPECT_DOUBLE_EQ(j["size_mb"].get<double>(), 2.0);
  EXPECT_EQ(j["validation_status"], "validated");
}

// A version survives a round trip through the original format unchanged.
TEST(LegacyJsonTest, VersionRoundTrips) {
  ModelVersion v = Sample();
  auto back = VersionFromJson(VersionToJson(v), "test");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->version_id, v.version_id);
  EXPECT_EQ(back->checksum, v.checksum);
  EXPECT_EQ(back->size_bytes, v.size_bytes);
  EXPECT_EQ(back->performance_metrics, v.performance_metrics);
  EXPECT_EQ(back->files, v.files);
  EXPECT_EQ(back->validation_status, v.validation_status);
  EXPECT_EQ(back->deployment_environments, v.deployment_environments);
}

// An entry written by the original tool (no spatial_deploy block) loads.
TEST(LegacyJsonTest, ReadsOriginalToolEntries) {
  Json j = VersionToJson(Sample());
  j.erase("spatial_deploy");
  auto back = VersionFromJson(j, "orig");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->files.empty());
  EXPECT_EQ(back->size_bytes, 2u * 1024 * 1024);
}

// Table of malformed entries: each is refused naming the field.
TEST(LegacyJsonTest, RejectsMalformedEntriesNamingTheField) {
  struct Case {
    std::string field;
    Json value;  // null = remove the field
  };
  const Case cases[] = {
      {"checksum", "not-a-digest"},
      {"checksum", nullptr},
      {"version_id", "../etc"},
      {"size_mb", "big"},
      {"size_mb", -1},
      {"tags", "a"},
      {"validation_status", "ok"},
      {"performance_metrics", 3},
      {"training_config", nullptr},
  };
  for (const auto& c : cases) {
    Json j = VersionToJson(Sample());
    if (c.value.is_null()) {
      j.erase(c.field);
    } else {
      j[c.field] = c.value;
    }
    auto r = VersionFromJson(j, "model_versions.json");
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(std::string(r.status().message())
                  .find(c.field == "version_id" ? "version id" : c.field),
              std::string::npos)
        << r.status();
  }
}

// Files of another shape are refused as a whole.
TEST(LegacyJsonTest, RejectsForeignDocuments) {
  EXPECT_EQ(VersionsFromJson(Json::array({1, 2}), "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      VersionsFromJson(Json{{"v1", {{"name", "x"}}}}, "x").status().code(),
      absl::StatusCode::kInvalidArgument);
  Json mismatched = {{"other-id", VersionToJson(Sample())}};
  EXPECT_EQ(VersionsFromJson(mismatched, "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJson("{\"a\": ", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A number too large for a double is bad input like any other, not an
// exception that ends the process (found by fuzz/legacy_versions_fuzz.cc).
TEST(LegacyJsonTest, RefusesANumberThatOverflows) {
  auto j = ParseJson("{\"accuracy\": 25e3320}", "environments.json");
  EXPECT_EQ(j.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(j.status().message().find("environments.json is not valid JSON"),
            std::string::npos)
      << j.status();
  EXPECT_NE(j.status().message().find("25e3320"), std::string::npos)
      << j.status();
}

// Our spatial_deploy fields of the wrong type, or a size_mb that no byte
// count holds, are refused naming the field (they threw, or were undefined
// behaviour; found by fuzz/legacy_versions_fuzz.cc).
TEST(LegacyJsonTest, RefusesOurFieldsOfTheWrongType) {
  const Json good = VersionToJson(Sample());
  ASSERT_TRUE(VersionFromJson(good, "x").ok());
  const std::vector<std::pair<std::string, Json>> cases = {
      {"/spatial_deploy/size_bytes", "12"},
      {"/spatial_deploy/actor", 5},
      {"/spatial_deploy/is_directory", "no"},
      {"/spatial_deploy/files", Json::object()},
      {"/spatial_deploy/files", Json::array({"a"})},
      {"/spatial_deploy/files/0/size", "tiny.onnx"},
      {"/spatial_deploy/files/0/path", 7},
      {"/size_mb", 1e300},
  };
  for (const auto& [pointer, value] : cases) {
    Json bad = good;
    bad[Json::json_pointer(pointer)] = value;
    auto v = VersionFromJson(bad, "model_versions.json");
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument)
        << pointer << " " << value.dump();
  }
}

// Environments keep the original nesting and our extra fields.
TEST(LegacyJsonTest, EnvironmentRoundTripsWithExtras) {
  Environment e;
  e.name = "staging";
  e.supported_architectures = {"dual-encoder"};
  e.memory_requirements_gb = 16;
  e.min_gpu_memory_gb = 8;
  e.cuda_compatible = true;
  e.min_accuracy = 0.8;
  e.max_inference_time_ms = 2000;
  e.extra = {{"trusted_keys", Json::array({"abc"})}};
  Json j = EnvironmentToJson(e);
  EXPECT_EQ(j["compute_requirements"]["min_gpu_memory_gb"], 8.0);
  EXPECT_EQ(j["validation_config"]["allow_cpu_only"], false);
  auto back = EnvironmentFromJson(j, "t");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->name, "staging");
  EXPECT_EQ(*back->min_accuracy, 0.8);
  EXPECT_EQ(back->extra, e.extra);
  EXPECT_TRUE(back->gpu_required());
  j.erase("validation_config");
  EXPECT_EQ(EnvironmentFromJson(j, "t").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spatial::registry
