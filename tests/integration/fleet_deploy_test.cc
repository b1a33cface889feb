// The deployment path CI takes against the team registry, end to end on this
// machine: a throw-away PostgreSQL, two `spatial serve --environment staging`
// processes following it (told of promotions by LISTEN/NOTIFY), and
// `spatial pipeline run --stages model-validation,deployment` with both as
// --server and a signing key staging trusts. A good version reaches both
// servers within a second of the promotion's commit and passes the canary; a
// version that passes its (measured) validation but that one replica cannot
// serve fails the post-deploy check, is rolled back, and both servers serve
// the version before it. With --canary-url (a Service's address, here one
// replica's), the report names the replicas that answered and served it.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/registry/postgres/test_server.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

// Starts one PostgreSQL server for the whole binary.
[[maybe_unused]] ::testing::Environment* const kPostgres =
    ::testing::AddGlobalTestEnvironment(
        new registry::pgtest::PostgresEnvironment);

std::string ServedVersion(int port) {
  Json j = Json::parse(Request(port, "GET", "/health").body, nullptr, false);
  if (!j.is_object() || !j["models"].contains("spatial")) return "";
  return j["models"]["spatial"].get<std::string>();
}

class FleetDeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = registry::pgtest::SharedTestPostgres()->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    // Staging as shipped (signature required, accuracy >= 0.80, p95 <= 2 s)
    // except its GPU rule: the pipeline's validation has no CPU override to
    // pass, and these hosts have no GPU.
    Json config = ParseJsonOrFail(
        ReadBytes(SourceDir() + "/config/environments.json"), "environments");
    config["staging"]["validation_config"]["allow_cpu_only"] = true;
    config_ = box_.WriteFile("environments.json", config.dump(2));
    ASSERT_EQ(
        Spatial({"keys", "generate", "--out", box_.Path("keys")}).exit_code, 0);
    ProcessResult r = Spatial({"keys", "trust", box_.Path("keys/signing.pub"),
                               "--environment", "staging"},
                              /*registry=*/true);
    ASSERT_EQ(r.exit_code, 0) << r;
    // s1: what the fleet serves before the pipeline runs.
    for (std::vector<std::string> args :
         {std::vector<std::string>{"register",
                                   ShippedBundle("spatial-pizza-v1"),
                                   "--version-id", "s1"},
          {"sign", "s1", "--key", box_.Path("keys/signing.key")},
          {"validate", "s1", "--environment", "staging"},
          {"promote", "s1", "--environment", "staging"}}) {
      args.insert(args.begin(), "model");
      r = Spatial(args, /*registry=*/true);
      ASSERT_EQ(r.exit_code, 0) << r;
    }
    // Server b reads its own copy of the store, taken now: it holds the blobs
    // of s1 (and of any version made of the same files), not those of a
    // version registered later, as a replica whose volume missed a sync.
    fs::copy(box_.store(), store_b(), fs::copy_options::recursive);
  }

  std::string store_b() const { return box_.Path("store-b"); }

  // `spatial ARGS...`, with the test's registry, store, config and actor
  // when `registry`.
  ProcessResult Spatial(std::vector<std::string> args,
                        bool registry = false) const {
    if (registry) {
      args.insert(args.end(), {"--registry", url_, "--store", box_.store(),
                               "--config", config_, "--actor", "tester"});
    }
    return box_.Spatial(args);
  }

  // A server that would look at the registry on its own only every 600 s:
  // only the NOTIFY of a promotion can make it swap within a second.
  std::unique_ptr<ServerProcess> StartServer(const std::string& name,
                                             const std::string& store) {
    auto s = std::make_unique<ServerProcess>(
        std::vector<std::string>{
            "--registry", url_, "--store", store, "--config", config_,
            "--environment", "staging", "--workers", "1", "--poll-registry-s",
            "600", "--trusted-key", box_.Path("keys/signing.pub")},
        box_.dir(), box_.Path(name + ".log"));
    EXPECT_TRUE(s->WaitReady(seconds(60))) << s->Log();
    auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (s->Log().find("listening for promotions in") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_NE(s->Log().find("listening for promotions in"), std::string::npos)
        << s->Log();
    return s;
  }

  struct Run {
    ProcessResult process;
    Json report;      // reports/pipeline_report.json
    Json deployment;  // reports/deployment.json
  };

  // The deployment job's pipeline: the bundle `bundle` through model
  // validation and deployment in staging, signed, verified on both servers.
  // `targets`: the flags naming what the deployment verifies (default both
  // servers as --server).
  Run Pipeline(const std::string& bundle, const std::string& output,
               int deploy_timeout_s = 30,
               std::vector<std::string> targets = {}) {
    if (targets.empty()) {
      targets = {"--server", Url(*a_), "--server", Url(*b_)};
    }
    std::vector<std::string> argv = {SpatialBinary(),
                                     "pipeline",
                                     "run",
                                     "--environment",
                                     "staging",
                                     "--stages",
                                     "model-validation,deployment",
                                     "--registry",
                                     url_,
                                     "--store",
                                     box_.store(),
                                     "--config",
                                     config_,
                                     "--model",
                                     bundle,
                                     "--signing-key",
                                     box_.Path("keys/signing.key"),
                                     "--canary-per-class",
                                     "2",
                                     "--deploy-timeout-s",
                                     std::to_string(deploy_timeout_s),
                                     "--output",
                                     box_.Path(output)};
    argv.insert(argv.end(), targets.begin(), targets.end());
    Run run;
    run.process = RunProcess(
        argv, {.cwd = SourceDir(), .timeout = std::chrono::seconds(240)});
    std::string dir;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(box_.Path(output), ec)) {
      dir = e.path().string();
    }
    run.report = ParseJsonOrFail(
        ReadBytes(dir + "/reports/pipeline_report.json"), "pipeline report");
    run.deployment = ParseJsonOrFail(
        ReadBytes(dir + "/reports/deployment.json"), "deployment.json");
    return run;
  }

  static std::string Url(const ServerProcess& s) {
    return "http://127.0.0.1:" + std::to_string(s.port());
  }

  static Json Stage(const Json& report, const std::string& name) {
    for (const auto& s : report["stages"]) {
      if (s["name"] == name) return s;
    }
    ADD_FAILURE() << "no stage " << name << " in " << report.dump(2);
    return Json::object();
  }

  // Prints each server's time from the promotion's commit to serving, from
  // the stage's report; returns the largest (-1 when one never got there).
  static double PrintTimes(const Json& fleet, const std::string& what) {
    double worst = 0;
    for (const auto& f : fleet) {
      const double ms = f.value("after_ms", -1.0);
      std::cout << what << ": " << f.value("url", "") << " served it " << ms
                << " ms after the commit (" << f.value("status", "") << ")\n";
      worst = ms < 0 || worst < 0 ? -1 : std::max(worst, ms);
    }
    return worst;
  }

  Sandbox box_;
  std::string url_, config_;
  std::unique_ptr<ServerProcess> a_, b_;
};

TEST_F(FleetDeployTest, PromotionReachesBothServersAndAFailedCanaryRollsBack) {
  a_ = StartServer("a", box_.store());
  b_ = StartServer("b", store_b());
  ASSERT_EQ(ServedVersion(a_->port()), "s1") << a_->Log();
  ASSERT_EQ(ServedVersion(b_->port()), "s1") << b_->Log();

  // 1. A good version: signed by the pipeline, validated, promoted, on both.
  // Its files are s1's (a new version id, the same bytes), so server b's
  // store has them.
  const std::string good_dir = box_.Path("spatial-pizza-good");
  fs::copy(ShippedBundle("spatial-pizza-v1"), good_dir,
           fs::copy_options::recursive);
  fs::remove(good_dir + "/model.sig");
  Run good = Pipeline(good_dir, "runs-good");
  ASSERT_EQ(good.process.exit_code, 0)
      << good.process << a_->Log() << b_->Log();
  const std::string v2 = good.report.value("version_id", "");
  EXPECT_EQ(good.report["deployment_mode"], "deployment");
  EXPECT_EQ(good.report["signing"]["signed"], "bundle copy") << good.report;
  EXPECT_EQ(Stage(good.report, "model-validation")["status"], "passed");
  Json deploy = Stage(good.report, "deployment");
  EXPECT_EQ(deploy["status"], "passed") << deploy;
  EXPECT_NE(deploy["reason"].get<std::string>().find("2 server(s) serve it"),
            std::string::npos)
      << deploy;
  ASSERT_EQ(good.deployment["fleet"].size(), 2u) << good.deployment;
  // What was measured (this machine, 2 shared cores, while other builds
  // ran): both servers served the new version 55-100 ms after the
  // promotion's commit (load of the signed bundle, warm-up, swap); the
  // promote command itself took ~150 ms; the rollback reached both in
  // 165-195 ms. The bound, 1 s from the
  // commit, is asserted; the servers' own poll is 600 s, so only the NOTIFY
  // can meet it.
  const double worst = PrintTimes(good.deployment["fleet"], "promotion");
  std::cout << "promote command: " << good.deployment["promotion"]["command_ms"]
            << " ms\n";
  EXPECT_GE(worst, 0) << good.deployment;
  EXPECT_LT(worst, 1000) << good.deployment;
  for (const auto& f : good.deployment["fleet"]) {
    EXPECT_EQ(f["post_deploy_check"], "passed") << f;
    EXPECT_GE(f["canary"]["accuracy"].get<double>(), 0.8) << f;
  }
  EXPECT_EQ(ServedVersion(a_->port()), v2);
  EXPECT_EQ(ServedVersion(b_->port()), v2);

  // 2. A version that validates (it is the good model: the gate measures
  // it and it passes) but that server b cannot load: its manifest is new
  // bytes, missing from b's store. a swaps to it; b keeps v2 and never
  // reports it, so the post-deploy check fails and the stage rolls back.
  std::string bad = box_.VariantBundle("spatial-pizza-unsynced");
  Run failed = Pipeline(bad, "runs-bad", /*deploy_timeout_s=*/8);
  EXPECT_EQ(failed.process.exit_code, 1) << failed.process;
  const std::string v3 = failed.report.value("version_id", "");
  EXPECT_EQ(Stage(failed.report, "model-validation")["status"], "passed")
      << failed.report;
  deploy = Stage(failed.report, "deployment");
  EXPECT_EQ(deploy["status"], "failed") << deploy;
  const std::string reason = deploy["reason"].get<std::string>();
  EXPECT_NE(reason.find("did not report version " + v3), std::string::npos)
      << reason;
  EXPECT_NE(reason.find("rolled back automatically to " + v2),
            std::string::npos)
      << reason;
  EXPECT_NE(reason.find("2 server(s) serve " + v2 + " again"),
            std::string::npos)
      << reason;
  EXPECT_NE(b_->Log().find(v3), std::string::npos)
      << "server b never tried the new version:\n"
      << b_->Log();
  // Server a did serve the new version; b never did.
  const Json& fleet = failed.deployment["fleet"];
  ASSERT_EQ(fleet.size(), 2u) << failed.deployment;
  EXPECT_GE(fleet[0].value("after_ms", -1.0), 0) << fleet;
  EXPECT_LT(fleet[0].value("after_ms", -1.0), 1000) << fleet;
  EXPECT_LT(fleet[1].value("after_ms", -1.0), 0) << fleet;
  EXPECT_LT(PrintTimes(failed.deployment["rollback"]["fleet"], "rollback"),
            1000)
      << failed.deployment;
  EXPECT_EQ(ServedVersion(a_->port()), v2) << a_->Log();
  EXPECT_EQ(ServedVersion(b_->port()), v2) << b_->Log();
  // The history names the bad version and why it was rolled back.
  ProcessResult history =
      Spatial({"model", "history", "--environment", "staging", "--json"}, true);
  Json h = ParseJsonOrFail(history.out, "history");
  Json events = h.is_array() ? h : h.value("events", Json());
  ASSERT_TRUE(events.is_array() && !events.empty()) << history;
  EXPECT_EQ(events.back()["kind"], "rollback") << history;
  EXPECT_EQ(events.back()["version_id"], v2) << history;
  EXPECT_NE(events.back()["reason"].get<std::string>().find(
                "post-deploy check failed"),
            std::string::npos)
      << history;
  EXPECT_NE(history.out.find(v3), std::string::npos) << history;

  EXPECT_EQ(a_->Terminate(seconds(20)), 0) << a_->Log();
  EXPECT_EQ(b_->Terminate(seconds(20)), 0) << b_->Log();
}

// The deployment through one address (--canary-url: a Service, here one
// replica, since loopback has no load balancer) with the other replica as
// --server: the report names each replica by /health's "instance"
// (host:pid) and says which served the new version.
TEST_F(FleetDeployTest, CanaryUrlReportNamesTheReplicasThatServedIt) {
  a_ = StartServer("a", box_.store());
  b_ = StartServer("b", store_b());
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  const std::string a_name =
      std::string(host) + ":" + std::to_string(a_->pid());
  const std::string b_name =
      std::string(host) + ":" + std::to_string(b_->pid());
  Json health =
      Json::parse(Request(a_->port(), "GET", "/health").body, nullptr, false);
  EXPECT_EQ(health.value("instance", ""), a_name) << health;

  const std::string good_dir = box_.Path("spatial-pizza-good");
  fs::copy(ShippedBundle("spatial-pizza-v1"), good_dir,
           fs::copy_options::recursive);
  fs::remove(good_dir + "/model.sig");
  Run run = Pipeline(good_dir, "runs-canary-url", 30,
                     {"--canary-url", Url(*a_), "--server", Url(*b_)});
  ASSERT_EQ(run.process.exit_code, 0) << run.process << a_->Log() << b_->Log();
  const std::string v2 = run.report.value("version_id", "");
  Json deploy = Stage(run.report, "deployment");
  EXPECT_EQ(deploy["status"], "passed") << deploy;
  EXPECT_NE(deploy["reason"].get<std::string>().find(
                "through " + Url(*a_) + ": replica(s) " + a_name + " serve it"),
            std::string::npos)
      << deploy;
  EXPECT_EQ(run.deployment["canary_url"], Url(*a_)) << run.deployment;
  const Json& service = run.deployment["service"];
  EXPECT_EQ(service["status"], "serving") << service;
  ASSERT_EQ(service["replicas"].size(), 1u) << service;
  EXPECT_EQ(service["replicas"][0]["instance"], a_name) << service;
  EXPECT_EQ(service["replicas"][0]["serving"], true) << service;
  EXPECT_GE(service["replicas"][0]["answers"].get<int>(), 20) << service;
  EXPECT_EQ(service["post_deploy_check"], "passed") << service;
  EXPECT_GE(service["canary"]["accuracy"].get<double>(), 0.8) << service;
  ASSERT_EQ(run.deployment["fleet"].size(), 1u) << run.deployment;
  EXPECT_EQ(run.deployment["fleet"][0]["instance"], b_name) << run.deployment;
  EXPECT_EQ(ServedVersion(a_->port()), v2);
  EXPECT_EQ(ServedVersion(b_->port()), v2);

  // A --canary-url that is no URL is a usage error, before anything runs.
  ProcessResult bad = RunProcess(
      {SpatialBinary(), "pipeline", "run", "--stages", "deployment",
       "--canary-url", "not-a-url", "--output", box_.Path("runs-bad-url")},
      {.cwd = SourceDir(), .timeout = seconds(60)});
  EXPECT_EQ(bad.exit_code, 2) << bad;
  EXPECT_NE(bad.err.find("--canary-url not-a-url"), std::string::npos) << bad;
  EXPECT_FALSE(fs::exists(box_.Path("runs-bad-url")));

  EXPECT_EQ(a_->Terminate(seconds(20)), 0) << a_->Log();
  EXPECT_EQ(b_->Terminate(seconds(20)), 0) << b_->Log();
}

}  // namespace
}  // namespace spatial::integration
