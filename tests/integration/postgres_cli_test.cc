// Black-box test of `spatial model` against a PostgreSQL database that does
// not exist (issue 21): every command is refused (exit 1) naming the
// database, whether it reads or creates; nothing is made. Uses the shared
// test server of postgres_process_test.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/registry/postgres/test_server.h"
#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {
namespace {

using ::testing::HasSubstr;

TEST(PostgresMissingDatabaseTest, IsRefusedByReadingAndCreatingCommands) {
  Sandbox box;
  const std::string url =
      registry::pgtest::SharedTestPostgres()->Url("no_such_registry");
  const std::string model = box.WriteRandomFile("m.onnx", 64);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"list"},
           {"status"},
           {"init"},
           {"register", model, "--version-id", "v1", "--architecture",
            "dual-encoder"}}) {
    std::vector<std::string> with_store = args;
    with_store.insert(with_store.end(), {"--store", box.Path("store")});
    ProcessResult r = box.ModelAt(url, with_store);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr("error: ")) << r;
    EXPECT_THAT(r.err, HasSubstr("no_such_registry")) << r;
  }
}

}  // namespace
}  // namespace spatial::integration
