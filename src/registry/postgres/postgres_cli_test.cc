// `spatial model ...` against the PostgreSQL test server, through the binary
// (SPATIAL_BINARY, set by CMake) as a CI runner would use it.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/registry/postgres/postgres_registry.h"
#include "src/registry/postgres/test_server.h"

namespace spatial::registry {
namespace {
namespace fs = std::filesystem;

class PostgresCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("SPATIAL_BINARY");
    if (bin == nullptr || *bin == '\0') {
      GTEST_SKIP() << "SPATIAL_BINARY is not set";
    }
    binary_ = bin;
    auto url = pgtest::SharedTestPostgres()->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat(
               "pg_cli_", ::getpid(), "_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    model_ = (dir_ / "model.onnx").string();
    std::ofstream(model_) << "not really onnx, but bytes to store";
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Runs `spatial model ARGS...` with the registry in $SPATIAL_REGISTRY.
  pgtest::CommandResult Spatial(std::vector<std::string> args,
                                std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), {binary_, "model"});
    env.emplace("SPATIAL_REGISTRY", url_);
    env.emplace("SPATIAL_ACTOR", "ci-runner");
    auto r = pgtest::RunCommand(args, env);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(pgtest::CommandResult{});
  }
  std::string Store() const { return (dir_ / "store").string(); }

  std::string binary_, url_, model_;
  fs::path dir_;
};

// Register, validate, promote and list through the CLI land in PostgreSQL.
TEST_F(PostgresCliTest, RegisterValidatePromoteList) {
  auto reg =
      Spatial({"register", model_, "--version-id", "pg-v1", "--architecture",
               "dual-encoder", "--metric", "accuracy=0.91", "--metric",
               "inference_time_ms=120", "--store", Store()});
  ASSERT_EQ(reg.exit_code, 0) << reg.output;
  auto val = Spatial({"validate", "pg-v1", "--environment", "development",
                      "--store", Store()});
  ASSERT_EQ(val.exit_code, 0) << val.output;
  auto promote = Spatial({"promote", "pg-v1", "--environment", "development",
                          "--reason", "first", "--store", Store()});
  ASSERT_EQ(promote.exit_code, 0) << promote.output;
  auto list = Spatial({"list", "--json", "--store", Store()});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  auto j = nlohmann::json::parse(list.output, nullptr, false);
  ASSERT_TRUE(j.is_array()) << list.output;
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].value("version_id", ""), "pg-v1");
  EXPECT_EQ(j[0].value("validation_status", ""), "validated");

  // The same rows, seen by another client of the database.
  auto direct = PostgresRegistry::Open({.url = url_});
  ASSERT_TRUE(direct.ok()) << direct.status();
  auto active = (*direct)->ActiveVersion("development");
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_EQ(active->value_or(""), "pg-v1");
  auto history = (*direct)->History("development");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].actor, "ci-runner");
  EXPECT_EQ((*history)[0].reason, "first");
  // A second register of the id is refused by the shared registry.
  auto again = Spatial({"register", model_, "--version-id", "pg-v1",
                        "--architecture", "dual-encoder", "--store", Store()});
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("already registered"), std::string::npos)
      << again.output;
}

// With PostgreSQL there is no "beside the registry" for the store: --store is
// a usage error when missing, and nothing is written.
TEST_F(PostgresCliTest, StoreIsRequired) {
  auto r = Spatial({"list"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--store"), std::string::npos) << r.output;
  auto direct = PostgresRegistry::Open({.url = url_});
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_TRUE((*direct)->ListEnvironments()->empty());
}

// The password in --registry is never printed, on success or on failure.
TEST_F(PostgresCliTest, PasswordIsNotPrinted) {
  std::string with_password = url_;
  with_password.replace(with_password.find("spatial@"), 8,
                        "spatial:t0p-s3cret@");
  auto ok = Spatial({"list", "--registry", with_password, "--store", Store()});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(ok.output.find("t0p-s3cret"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("spatial:***@"), std::string::npos) << ok.output;
  std::string unreachable =
      absl::StrCat("postgresql://spatial:t0p-s3cret@/nodb?host=",
                   (dir_ / "nowhere").string());
  auto bad = Spatial({"list", "--registry", unreachable, "--store", Store()});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_EQ(bad.output.find("t0p-s3cret"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace spatial::registry
