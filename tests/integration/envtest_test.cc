// Black-box tests of `spatial envtest`: the real binary starts real servers
// with the shipped models on 127.0.0.1, checks them, and must leave no process
// behind: after a pass, a failure, --setup-only/--cleanup-only, or SIGINT.
// Children run through RunProcess or base::Subprocess. Single-threaded.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/base/subprocess.h"
#include "tests/integration/process.h"
#include "tests/test_paths.h"

namespace spatial::integration {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string FreshDir(const std::string& name) {
  std::string d = ::testing::TempDir() + "/envtest_" + name + "_" +
                  std::to_string(::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

ProcessResult Spatial(std::vector<std::string> args, int timeout_s = 90) {
  args.insert(args.begin(), spatial::testing::SpatialBinary());
  return RunProcess(args, {.cwd = spatial::testing::SourceDir(),
                           .timeout = std::chrono::seconds(timeout_s)});
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

Json ReadJson(const std::string& path) {
  return Json::parse(ReadText(path), nullptr, false);
}

// Gone: no /proc entry, or a zombie waiting for its (new) parent to reap it.
bool Gone(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  size_t close = text.rfind(')');
  return close + 2 < text.size() && text[close + 2] == 'Z';
}

bool GoneWithin(int pid, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Gone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Gone(pid);
}

// Test name -> test object of one environment in the JSON report.
std::map<std::string, Json> Tests(const Json& report, const std::string& env) {
  std::map<std::string, Json> out;
  for (const Json& t : report["environments"][env]["tests"])
    out[t["category"].get<std::string>() + "/" + t["name"].get<std::string>()] =
        t;
  return out;
}

// The shipped models pass every check in every environment; the reports say
// what was measured, and nothing keeps running afterwards.
TEST(EnvtestTest, AllEnvironmentsPassWithTheShippedModels) {
  std::string dir = FreshDir("all");
  auto r = Spatial({"envtest", "--environment", "all", "--output",
                    dir + "/report.json", "--junit", dir + "/junit.xml",
                    "--state-file", dir + "/state.json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find(" 0 failed"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/state.json")) << "state file left behind";
  Json report = ReadJson(dir + "/report.json");
  ASSERT_TRUE(report.is_object()) << ReadText(dir + "/report.json");
  EXPECT_EQ(report["status"], "passed");
  EXPECT_EQ(report["summary"]["failed"], 0);
  EXPECT_EQ(report["summary"]["errors"], 0);
  const std::map<std::string, double> accuracy_floor = {
      {"development", 0.70}, {"staging", 0.80}, {"production", 0.85}};
  for (const auto& [env, floor] : accuracy_floor) {
    SCOPED_TRACE(env);
    ASSERT_TRUE(report["environments"].contains(env));
    int pid = report["environments"][env]["server"]["pid"];
    EXPECT_GT(pid, 0);
    EXPECT_TRUE(GoneWithin(pid, std::chrono::seconds(5)))
        << "server " << pid << " still running";
    auto tests = Tests(report, env);
    for (const char* name : {"setup/server ready",
                             "api/GET /",
                             "api/GET /health",
                             "api/GET /status",
                             "api/GET /metrics",
                             "api/GET /ab-test/status",
                             "api/GET /v2/health/live",
                             "api/GET /v2/health/ready",
                             "api/POST /classify",
                             "api/POST /predict/spatial",
                             "api/POST /predict/standard",
                             "api/POST /ab-test/compare",
                             "api/GET visualization_url",
                             "api/bad input: not an image",
                             "api/bad input: truncated JPEG",
                             "api/bad input: wrong content type",
                             "api/bad input: missing file field",
                             "api/bad input: body over 10 MB",
                             "api/bad input: unknown path",
                             "classification/accuracy",
                             "performance/p95_latency",
                             "performance/error_rate",
                             "performance/availability"}) {
      ASSERT_TRUE(tests.count(name)) << name;
      EXPECT_EQ(tests[name]["status"], "passed")
          << name << ": " << tests[name].dump();
    }
    EXPECT_EQ(tests["api/bad input: body over 10 MB"]["measured"]["status"],
              413);
    const Json& acc = tests["classification/accuracy"];
    EXPECT_EQ(acc["threshold"]["min_accuracy"], floor);
    EXPECT_GE(acc["measured"]["accuracy"].get<double>(), 0.9);
    EXPECT_EQ(acc["measured"]["samples"], 120);
    int total = 0;
    for (const auto& row : acc["details"]["confusion_matrix"])
      for (const auto& v : row) total += v.get<int>();
    EXPECT_EQ(total, 120);
    EXPECT_EQ(acc["details"]["per_class"].size(), 6u);
    EXPECT_TRUE(acc["details"]["per_class"]["burnt"]["precision"].is_number());
    const Json& p95 = tests["performance/p95_latency"];
    EXPECT_GT(p95["measured"]["p95_ms"].get<double>(), 0);
    EXPECT_GT(p95["details"]["requests"].get<int>(), 50);
    EXPECT_EQ(tests["performance/availability"]["measured"]["availability"],
              1.0);
  }
  EXPECT_DOUBLE_EQ(Tests(report, "production")["performance/availability"]
                                              ["threshold"]["min_availability"]
                                                  .get<double>(),
                   0.995);
  std::string junit = ReadText(dir + "/junit.xml");
  for (const char* env : {"development", "staging", "production"}) {
    EXPECT_NE(junit.find(std::string("<testsuite name=\"") + env +
                         "\" tests=\"24\" failures=\"0\""),
              std::string::npos)
        << junit.substr(0, 2000);
  }
  EXPECT_NE(junit.find("classname=\"envtest.production.classification\" "
                       "name=\"accuracy\""),
            std::string::npos);
  EXPECT_EQ(junit.find("<failure"), std::string::npos);
}

// Thresholds out of reach (accuracy 1.01, p95 0.001 ms): exit 1, and the
// report and JUnit name the failed tests and why.
TEST(EnvtestTest, UnreachableThresholdsFailWithTheReason) {
  std::string dir = FreshDir("strict");
  Json envs = Json::parse(
      ReadText(spatial::testing::SourceDir() + "/config/environments.json"));
  envs["development"]["performance_requirements"]["accuracy"] = 1.01;
  envs["development"]["performance_requirements"]["inference_time_ms"] = 0.001;
  std::ofstream(dir + "/environments.json") << envs.dump(2);
  auto r = Spatial(
      {"envtest", "--environment", "development", "--test-classification",
       "--test-performance", "--environments-file", dir + "/environments.json",
       "--images", "30", "--output", dir + "/report.json", "--junit",
       dir + "/junit.xml", "--state-file", dir + "/state.json"});
  ASSERT_EQ(r.exit_code, 1) << r;
  EXPECT_NE(r.out.find("failed development classification/accuracy: "
                       "accuracy "),
            std::string::npos)
      << r.out;
  Json report = ReadJson(dir + "/report.json");
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["status"], "failed");
  auto tests = Tests(report, "development");
  EXPECT_EQ(tests.count("api/GET /health"), 0u) << "--test-api was not asked";
  const Json& acc = tests["classification/accuracy"];
  EXPECT_EQ(acc["status"], "failed") << acc.dump();
  EXPECT_NE(acc["reason"].get<std::string>().find("< 1.01 required on 30"),
            std::string::npos)
      << acc["reason"];
  EXPECT_EQ(acc["threshold"]["min_accuracy"], 1.01);
  const Json& p95 = tests["performance/p95_latency"];
  EXPECT_EQ(p95["status"], "failed") << p95.dump();
  EXPECT_NE(p95["reason"].get<std::string>().find("> 0.001 ms"),
            std::string::npos)
      << p95["reason"];
  // Error rate and availability are not what was tightened: they pass.
  EXPECT_EQ(tests["performance/availability"]["status"], "passed");
  std::string junit = ReadText(dir + "/junit.xml");
  EXPECT_NE(junit.find("<testsuite name=\"development\" tests=\"5\" "
                       "failures=\"2\""),
            std::string::npos)
      << junit;
  EXPECT_NE(junit.find("<failure message=\"accuracy "), std::string::npos);
  int pid = report["environments"]["development"]["server"]["pid"];
  EXPECT_TRUE(GoneWithin(pid, std::chrono::seconds(5)));
}

// A server that cannot start is a setup error carrying its log, exit 1.
TEST(EnvtestTest, AServerThatCannotStartIsAnErrorWithItsLog) {
  std::string dir = FreshDir("nostart");
  auto r = Spatial({"envtest", "--environment", "staging", "--model-dir",
                    dir + "/no-such-model", "--output", dir + "/report.json",
                    "--state-file", dir + "/state.json"});
  ASSERT_EQ(r.exit_code, 1) << r;
  Json report = ReadJson(dir + "/report.json");
  ASSERT_TRUE(report.is_object()) << r;
  auto tests = Tests(report, "staging");
  const Json& setup = tests["setup/server ready"];
  EXPECT_EQ(setup["status"], "error");
  std::string reason = setup["reason"];
  EXPECT_NE(reason.find("exited with code"), std::string::npos) << reason;
  EXPECT_NE(reason.find("no-such-model"), std::string::npos) << reason;
  EXPECT_FALSE(fs::exists(dir + "/state.json"));
}

TEST(EnvtestTest, UsageErrorsExitTwo) {
  auto unknown = Spatial({"envtest", "--environment", "stagin"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown;
  EXPECT_NE(unknown.err.find("unknown environment 'stagin'"), std::string::npos)
      << unknown;
  EXPECT_NE(unknown.err.find("staging"), std::string::npos);
  auto both = Spatial({"envtest", "--environment", "staging", "--setup-only",
                       "--cleanup-only"});
  EXPECT_EQ(both.exit_code, 2) << both;
  auto none = Spatial({"envtest"});
  EXPECT_EQ(none.exit_code, 2) << none;
}

// --setup-only leaves the servers running and recorded; a test run reuses
// them and leaves them; --cleanup-only stops exactly those.
TEST(EnvtestTest, SetupOnlyThenCleanupOnlyLeavesNothingBehind) {
  std::string dir = FreshDir("setup");
  const std::string state = dir + "/state.json";
  auto setup = Spatial({"envtest", "--environment", "development",
                        "--setup-only", "--state-file", state},
                       60);
  ASSERT_EQ(setup.exit_code, 0) << setup;
  EXPECT_NE(setup.out.find("--cleanup-only --state-file " + state),
            std::string::npos)
      << setup.out;
  Json j = ReadJson(state);
  ASSERT_TRUE(j.is_object()) << ReadText(state);
  ASSERT_EQ(j["servers"].size(), 1u);
  int pid = j["servers"][0]["pid"];
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(Gone(pid)) << "the server did not outlive --setup-only";
  std::string run_dir = j["run_dir"];
  EXPECT_TRUE(fs::exists(run_dir));

  auto again = Spatial({"envtest", "--environment", "development",
                        "--setup-only", "--state-file", state});
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_NE(again.err.find("still running"), std::string::npos) << again;

  auto tests =
      Spatial({"envtest", "--environment", "development", "--test-api",
               "--state-file", state, "--output", dir + "/report.json"});
  EXPECT_EQ(tests.exit_code, 0) << tests;
  EXPECT_EQ(
      ReadJson(dir +
               "/report.json")["environments"]["development"]["server"]["pid"],
      pid);
  EXPECT_FALSE(Gone(pid)) << "a test run stopped servers it did not start";

  auto cleanup = Spatial({"envtest", "--cleanup-only", "--state-file", state});
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup;
  EXPECT_NE(cleanup.out.find("stopped pid " + std::to_string(pid)),
            std::string::npos)
      << cleanup.out;
  EXPECT_TRUE(GoneWithin(pid, std::chrono::seconds(5)));
  EXPECT_FALSE(fs::exists(state));
  EXPECT_FALSE(fs::exists(run_dir));
  auto twice = Spatial({"envtest", "--cleanup-only", "--state-file", state});
  EXPECT_EQ(twice.exit_code, 0) << twice;
  EXPECT_NE(twice.out.find("nothing to clean up"), std::string::npos);
}

// SIGINT in the middle of a run: envtest stops every server it started and
// exits 130.
TEST(EnvtestTest, SigintDuringARunLeavesNoServerBehind) {
  std::string dir = FreshDir("sigint");
  const std::string state = dir + "/state.json";
  const std::string bin = spatial::testing::SpatialBinary();
  const std::string src = spatial::testing::SourceDir();
  const std::string log = dir + "/envtest.log";
  base::SpawnOptions spawn;
  spawn.cwd = src;
  spawn.out = base::Redirect::File(log);
  spawn.err = base::Redirect::SameAsStdout();
  auto envtest = base::Subprocess::Spawn(
      {bin, "envtest", "--environment", "all", "--state-file", state,
       "--output", dir + "/report.json"},
      spawn);
  ASSERT_TRUE(envtest.ok()) << envtest.status();
  // Wait until all three servers are up (their ports are recorded).
  std::vector<int> servers;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline && servers.size() < 3) {
    Json j = ReadJson(state);
    servers.clear();
    if (j.is_object()) {
      for (const Json& s : j["servers"])
        if (s.value("port", 0) > 0) servers.push_back(s["pid"]);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // mid-tests
  ASSERT_EQ(::kill(envtest->pid(), SIGINT), 0);
  // Bounded; the destructor kills it if it is still running.
  std::optional<base::ExitInfo> exit = envtest->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit.has_value()) << "envtest still running 20 s after SIGINT\n"
                                << ReadText(log);
  ASSERT_EQ(servers.size(), 3u) << ReadText(log);
  EXPECT_EQ(exit->signal, 0) << ReadText(log);
  EXPECT_EQ(exit->code, 130) << ReadText(log);
  for (int s : servers) {
    EXPECT_TRUE(GoneWithin(s, std::chrono::seconds(5)))
        << "server " << s << " survived SIGINT\n"
        << ReadText(log);
  }
  EXPECT_FALSE(fs::exists(state));
  Json report = ReadJson(dir + "/report.json");
  ASSERT_TRUE(report.is_object()) << ReadText(log);
  EXPECT_EQ(report["interrupted"], true);
  EXPECT_EQ(report["status"], "failed");
}

}  // namespace
}  // namespace spatial::integration
