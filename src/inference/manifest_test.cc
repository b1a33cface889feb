#include "src/inference/manifest.h"

#include "gtest/gtest.h"

namespace spatial::inference {
namespace {

nlohmann::json Valid() {
  return nlohmann::json::parse(R"({
    "name": "spatial-pizza", "version": "1", "model_type": "spatial-mllm",
    "architecture": "dual-encoder",
    "classes": ["basic", "burnt", "combined", "mixed", "progression", "segment"],
    "inputs": [{"name": "visual", "kind": "visual", "shape": [3, 64, 64]},
               {"name": "spatial", "kind": "spatial", "shape": [4, 64, 64]}],
    "output": "logits",
    "preprocessing": {"normalization": {"mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.26]}},
    "metrics": {"accuracy": 0.97}
  })");
}

TEST(ManifestTest, ParsesAValidManifest) {
  auto m = ParseManifest(Valid(), "m.json");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->visual_size, 64);
  EXPECT_EQ(m->spatial_size, 64);
  EXPECT_TRUE(m->has_spatial());
  EXPECT_EQ(m->classes.size(), 6u);
  EXPECT_FLOAT_EQ(m->normalization.std[1], 0.25f);
  EXPECT_EQ(m->metrics["accuracy"], 0.97);
}

// Table: one field broken at a time, each refused naming it.
TEST(ManifestTest, RejectsBrokenFieldsNamingThem) {
  struct Case {
    std::string field;
    std::function<void(nlohmann::json&)> breakit;
  };
  const Case cases[] = {
      {"classes", [](auto& j) { j["classes"] = nlohmann::json::array(); }},
      {"inputs", [](auto& j) { j.erase("inputs"); }},
      {"inputs.kind", [](auto& j) { j["inputs"][0]["kind"] = "audio"; }},
      {"inputs.shape",
       [](auto& j) {
         j["inputs"][1]["shape"] = {3, 64, 64};
       }},
      {"inputs.shape",
       [](auto& j) {
         j["inputs"][0]["shape"] = {3, -1, 64};
       }},
      {"output", [](auto& j) { j["output"] = 5; }},
      {"normalization.std",
       [](auto& j) {
         j["preprocessing"]["normalization"]["std"] = {1, 0, 1};
       }},
      {"normalization.mean",
       [](auto& j) { j["preprocessing"]["normalization"]["mean"] = {1}; }},
  };
  for (const auto& c : cases) {
    nlohmann::json j = Valid();
    c.breakit(j);
    auto m = ParseManifest(j, "m.json");
    ASSERT_FALSE(m.ok()) << c.field;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(std::string(m.status().message()).find(c.field),
              std::string::npos)
        << m.status();
  }
}

TEST(ManifestTest, MissingBundleIsNotFound) {
  EXPECT_EQ(
      LoadManifest(::testing::TempDir() + "/no-such-bundle").status().code(),
      absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace spatial::inference
