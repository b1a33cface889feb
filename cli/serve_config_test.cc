#include "cli/serve_config.h"

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace spatial::cli {
namespace {

using V = std::vector<std::string>;

// An environment made of `vars` only.
EnvLookup Env(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](const char* name) {
    auto it = vars.find(name);
    return it == vars.end() ? std::string() : it->second;
  };
}

// No flag, no variable: development on 8001, both shipped bundles, no
// registry, no tokens, the documented defaults.
TEST(ServeConfigTest, DefaultsWithoutFlagsOrEnvironment) {
  auto c = MakeServeConfig(ServeFlags{}, Env());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->environment, "development");
  EXPECT_EQ(c->address, "0.0.0.0");
  EXPECT_EQ(c->port, 8001);
  EXPECT_EQ(c->model_dirs,
            (V{"models/spatial-pizza-v1", "models/standard-pizza-v1"}));
  EXPECT_FALSE(c->has_registry());
  EXPECT_TRUE(c->trusted_keys.files.empty());
  EXPECT_EQ(c->tokens_file, "");
  EXPECT_EQ(c->cache_bytes, 16u << 20);
  EXPECT_EQ(c->feedback_window, 200);
  EXPECT_EQ(c->feedback_min_labelled, 50);
  EXPECT_EQ(c->feedback_max_per_token, 25);  // half of 50, rounded up
  EXPECT_FALSE(c->accuracy_floor.has_value());
  EXPECT_EQ(c->workers, 0);
}

// Each variable stands in for its flag when the flag is not given.
TEST(ServeConfigTest, EnvironmentVariablesStandInForFlags) {
  auto c = MakeServeConfig(ServeFlags{},
                           Env({{"ENVIRONMENT", "staging"},
                                {"API_PORT", "9100"},
                                {"SPATIAL_MODEL_PATH", "/srv/model-a"},
                                {"SPATIAL_TRUSTED_KEYS", "/k/a.pub::/k/b.pub"},
                                {"SPATIAL_TOKENS_FILE", "/etc/tokens.json"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->environment, "staging");
  EXPECT_EQ(c->port, 9100);
  EXPECT_EQ(c->model_dirs, V{"/srv/model-a"});
  EXPECT_EQ(c->trusted_keys.files, (V{"/k/a.pub", "/k/b.pub"}));
  EXPECT_EQ(c->trusted_keys.given_by, "$SPATIAL_TRUSTED_KEYS");
  EXPECT_EQ(c->tokens_file, "/etc/tokens.json");
}

// $MODEL_TYPE standard or both adds the shipped standard bundle to
// $SPATIAL_MODEL_PATH.
TEST(ServeConfigTest, ModelTypeAddsTheStandardBundle) {
  for (const char* type : {"standard", "both"}) {
    auto c = MakeServeConfig(ServeFlags{}, Env({{"SPATIAL_MODEL_PATH", "/m"},
                                                {"MODEL_TYPE", type}}));
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->model_dirs, (V{"/m", "models/standard-pizza-v1"})) << type;
  }
}

// A flag wins over its variable.
TEST(ServeConfigTest, FlagsWinOverEnvironmentVariables) {
  ServeFlags f;
  f.environment = "production";
  f.port = 0;
  f.model_dirs = {"bundle"};
  f.trusted_keys = {"flag.pub"};
  f.tokens_file = "flag-tokens.json";
  auto c =
      MakeServeConfig(f, Env({{"ENVIRONMENT", "staging"},
                              {"API_PORT", "9100"},
                              {"SPATIAL_MODEL_PATH", "/srv/model-a"},
                              {"SPATIAL_TRUSTED_KEYS", "/k/a.pub"},
                              {"SPATIAL_TOKENS_FILE", "/etc/tokens.json"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->environment, "production");
  EXPECT_EQ(c->port, 0);
  EXPECT_EQ(c->model_dirs, V{"bundle"});
  EXPECT_EQ(c->trusted_keys.files, V{"flag.pub"});
  EXPECT_EQ(c->trusted_keys.given_by, "--trusted-key");
  EXPECT_EQ(c->tokens_file, "flag-tokens.json");
}

// With a registry (flag or $SPATIAL_REGISTRY) no bundle is served by default,
// the registry must exist, and $SPATIAL_TRUSTED_KEYS is read: the keys given
// at deploy time anchor the registry's (cli/serve_trust.h).
TEST(ServeConfigTest, RegistryServesNoDefaultBundlesAndReadsKeyVariable) {
  auto c = MakeServeConfig(ServeFlags{},
                           Env({{"SPATIAL_REGISTRY", "/var/reg.db"},
                                {"SPATIAL_MODEL_PATH", "/srv/model-a"},
                                {"SPATIAL_TRUSTED_KEYS", "/k/a.pub"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->has_registry());
  EXPECT_EQ(c->registry.registry, "/var/reg.db");
  EXPECT_TRUE(c->registry.must_exist);
  EXPECT_TRUE(c->model_dirs.empty());
  EXPECT_EQ(c->trusted_keys.files, V{"/k/a.pub"});
  EXPECT_EQ(c->trusted_keys.given_by, "$SPATIAL_TRUSTED_KEYS");
}

// --no-registry: $SPATIAL_REGISTRY is not followed, the bundles are served;
// a registry from the variable says so in registry_source.
TEST(ServeConfigTest, NoRegistryIgnoresTheRegistryVariable) {
  ServeFlags f;
  f.registry.no_registry = true;
  auto c = MakeServeConfig(f, Env({{"SPATIAL_REGISTRY", "/var/reg.db"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->has_registry());
  EXPECT_EQ(c->registry_source, RegistrySource::kNone);
  EXPECT_EQ(c->model_dirs,
            (V{"models/spatial-pizza-v1", "models/standard-pizza-v1"}));
  auto from_env =
      MakeServeConfig(ServeFlags{}, Env({{"SPATIAL_REGISTRY", "/var/reg.db"}}));
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->registry_source, RegistrySource::kEnvironment);
  ServeFlags flag;
  flag.registry.registry = "/srv/reg.db";
  auto from_flag =
      MakeServeConfig(flag, Env({{"SPATIAL_REGISTRY", "/var/reg.db"}}));
  ASSERT_TRUE(from_flag.ok()) << from_flag.status();
  EXPECT_EQ(from_flag->registry.registry, "/srv/reg.db");
  EXPECT_EQ(from_flag->registry_source, RegistrySource::kFlag);
}

// Derived values: the cache in bytes, an explicit per-token bound kept.
TEST(ServeConfigTest, DerivesCacheBytesAndKeepsAGivenTokenBound) {
  ServeFlags f;
  f.cache_mb = 0.5;
  f.feedback_window = 10;
  f.feedback_min_labelled = 4;
  f.feedback_max_per_token = 10;
  auto c = MakeServeConfig(f, Env());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->cache_bytes, 512u * 1024);
  EXPECT_EQ(c->feedback_max_per_token, 10);
}

// Every value out of range and every combination that does not go together
// is a usage error (InvalidArgument) whose message names the flag.
TEST(ServeConfigTest, RefusesBadValuesAndCombinationsNamingTheFlag) {
  struct Case {
    std::function<void(ServeFlags&)> set;
    std::map<std::string, std::string> env;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](ServeFlags&) {},
       {{"API_PORT", "http"}},
       "API_PORT must be a port number, got 'http'"},
      {[](ServeFlags&) {},
       {{"API_PORT", "70000"}},
       "API_PORT must be a port number, got '70000'"},
      {[](ServeFlags& f) { f.port = 65536; }, {}, "--port must be 0..65535"},
      {[](ServeFlags& f) { f.ab_split = 1.5; },
       {},
       "--ab-split must be in [0, 1]"},
      {[](ServeFlags& f) { f.cache_mb = -1; },
       {},
       "--cache-mb must be a size in MB from 0 (no cache) to 1048576"},
      {[](ServeFlags& f) { f.inject_spatial_faults = 2; },
       {},
       "--inject-spatial-faults must be in [0, 1]"},
      {[](ServeFlags& f) { f.feedback_window = 0; },
       {},
       "--feedback-window must be 1..1000000"},
      {[](ServeFlags& f) {
         f.feedback_window = 10;
         f.feedback_min_labelled = 20;
       },
       {},
       "--feedback-min-labelled must be 1..--feedback-window"},
      {[](ServeFlags& f) { f.feedback_max_per_token = -1; },
       {},
       "--feedback-max-per-token must be 1..--feedback-window"},
      {[](ServeFlags& f) { f.accuracy_floor = 1.5; },
       {},
       "--accuracy-floor must be in [0, 1]"},
      {[](ServeFlags& f) { f.rollback_on_drift = true; },
       {},
       "--rollback-on-drift needs --registry (it rolls back the registry's "
       "environment)"},
      {[](ServeFlags& f) { f.require_token = true; },
       {},
       "--require-token needs --tokens-file (or $SPATIAL_TOKENS_FILE)"},
  };
  for (const auto& c : cases) {
    ServeFlags f;
    c.set(f);
    auto got = MakeServeConfig(f, Env(c.env));
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument)
        << c.message;
    EXPECT_EQ(got.status().message(), c.message);
  }
}

// The combinations above become fine with what they lacked.
TEST(ServeConfigTest, AcceptsTheCombinationsWithWhatTheyNeed) {
  ServeFlags f;
  f.rollback_on_drift = true;
  f.require_token = true;
  auto c = MakeServeConfig(f, Env({{"SPATIAL_REGISTRY", "reg.db"},
                                   {"SPATIAL_TOKENS_FILE", "tokens.json"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->rollback_on_drift);
  EXPECT_TRUE(c->require_token);
}

}  // namespace
}  // namespace spatial::cli
