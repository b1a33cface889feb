#include "src/envtest/targets.h"

#include "gtest/gtest.h"
#include "src/registry/legacy_json.h"

namespace spatial::envtest {
namespace {

using Json = nlohmann::json;

registry::Environment Env(const Json& load_profile) {
  registry::Environment e;
  e.name = "staging";
  e.min_accuracy = 0.8;
  e.max_inference_time_ms = 2000;
  if (!load_profile.is_null()) e.extra["load_profile"] = load_profile;
  return e;
}

TEST(TargetsTest, ReadsTheLoadProfileAndThresholds) {
  auto t = TargetsFor(Env({{"rate", 60},
                           {"duration_s", 2},
                           {"warmup_s", 0.5},
                           {"concurrency", 8},
                           {"max_error_rate", 0.02},
                           {"availability", 0.98}}));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->environment, "staging");
  EXPECT_DOUBLE_EQ(*t->min_accuracy, 0.8);
  EXPECT_DOUBLE_EQ(*t->max_latency_ms, 2000);
  ASSERT_TRUE(t->load);
  EXPECT_DOUBLE_EQ(t->load->rate, 60);
  EXPECT_DOUBLE_EQ(t->load->duration_s, 2);
  EXPECT_DOUBLE_EQ(t->load->warmup_s, 0.5);
  EXPECT_EQ(t->load->concurrency, 8);
  EXPECT_DOUBLE_EQ(t->load->max_error_rate, 0.02);
  EXPECT_DOUBLE_EQ(t->load->availability, 0.98);
}

TEST(TargetsTest, NoLoadProfileMeansNoLoadTargets) {
  auto t = TargetsFor(Env(nullptr));
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->load);
}

TEST(TargetsTest, RejectsAMalformedProfileNamingTheField) {
  auto missing = TargetsFor(Env({{"duration_s", 2}}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("load_profile.rate is missing"),
            std::string::npos)
      << missing.status();
  auto negative = TargetsFor(Env({{"rate", -1}, {"duration_s", 2}}));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("rate must be in"),
            std::string::npos);
  auto text = TargetsFor(Env({{"rate", "fast"}, {"duration_s", 2}}));
  EXPECT_FALSE(text.ok());
  EXPECT_FALSE(TargetsFor(Env(Json::array())).ok());
}

// The shipped environments file parses, keeps load_profile in extra, and
// round-trips it through the registry's JSON (import/export of
// deployment_environments.json).
TEST(TargetsTest, ShippedEnvironmentsCarryLoadProfilesThroughTheRegistryJson) {
  std::string path =
      std::string(SPATIAL_DEFAULT_SOURCE_DIR) + "/config/environments.json";
  FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr) << path;
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
    text.append(buf, n);
  std::fclose(f);
  auto envs = registry::EnvironmentsFromJson(Json::parse(text), path);
  ASSERT_TRUE(envs.ok()) << envs.status();
  ASSERT_EQ(envs->size(), 3u);
  std::map<std::string, double> availability;
  for (const auto& e : *envs) {
    auto t = TargetsFor(e);
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_TRUE(t->load) << e.name;
    availability[e.name] = t->load->availability;
    auto back = registry::EnvironmentsFromJson(
        registry::EnvironmentsToJson({e}), "round trip");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ((*back)[0].extra, e.extra);
  }
  EXPECT_DOUBLE_EQ(availability["development"], 0.95);
  EXPECT_DOUBLE_EQ(availability["staging"], 0.98);
  EXPECT_DOUBLE_EQ(availability["production"], 0.995);
}

}  // namespace
}  // namespace spatial::envtest
