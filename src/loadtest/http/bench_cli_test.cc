// `spatial bench` as a user runs it: the real binary (SPATIAL_BINARY, run
// through base::RunSubprocess) against a fixture server in this process.
// Checks the exit codes (0, 1, 2, 99) and the report files. Each test owns
// its server; the server's threads share nothing with the test's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/base/files.h"
#include "src/base/subprocess.h"
#include "src/loadtest/http/fixture_server.h"

namespace spatial::loadtest::http {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

// Runs `spatial ARGS...` ($SPATIAL_BINARY, else this build's) with stdout and
// stderr captured (base::RunSubprocess).
Outcome RunSpatial(const std::vector<std::string>& args) {
  const char* env = std::getenv("SPATIAL_BINARY");
  std::string binary =
      env != nullptr && *env != '\0' ? env : SPATIAL_DEFAULT_BINARY;
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  base::SpawnOptions captured;
  captured.out = base::Redirect::Capture();
  captured.err = base::Redirect::Capture();
  Outcome o;
  auto run = base::RunSubprocess(argv, captured, absl::Seconds(120));
  if (!run.ok()) {
    o.err = std::string(run.status().message());
    return o;
  }
  o.exit_code = run->timed_out ? -1 : run->exit.code;
  o.out = std::move(run->out);
  o.err = std::move(run->err);
  return o;
}

class BenchCliTest : public testing::Test {
 protected:
  void SetUp() override {
    auto server = FixtureServer::Start(
        {.delay = [](uint64_t) { return absl::Milliseconds(5); }});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  std::unique_ptr<FixtureServer> server_;
};

// A latency threshold out of reach fails the run with k6's exit code 99.
TEST_F(BenchCliTest, FailedThresholdExits99) {
  Outcome o = RunSpatial({"bench", server_->Url("/health"), "--concurrency",
                          "2", "--duration", "300ms", "--threshold", "p95<1ms",
                          "--threshold", "error_rate<0.01"});
  EXPECT_EQ(o.exit_code, 99) << o.out << o.err;
  EXPECT_TRUE(absl::StrContains(o.out, "FAIL  p95<1ms")) << o.out;
  EXPECT_TRUE(absl::StrContains(o.out, "PASS  error_rate<0.01")) << o.out;
}

// Thresholds within reach pass (exit 0) and the reports are written.
TEST_F(BenchCliTest, PassingThresholdsExit0AndWriteReports) {
  std::string json = testing::TempDir() + "/bench_cli.json";
  std::string csv = testing::TempDir() + "/bench_cli.csv";
  Outcome o = RunSpatial({"bench", server_->Url("/health"), "--concurrency",
                          "1:2:x2", "--duration", "200ms", "--warmup", "100ms",
                          "--threshold", "p95<2s", "--threshold", "rps>10",
                          "--json", json, "--csv", csv});
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  auto report = nlohmann::json::parse(base::ReadFile(json).value_or("{}"),
                                      nullptr, false);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_TRUE(report["passed"].get<bool>());
  ASSERT_EQ(report["levels"].size(), 2u);
  EXPECT_GT(report["levels"][1]["latency_ms"]["p50"].get<double>(), 4.5);
  EXPECT_GT(report["levels"][0]["warmup_requests"].get<int>(), 0);
  std::string table = base::ReadFile(csv).value_or("");
  EXPECT_TRUE(
      absl::StartsWith(table, "Concurrency,Inferences/Second,p50 latency"))
      << table;
}

// Usage errors exit 2 and say what was wrong.
TEST_F(BenchCliTest, UsageErrorsExit2) {
  const std::vector<std::vector<std::string>> cases = {
      {"bench", server_->Url(), "--threshold", "p95<fast"},
      {"bench", server_->Url(), "--duration", "10"},
      {"bench", server_->Url(), "--concurrency", "8:4"},
      {"bench", server_->Url(), "--rate", "10", "--concurrency", "4"},
      {"bench", server_->Url(), "--rate", "10", "--distribution", "uniform"},
      {"bench", "https://127.0.0.1/"},
      {"bench"},
  };
  for (const auto& args : cases) {
    Outcome o = RunSpatial(args);
    EXPECT_EQ(o.exit_code, 2) << args.back() << "\n" << o.err;
    EXPECT_FALSE(o.err.empty());
  }
  EXPECT_EQ(server_->requests(), 0u) << "a usage error sends nothing";
}

// Nothing listening on the port: exit 1 with the reason.
TEST_F(BenchCliTest, UnreachableTargetExits1) {
  // A port bound but not listening refuses connections, and nobody else can
  // take it meanwhile (a freed port could be reused by a parallel test).
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string url =
      "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  Outcome o = RunSpatial({"bench", url, "--duration", "200ms"});
  ::close(fd);
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_TRUE(absl::StrContains(o.err, "cannot connect")) << o.err;
}

// --help explains the flags with examples.
TEST_F(BenchCliTest, HelpShowsExamples) {
  Outcome o = RunSpatial({"bench", "--help"});
  EXPECT_EQ(o.exit_code, 0);
  for (const char* s : {"--threshold", "p95<1500ms", "--rate", "1:64:x2",
                        "--image-dir", "99"}) {
    EXPECT_TRUE(absl::StrContains(o.out, s)) << s;
  }
}

}  // namespace
}  // namespace spatial::loadtest::http
