// Black-box tests of `spatial pipeline run` on small stage subsets against a
// temp registry: a tampered artifact fails model validation and its
// dependants are skipped; a failed post-deploy check rolls back
// automatically; a real server that picks up the promotion passes.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {

namespace fs = std::filesystem;

struct PipelineRun {
  ProcessResult process;
  Json report;  // reports/pipeline_report.json (null when missing)
  std::string run_dir;
};

// Runs the pipeline from the source tree with the sandbox's registry.
PipelineRun RunPipeline(const Sandbox& box, std::vector<std::string> args,
                        const std::string& cwd = SourceDir(),
                        const std::string& config = "") {
  std::vector<std::string> argv = {
      SpatialBinary(),
      "pipeline",
      "run",
      "--registry",
      box.registry(),
      "--config",
      config.empty() ? SourceDir() + "/config/environments.json" : config,
      "--output",
      box.Path("runs")};
  argv.insert(argv.end(), args.begin(), args.end());
  PipelineRun run;
  run.process =
      RunProcess(argv, {.cwd = cwd, .timeout = std::chrono::seconds(50)});
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(box.Path("runs"), ec)) {
    run.run_dir = e.path().string();
  }
  std::string text = ReadBytes(run.run_dir + "/reports/pipeline_report.json");
  if (!text.empty()) run.report = ParseJsonOrFail(text, "pipeline_report");
  return run;
}

Json Stage(const PipelineRun& run, const std::string& name) {
  if (run.report.is_object()) {
    for (const auto& s : run.report["stages"]) {
      if (s["name"] == name) return s;
    }
  }
  ADD_FAILURE() << "no stage " << name << " in the report" << run.process;
  return Json::object();
}

std::string Bundle() { return SourceDir() + "/models/spatial-pizza-v1"; }

// A port on 127.0.0.1 with nothing listening (bound, then closed).
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(PipelineRunTest, TamperedArtifactFailsModelValidationAndSkipsDependants) {
  Sandbox box;
  box.Register(Bundle(), "v-tampered");
  // Alter the stored copy of the ONNX graph (found by its digest).
  const std::string onnx_sha = Sha256OfFile(Bundle() + "/model.onnx");
  std::string victim;
  uintmax_t biggest = 0;
  for (const auto& e : fs::recursive_directory_iterator(box.store())) {
    if (e.is_regular_file() && Sha256OfFile(e.path().string()) == onnx_sha) {
      biggest = e.file_size();
      victim = e.path().string();
    }
  }
  ASSERT_FALSE(victim.empty());
  fs::permissions(victim, fs::perms::owner_write, fs::perm_options::add);
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(biggest / 2));
    f.put('\x5a');
    f.put('\xa5');
  }

  PipelineRun run = RunPipeline(
      box, {"--model-version", "v-tampered", "--stages",
            "model-validation,performance-testing,security-scanning,"
            "deployment"});
  EXPECT_EQ(run.process.exit_code, 1) << run.process;
  ASSERT_TRUE(run.report.is_object()) << run.process;
  EXPECT_EQ(Stage(run, "model-validation")["status"], "failed") << run.report;
  // The registry's rules refuse the version: the artifact rule names the
  // corrupted file.
  std::string reason = Stage(run, "model-validation")["reason"];
  EXPECT_NE(reason.find("spatial model validate exited with 1"),
            std::string::npos)
      << reason;
  EXPECT_NE(reason.find("artifact: artifact file 'model.onnx' is corrupted"),
            std::string::npos)
      << reason;
  for (const char* dependant :
       {"performance-testing", "security-scanning", "deployment"}) {
    EXPECT_EQ(Stage(run, dependant)["status"], "skipped") << dependant;
  }
  EXPECT_EQ(Stage(run, "performance-testing")["reason"],
            "dependency model-validation failed");
  EXPECT_EQ(Stage(run, "environment-validation")["reason"],
            "not selected (--stages)");
  EXPECT_NE(run.process.out.find("skipped: dependency model-validation failed"),
            std::string::npos)
      << run.process;
  // The log names the failed artifact check; JUnit and HTML are written.
  std::string log = ReadBytes(run.run_dir + "/logs/model-validation.log");
  EXPECT_NE(log.find("model"), std::string::npos);
  // The children found the version in the sandbox's registry (the reason
  // above), which they got in their environment: no command line, which `ps`
  // shows to every user, carries it.
  EXPECT_NE(log.find("$ " + SpatialBinary() + " model "), std::string::npos)
      << log;
  EXPECT_EQ(log.find("--registry"), std::string::npos) << log;
  std::string junit = ReadBytes(run.run_dir + "/reports/pipeline_junit.xml");
  EXPECT_NE(junit.find("failures=\"1\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<skipped message=\"dependency model-validation failed"),
            std::string::npos);
  std::string html = ReadBytes(run.run_dir + "/reports/index.html");
  EXPECT_NE(html.find("<td class='failed'>failed</td>"), std::string::npos);
  // Nothing was promoted.
  Json history = box.JsonAt(box.registry(), {"history"});
  EXPECT_EQ(history.dump().find("v-tampered"), std::string::npos) << history;
}

// A checkout with a password in config/ and a world-readable private key in
// deploy/: the security stage fails and names the files, never the values.
// Passed stages say what they checked, counted from their own reports.
TEST(PipelineRunTest, PassedCheckStagesCountWhatTheyChecked) {
  Sandbox box;
  PipelineRun run = RunPipeline(box, {"--model", Bundle(), "--stages",
                                      "environment-validation,spatial-tests"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process;
  ASSERT_TRUE(run.report.is_object()) << run.process;
  for (const char* stage : {"environment-validation", "spatial-tests"}) {
    EXPECT_EQ(Stage(run, stage)["status"], "passed") << stage << run.report;
    std::string reason = Stage(run, stage)["reason"];
    EXPECT_NE(reason.find(" passed, 0 failed"), std::string::npos)
        << stage << ": " << reason;
    EXPECT_EQ(reason.find(": 0 passed"), std::string::npos) << reason;
  }
}

TEST(PipelineRunTest, SecurityStageFindsSecretsAndLooseKeyPermissions) {
  Sandbox box;
  box.Register(Bundle(), "v1");
  box.WriteFile("tree/config/app.yaml",
                "listen: 8001\ndb_password: \"hunter2-real-value\"\n"
                "api_token: ${API_TOKEN}\n");
  std::string key =
      box.WriteFile("tree/deploy/signing.key",
                    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA\n"
                    "-----END PRIVATE KEY-----\n");
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write |
                           fs::perms::group_read | fs::perms::others_read);
  PipelineRun run = RunPipeline(
      box, {"--model-version", "v1", "--stages", "security-scanning"},
      box.Path("tree"));
  EXPECT_EQ(run.process.exit_code, 1) << run.process;
  ASSERT_TRUE(run.report.is_object()) << run.process;
  Json stage = Stage(run, "security-scanning");
  EXPECT_EQ(stage["status"], "failed");
  EXPECT_NE(stage["reason"].get<std::string>().find("2 possible secret(s)"),
            std::string::npos)
      << stage;
  EXPECT_NE(
      stage["reason"].get<std::string>().find("1 file permission problem(s)"),
      std::string::npos)
      << stage;
  std::string text = ReadBytes(run.run_dir + "/reports/security.json");
  Json report = ParseJsonOrFail(text, "security.json");
  EXPECT_EQ(report["checksums"]["status"], "passed") << report;
  ASSERT_EQ(report["secrets"].size(), 2u) << report;
  EXPECT_EQ(report["secrets"][0]["file"], "config/app.yaml");
  EXPECT_EQ(report["secrets"][0]["line"], 2);
  EXPECT_EQ(report["permissions"][0]["file"].get<std::string>(), key);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << "a secret was copied";
  EXPECT_EQ(text.find("MC4CAQAw"), std::string::npos) << "a key was copied";
}

// A broken Dockerfile (unpinned base, root, no health check) fails the
// container stage's static checks; the deployment is then skipped.
TEST(PipelineRunTest, BrokenDockerfileFailsContainerStageAndBlocksDeployment) {
  Sandbox box;
  box.Register(Bundle(), "v1");
  box.WriteFile("tree/Dockerfile.spatial",
                "FROM debian:latest\nCOPY . /app\nCMD [\"/app/spatial\", "
                "\"serve\"]\n");
  box.WriteFile("tree/docker-compose.yml",
                "services:\n  pizza-api-spatial:\n    build: .\n");
  PipelineRun run = RunPipeline(
      box,
      {"--model-version", "v1", "--stages", "container-build-test,deployment"},
      box.Path("tree"));
  EXPECT_EQ(run.process.exit_code, 1) << run.process;
  ASSERT_TRUE(run.report.is_object()) << run.process;
  Json stage = Stage(run, "container-build-test");
  EXPECT_EQ(stage["status"], "failed") << stage;
  EXPECT_NE(stage["reason"].get<std::string>().find(
                "spatial check --docker-mode (static checks) exited with 1"),
            std::string::npos)
      << stage;
  EXPECT_EQ(Stage(run, "deployment")["reason"],
            "dependency container-build-test failed");
  std::string log = ReadBytes(run.run_dir + "/logs/container-build-test.log");
  EXPECT_NE(log.find("unpinned: debian:latest"), std::string::npos) << log;
  EXPECT_NE(log.find("it would run as root"), std::string::npos) << log;
  Json history = box.JsonAt(box.registry(), {"history"});
  EXPECT_EQ(history.dump().find("v1"), std::string::npos) << history;
}

// An accuracy floor no model reaches fails multi-environment testing for
// that reason, and the deployment that depends on it does not happen.
TEST(PipelineRunTest, UnreachableAccuracyFailsEnvtestAndBlocksDeployment) {
  Sandbox box;
  std::string config = ReadBytes(SourceDir() + "/config/environments.json");
  Json envs = ParseJsonOrFail(config, "environments.json");
  envs["development"]["performance_requirements"]["accuracy"] = 1.01;
  std::string strict = box.WriteFile("strict.json", envs.dump(2));
  PipelineRun run = RunPipeline(
      box,
      {"--model", Bundle(), "--stages", "multi-environment-testing,deployment"},
      SourceDir(), strict);
  EXPECT_EQ(run.process.exit_code, 1) << run.process;
  ASSERT_TRUE(run.report.is_object()) << run.process;
  Json stage = Stage(run, "multi-environment-testing");
  EXPECT_EQ(stage["status"], "failed") << stage;
  Json envtest = ParseJsonOrFail(
      ReadBytes(run.run_dir + "/reports/envtest.json"), "envtest.json");
  EXPECT_NE(envtest.dump().find("1.01"), std::string::npos) << envtest.dump();
  EXPECT_EQ(Stage(run, "deployment")["reason"],
            "dependency multi-environment-testing failed");
}

TEST(PipelineRunTest, BadFlagsAreUsageErrorsAndLeaveNoRun) {
  Sandbox box;
  box.Register(Bundle(), "v1");
  const std::vector<std::vector<std::string>> bad = {
      {"--environment", "nope", "--model-version", "v1"},
      {"--stages", "model-validation,9"},
      {"--model-version", "v1", "--model", Bundle()},
      {"--model", box.dir()},
  };
  for (const auto& args : bad) {
    PipelineRun run = RunPipeline(box, args);
    EXPECT_EQ(run.process.exit_code, 2) << run.process;
    EXPECT_NE(run.process.err.find("error: "), std::string::npos)
        << run.process;
    EXPECT_TRUE(run.run_dir.empty()) << run.run_dir << run.process;
  }
  Json history = box.JsonAt(box.registry(), {"history"});
  EXPECT_EQ(history.dump().find("v1"), std::string::npos) << history;
}

// v1 is active; the pipeline promotes v2 but the --server never becomes
// ready: the deployment stage fails and rolls back to v1 with the reason.
TEST(PipelineRunTest, FailedPostDeployCheckRollsBackAutomatically) {
  Sandbox box;
  box.Register(Bundle(), "v1");
  box.Register(Bundle(), "v2");
  ASSERT_EQ(
      box.Model({"validate", "v1", "--environment", "development"}).exit_code,
      0);
  ASSERT_EQ(
      box.Model({"promote", "v1", "--environment", "development"}).exit_code,
      0);
  std::string server = "http://127.0.0.1:" + std::to_string(ClosedPort());
  PipelineRun run = RunPipeline(
      box, {"--model-version", "v2", "--stages", "model-validation,deployment",
            "--server", server, "--deploy-timeout-s", "2"});
  EXPECT_EQ(run.process.exit_code, 1) << run.process;
  ASSERT_TRUE(run.report.is_object()) << run.process;
  EXPECT_EQ(Stage(run, "model-validation")["status"], "passed");
  // The reports carry what validation measured, beside what v2 declares.
  Json details = Stage(run, "model-validation").value("details", Json());
  EXPECT_EQ(details["measurement"].value("status", ""), "measured")
      << details.dump(2);
  EXPECT_EQ(details["measurement"].value("n", 0), 120);  // development's set
  EXPECT_TRUE(details["rules"]["accuracy"]["declared"].is_number());
  EXPECT_NE(Stage(run, "model-validation")["reason"].get<std::string>().find(
                "measured accuracy"),
            std::string::npos);
  EXPECT_NE(ReadBytes(run.run_dir + "/reports/index.html")
                .find("Model validation (measured by spatial model validate)"),
            std::string::npos);
  Json deploy = Stage(run, "deployment");
  EXPECT_EQ(deploy["status"], "failed");
  std::string reason = deploy["reason"].get<std::string>();
  EXPECT_NE(reason.find("post-deploy check failed"), std::string::npos)
      << reason;
  EXPECT_NE(reason.find("rolled back automatically"), std::string::npos)
      << reason;

  Json history =
      box.JsonAt(box.registry(), {"history", "--environment", "development"});
  Json events = history.is_array() ? history : history.value("events", Json());
  ASSERT_TRUE(events.is_array()) << history;
  ASSERT_GE(events.size(), 3u) << history;  // promote v1, promote v2, rollback
  const Json& last = events.back();
  EXPECT_EQ(last["kind"], "rollback") << history;
  EXPECT_EQ(last["version_id"], "v1") << history;
  EXPECT_NE(last["reason"].get<std::string>().find("post-deploy check failed"),
            std::string::npos)
      << history;
  Json latest =
      box.JsonAt(box.registry(), {"latest", "--environment", "development"});
  EXPECT_NE(latest.dump().find("v1"), std::string::npos) << latest;
}

// A real server following the registry picks up the promoted version; the
// canary batch passes and the HTML report has its histogram and matrix.
TEST(PipelineRunTest, DeploymentToARealServerPassesTheCanary) {
  Sandbox box;
  box.Register(Bundle(), "v1");
  box.Register(Bundle(), "v2");
  ASSERT_EQ(
      box.Model({"validate", "v1", "--environment", "development"}).exit_code,
      0);
  ASSERT_EQ(
      box.Model({"promote", "v1", "--environment", "development"}).exit_code,
      0);
  ServerProcess server({"--registry", box.registry(), "--environment",
                        "development", "--poll-registry-s", "1", "--config",
                        SourceDir() + "/config/environments.json"},
                       box.dir(), box.Path("server.log"));
  ASSERT_TRUE(server.WaitReady(std::chrono::seconds(20))) << server.Log();
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  PipelineRun run =
      RunPipeline(box, {"--model-version", "v2", "--stages",
                        "model-validation,deployment", "--server", url,
                        "--deploy-timeout-s", "20", "--canary-per-class", "2"});
  EXPECT_EQ(run.process.exit_code, 0) << run.process << server.Log();
  ASSERT_TRUE(run.report.is_object());
  EXPECT_EQ(Stage(run, "deployment")["status"], "passed") << run.report;
  Json deployment = ParseJsonOrFail(
      ReadBytes(run.run_dir + "/reports/deployment.json"), "deployment.json");
  EXPECT_EQ(deployment["canary"]["images"], 12) << deployment;
  EXPECT_GE(deployment["canary"]["accuracy"].get<double>(), 0.7);
  std::string html = ReadBytes(run.run_dir + "/reports/index.html");
  EXPECT_NE(html.find("Latency histogram (deployment canary, 12 requests)"),
            std::string::npos);
  EXPECT_NE(html.find("Confusion matrix (deployment canary)"),
            std::string::npos);
  auto count = [&html](const std::string& what) {
    int n = 0;
    for (size_t p = html.find(what); p != std::string::npos;
         p = html.find(what, p + 1)) {
      ++n;
    }
    return n;
  };
  // Nothing from the network: the only URLs are the SVG namespaces.
  EXPECT_EQ(count("http://"), count("http://www.w3.org/2000/svg"));
  EXPECT_EQ(count("https://"), 0);
  EXPECT_EQ(count("<script"), 0);
  EXPECT_NE(html.find("href='../logs/deployment.log'"), std::string::npos);
}

}  // namespace
}  // namespace spatial::integration
