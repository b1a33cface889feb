// `spatial serve` on a PostgreSQL registry learns of a promotion made by
// another process through LISTEN/NOTIFY, at once, although it polls only
// every 10 minutes; and a lost listening connection is logged and recovered
// from without the server failing.
#include <chrono>
#include <filesystem>
#include <pqxx/pqxx>
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
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string ServedVersion(int port, const char* slot) {
  Json j = Json::parse(Request(port, "GET", "/health").body, nullptr, false);
  if (j.is_discarded() || !j["models"].contains(slot)) return "";
  return j["models"][slot].get<std::string>();
}

// Waits until `pred()` or `limit` passes; whether it held.
template <typename Pred>
bool WaitFor(Pred pred, Clock::duration limit,
             Clock::duration step = milliseconds(5)) {
  auto deadline = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(step);
  }
  return true;
}

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class PostgresServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = registry::pgtest::SharedTestPostgres()->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    // s1 active; s2 (the same model, another manifest) validated, waiting.
    Register(ShippedBundle("spatial-pizza-v1"), "s1");
    Register(box_.VariantBundle("s2"), "s2");
    Register(box_.VariantBundle("s3"), "s3");
    ProcessResult r = Model({"promote", "s1", "--environment", "development"});
    ASSERT_EQ(r.exit_code, 0) << r;
  }

  ProcessResult Model(std::vector<std::string> args) const {
    args.insert(args.end(), {"--store", box_.Path("store")});
    return box_.ModelAt(url_, args);
  }

  void Register(const std::string& dir, const std::string& id) {
    ProcessResult r = Model({"register", dir, "--version-id", id});
    ASSERT_EQ(r.exit_code, 0) << r;
    r = Model({"validate", id, "--environment", "development"});
    ASSERT_EQ(r.exit_code, 0) << r;
  }

  // A server that would look at the registry on its own only every 600 s.
  std::unique_ptr<ServerProcess> StartServer() {
    auto s = std::make_unique<ServerProcess>(
        std::vector<std::string>{
            "--registry", url_, "--store", box_.Path("store"), "--environment",
            "development", "--workers", "1", "--poll-registry-s", "600",
            "--model-dir", ShippedBundle("standard-pizza-v1")},
        box_.dir(), box_.Path("serve.log"));
    EXPECT_TRUE(s->WaitReady(seconds(60))) << s->Log();
    EXPECT_TRUE(WaitFor(
        [&] {
          return s->Log().find("listening for promotions in") !=
                 std::string::npos;
        },
        seconds(10)))
        << s->Log();
    return s;
  }

  // Promotes `id` from another process; the time from that process's exit
  // (its transaction committed before) until the server serves `id`, in ms.
  double PromoteAndTimeTheSwap(const ServerProcess& server,
                               const std::string& id) {
    auto start = Clock::now();
    ProcessResult r = Model({"promote", id, "--environment", "development"});
    EXPECT_EQ(r.exit_code, 0) << r;
    const double command_ms = MsSince(start);
    auto committed = Clock::now();
    bool swapped =
        WaitFor([&] { return ServedVersion(server.port(), "spatial") == id; },
                seconds(20));
    const double swap_ms = MsSince(committed);
    EXPECT_TRUE(swapped) << server.Log();
    std::cout << "promote " << id << ": the command took " << command_ms
              << " ms; its commit to serving " << id << ": " << swap_ms
              << " ms\n";
    return swap_ms;
  }

  Sandbox box_;
  std::string url_;
};

TEST_F(PostgresServeTest, SwapsWithinASecondOfAPromotionByAnotherProcess) {
  auto server = StartServer();
  ASSERT_EQ(ServedVersion(server->port(), "spatial"), "s1") << server->Log();
  EXPECT_LT(PromoteAndTimeTheSwap(*server, "s2"), 1000) << server->Log();
  EXPECT_NE(
      server->Log().find("serving s2 (active in development), replacing s1"),
      std::string::npos)
      << server->Log();
  // A rollback is told the same way.
  auto start = Clock::now();
  ProcessResult r = Model({"rollback", "--environment", "development"});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto committed = Clock::now();
  ASSERT_TRUE(
      WaitFor([&] { return ServedVersion(server->port(), "spatial") == "s1"; },
              seconds(20)))
      << server->Log();
  const double swap_ms = MsSince(committed);
  std::cout
      << "rollback: the command took "
      << std::chrono::duration<double, std::milli>(committed - start).count()
      << " ms; its commit to serving s1: " << swap_ms << " ms\n";
  EXPECT_LT(swap_ms, 1000) << server->Log();
  // SIGTERM ends the listening thread with the rest, promptly.
  auto stopping = Clock::now();
  EXPECT_EQ(server->Terminate(seconds(20)), 0) << server->Log();
  std::cout << "terminate took " << MsSince(stopping) << " ms\n";
}

TEST_F(PostgresServeTest, ALostListeningConnectionIsLoggedAndRecovered) {
  auto server = StartServer();
  {
    pqxx::connection admin(url_);
    pqxx::nontransaction tx(admin);
    auto killed = tx.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
        "datname = current_database() AND query LIKE 'LISTEN%'");
    ASSERT_EQ(killed.size(), 1u);
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return server->Log().find("listening again for promotions in") !=
               std::string::npos;
      },
      seconds(20)))
      << server->Log();
  std::string log = server->Log();
  EXPECT_NE(log.find("not told of changes in postgresql://"), std::string::npos)
      << log;
  EXPECT_EQ(Request(server->port(), "GET", "/v2/health/ready").status, 200);
  EXPECT_LT(PromoteAndTimeTheSwap(*server, "s3"), 1000) << server->Log();
  EXPECT_EQ(server->Terminate(seconds(20)), 0) << server->Log();
}

}  // namespace
}  // namespace spatial::integration
