// Black-box tests of what a newcomer meets first (issue 21): where the
// registry comes from is said, a mistyped registry is not created, usage
// errors exit 2 everywhere with "error:" and a close match, and `model
// status` shows what is deployed where. The real binary, real SQLite files
// in a sandbox; $SPATIAL_REGISTRY set through env(1).
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/process.h"

namespace spatial::integration {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// `spatial ARGS...` in the sandbox with $SPATIAL_REGISTRY set to `registry`
// ("" = unset).
ProcessResult WithRegistryVariable(const Sandbox& box,
                                   const std::string& registry,
                                   const std::vector<std::string>& args,
                                   int timeout_s = 20) {
  std::vector<std::string> argv = {"/usr/bin/env", "-u", "SPATIAL_REGISTRY"};
  if (!registry.empty()) argv.push_back("SPATIAL_REGISTRY=" + registry);
  argv.push_back(SpatialBinary());
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(
      argv, {.cwd = box.dir(), .timeout = std::chrono::seconds(timeout_s)});
}

// Every command that reads a registry refuses one that does not exist
// (exit 1, naming the path and `spatial model init`) and creates nothing.
TEST(CliNewcomerTest, ReadingCommandsRefuseARegistryThatDoesNotExist) {
  Sandbox box;
  const std::string missing = box.Path("nosuchdir/x/registry.db");
  const std::vector<std::vector<std::string>> commands = {
      {"model", "list"},
      {"model", "test"},
      {"model", "history"},
      {"model", "environments"},
      {"model", "status"},
      {"model", "info", "v1"},
      {"model", "latest", "--environment", "development"},
      {"model", "rollback", "--environment", "development", "--plan"},
      {"model", "export", "--out", box.Path("export")},
      {"audit", "verify"},
      {"audit", "list"},
      {"keys", "list"},
  };
  for (auto args : commands) {
    args.insert(args.end(), {"--registry", missing});
    ProcessResult r = box.Spatial(args);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr("error: no registry at " + missing)) << r;
    EXPECT_THAT(r.err, HasSubstr("spatial model init")) << r;
    EXPECT_FALSE(fs::exists(box.Path("nosuchdir"))) << r;
  }
  // The variable's registry is named as such.
  ProcessResult env = WithRegistryVariable(box, missing, {"model", "list"});
  EXPECT_EQ(env.exit_code, 1) << env;
  EXPECT_THAT(env.err, HasSubstr("(from $SPATIAL_REGISTRY)")) << env;
  EXPECT_FALSE(fs::exists(box.Path("nosuchdir")));
}

// `model init` creates the registry the reading commands then accept.
TEST(CliNewcomerTest, InitCreatesARegistryThatListThenReads) {
  Sandbox box;
  const std::string fresh = box.Path("fresh/registry.db");
  ProcessResult init = box.ModelAt(fresh, {"init"});
  ASSERT_EQ(init.exit_code, 0) << init;
  EXPECT_THAT(init.out, HasSubstr("ready: 0 version(s), environments "
                                  "development, production, staging"));
  ProcessResult list = box.ModelAt(fresh, {"list"});
  EXPECT_EQ(list.exit_code, 0) << list;
  EXPECT_THAT(list.out, HasSubstr("0 version(s) in sqlite:" + fresh));
}

// A registry the user did not name on the command line is said on stderr,
// once, with where it came from; one given with --registry is not repeated.
TEST(CliNewcomerTest, SaysWhereAnImplicitRegistryCameFrom) {
  Sandbox box;
  ASSERT_EQ(box.Model({"init"}).exit_code, 0);
  ProcessResult env =
      WithRegistryVariable(box, box.registry(), {"model", "list"});
  EXPECT_EQ(env.exit_code, 0) << env;
  EXPECT_EQ(env.err,
            "registry: " + box.registry() + " (from $SPATIAL_REGISTRY)\n");

  ASSERT_EQ(box.ModelAt(box.Path("var/registry.db"), {"init"}).exit_code, 0);
  ProcessResult def = WithRegistryVariable(box, "", {"model", "list"});
  EXPECT_EQ(def.exit_code, 0) << def;
  EXPECT_THAT(def.err, StartsWith("registry: var/registry.db (from the "
                                  "default; neither --registry nor "
                                  "$SPATIAL_REGISTRY is set)\n"));

  // Machine output stays clean even where stderr is merged into it.
  ProcessResult json =
      WithRegistryVariable(box, box.registry(), {"model", "list", "--json"});
  EXPECT_EQ(json.exit_code, 0) << json;
  EXPECT_EQ(json.err, "") << json;

  ProcessResult flag = box.Model({"list"});
  EXPECT_EQ(flag.exit_code, 0) << flag;
  EXPECT_EQ(flag.err, "") << flag;
}

// An empty --registry is a usage error everywhere (it would silently mean
// the variable or the default); --no-registry does not go with --registry.
TEST(CliNewcomerTest, EmptyRegistryFlagIsAUsageError) {
  Sandbox box;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"model", "list", "--registry", ""},
           {"serve", "--registry", "", "--port", "0"},
           {"check", "--dry-run", "--registry", ""}}) {
    ProcessResult r = box.Spatial(args);
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_THAT(r.err, HasSubstr("error: --registry: an empty --registry "
                                 "names no registry"))
        << r;
    EXPECT_THAT(r.err, HasSubstr("--no-registry")) << r;
  }
  ProcessResult both = box.Spatial(
      {"serve", "--registry", box.registry(), "--no-registry", "--port", "0"});
  EXPECT_EQ(both.exit_code, 2) << both;
  EXPECT_THAT(both.err, HasSubstr("excludes")) << both;
  EXPECT_FALSE(fs::exists(box.registry()));
}

// `check` takes $SPATIAL_REGISTRY like the others and says so; --no-registry
// turns it off.
TEST(CliNewcomerTest, CheckFollowsTheRegistryVariableUnlessToldNot) {
  Sandbox box;
  const std::string reg = box.Path("team/registry.db");
  ProcessResult plan =
      WithRegistryVariable(box, reg,
                           {"check", "--dry-run", "--test-inference",
                            "--model-dir", ShippedBundle("standard-pizza-v1")});
  EXPECT_EQ(plan.exit_code, 0) << plan;
  EXPECT_THAT(plan.out,
              HasSubstr("[run ] versioning: registry consistency of " + reg +
                        " (from $SPATIAL_REGISTRY)"));
  ProcessResult off = WithRegistryVariable(
      box, reg,
      {"check", "--dry-run", "--test-inference", "--no-registry", "--model-dir",
       ShippedBundle("standard-pizza-v1")});
  EXPECT_EQ(off.exit_code, 0) << off;
  EXPECT_THAT(off.out, HasSubstr("[skip] versioning: no registry"));
}

// With $SPATIAL_REGISTRY set (a registry where nothing is promoted), envtest
// passes as without it: its servers run the bundles, and it says so.
TEST(CliNewcomerTest, EnvtestIgnoresTheRegistryVariableAndSaysSo) {
  Sandbox box;
  ASSERT_EQ(box.Model({"init"}).exit_code, 0);
  ProcessResult r = WithRegistryVariable(
      box, box.registry(),
      {"envtest", "--environment", "staging", "--test-api", "--model-dir",
       ShippedBundle("spatial-pizza-v1"), "--model-dir",
       ShippedBundle("standard-pizza-v1"), "--output", box.Path("report.json"),
       "--state-file", box.Path("state.json")},
      120);
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("envtest: registry: none: the servers run the "
                               "model bundles"));
  EXPECT_THAT(r.out, Not(HasSubstr("setup failed"))) << r;
  EXPECT_THAT(box.Spatial({"envtest", "--help"}).out,
              HasSubstr("$SPATIAL_REGISTRY is not followed"));
  EXPECT_THAT(box.Spatial({"check", "--help"}).out,
              HasSubstr("else $SPATIAL_REGISTRY"));
}

// An unknown environment is a usage error (2) in every command, with the
// closest name; pipeline run refuses before it makes its run directory.
TEST(CliNewcomerTest, UnknownEnvironmentExitsTwoEverywhere) {
  Sandbox box;
  box.Register(ShippedBundle("standard-pizza-v1"), "s1");
  const std::string dym = "(did you mean: production?)";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"validate", "s1", "--environment", "prod"},
           {"promote", "s1", "--environment", "prod"},
           {"status", "--environment", "prod"},
           {"history", "--environment", "prod"}}) {
    ProcessResult r = box.Model(args);
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_THAT(r.err, HasSubstr("error: unknown environment 'prod'")) << r;
    EXPECT_THAT(r.err, HasSubstr(dym)) << r;
  }
  for (const char* keys : {"list", "require"}) {
    ProcessResult r = box.Spatial(
        {"keys", keys, "--environment", "prod", "--registry", box.registry()});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_THAT(r.err, HasSubstr(dym)) << r;
  }
  ProcessResult serve = box.Spatial({"serve", "--registry", box.registry(),
                                     "--environment", "prod", "--port", "0"});
  EXPECT_EQ(serve.exit_code, 2) << serve;
  EXPECT_THAT(serve.err, HasSubstr("unknown environment 'prod'")) << serve;

  const std::string out = box.Path("runs");
  ProcessResult pipeline = box.Spatial(
      {"pipeline", "run", "--environment", "prod", "--registry", box.registry(),
       "--model", ShippedBundle("standard-pizza-v1"), "--output", out});
  EXPECT_EQ(pipeline.exit_code, 2) << pipeline;
  EXPECT_THAT(pipeline.err, HasSubstr("unknown environment 'prod'"));
  EXPECT_FALSE(fs::exists(out)) << "a refused run left " << out;
}

// A payload file that does not exist is a usage error, not an unreachable
// target.
TEST(CliNewcomerTest, BenchWithAMissingImageIsAUsageError) {
  Sandbox box;
  ProcessResult r =
      box.Spatial({"bench", "http://127.0.0.1:1/classify", "--image",
                   box.Path("nosuch.jpg"), "--requests", "1"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("error: cannot build the request payload"));
  EXPECT_THAT(r.err, HasSubstr("nosuch.jpg"));
  EXPECT_THAT(r.err, Not(HasSubstr("unreachable"))) << r;
}

// Command-line errors print like every other error, with a close command
// name for a mistyped one and where the usage is.
TEST(CliNewcomerTest, ParseErrorsSayErrorAndSuggestACloseCommand) {
  Sandbox box;
  ProcessResult top = box.Spatial({"modle", "list"});
  EXPECT_EQ(top.exit_code, 2) << top;
  EXPECT_THAT(top.err, StartsWith("error: unknown command 'modle' for "
                                  "'spatial' (did you mean: model?)\n"));
  EXPECT_THAT(top.err, HasSubstr("run 'spatial --help' for usage"));

  ProcessResult sub = box.Spatial({"model", "lsit"});
  EXPECT_EQ(sub.exit_code, 2) << sub;
  EXPECT_THAT(sub.err, StartsWith("error: unknown command 'lsit' for "
                                  "'spatial model' (did you mean: init, "
                                  "list?)"));

  ProcessResult missing = box.Spatial({"model", "info"});
  EXPECT_EQ(missing.exit_code, 2) << missing;
  EXPECT_THAT(missing.err, StartsWith("error: id is required"));
  EXPECT_THAT(missing.err, HasSubstr("run 'spatial model info --help'"));
}

// `model status`: per environment the active version, when and by whom it
// was promoted, its validation and signature; `environments` shows the
// active version too.
TEST(CliNewcomerTest, StatusShowsWhatIsDeployedWhere) {
  Sandbox box;
  box.RegisterAndPromote(ShippedBundle("standard-pizza-v1"), "s1");
  Json status = box.JsonAt(box.registry(), {"status"});
  ASSERT_EQ(status.size(), 3u) << status.dump(2);
  EXPECT_EQ(status[0]["environment"], "development");
  EXPECT_EQ(status[0]["active_version"], "s1");
  EXPECT_EQ(status[0]["by"], "tester");
  EXPECT_EQ(status[0]["kind"], "promote");
  EXPECT_FALSE(status[0]["since"].get<std::string>().empty());
  EXPECT_EQ(status[0]["validation"]["valid"], true);
  EXPECT_EQ(status[0]["signature"]["state"], "unsigned");
  EXPECT_EQ(status[0]["signature"]["required"], false);
  EXPECT_EQ(status[1]["environment"], "staging");
  EXPECT_TRUE(status[1]["active_version"].is_null());

  ProcessResult table = box.Model({"status"});
  ASSERT_EQ(table.exit_code, 0) << table;
  EXPECT_THAT(table.out, HasSubstr("ENVIRONMENT  ACTIVE  SINCE"));
  EXPECT_THAT(table.out, HasSubstr("tester  promote  valid       unsigned"));

  ProcessResult envs = box.Model({"environments"});
  ASSERT_EQ(envs.exit_code, 0) << envs;
  EXPECT_THAT(envs.out, HasSubstr("ENVIRONMENT  ACTIVE"));
  EXPECT_THAT(envs.out, HasSubstr("development  s1"));
}

// Where a signature is required, status checks it now: verified while the
// signing key is trusted, FAILED (with the reason, exit 1) once it is not.
TEST(CliNewcomerTest, StatusChecksTheSignatureWhereOneIsRequired) {
  Sandbox box;
  box.Register(ShippedBundle("standard-pizza-v1"), "s1");
  auto run = [&](std::vector<std::string> args) {
    return box.SpatialOk(std::move(args));
  };
  ASSERT_EQ(
      box.Spatial({"keys", "generate", "--out", box.Path("keys")}).exit_code,
      0);
  run({"model", "sign", "s1", "--key", box.Path("keys/signing.key")});
  run({"keys", "trust", box.Path("keys/signing.pub"), "--environment",
       "development"});
  run({"keys", "require", "--environment", "development"});
  run({"model", "validate", "s1", "--environment", "development"});
  run({"model", "promote", "s1", "--environment", "development"});

  Json status = box.JsonAt(box.registry(), {"status"});
  ASSERT_EQ(status[0]["environment"], "development") << status.dump(2);
  EXPECT_EQ(status[0]["signature"]["required"], true);
  EXPECT_EQ(status[0]["signature"]["state"], "verified");
  ASSERT_EQ(status[0]["signature"]["key_ids"].size(), 1u);
  const std::string key = status[0]["signature"]["key_ids"][0];

  run({"keys", "untrust", key, "--environment", "development"});
  ProcessResult json = box.Model({"status", "--json"});
  EXPECT_EQ(json.exit_code, 1) << json;
  status = ParseJsonOrFail(json.out, "model status --json");
  EXPECT_EQ(status[0]["signature"]["state"], "failed");
  EXPECT_FALSE(status[0]["signature"]["message"].get<std::string>().empty());
  ProcessResult table = box.Model({"status", "--environment", "development"});
  EXPECT_EQ(table.exit_code, 1) << table;
  EXPECT_THAT(table.out, HasSubstr("FAILED by " + key + " (required): "));
  EXPECT_THAT(table.err, HasSubstr("signature required in development"));
}

}  // namespace
}  // namespace spatial::integration
