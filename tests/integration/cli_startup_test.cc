// Black-box tests that the registry, audit, key and token commands start
// without the inference stack (issue 22): the real `spatial` run under
// LD_DEBUG=libs (the dynamic loader names every library it loads on stderr,
// through an exec too) loads no OpenCV, protobuf, libonnx or libpq, while the
// commands that read or run a model (handed to spatial-full) do, and so does
// a command that names a PostgreSQL registry.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/process.h"

namespace spatial::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The libraries of the inference stack and the PostgreSQL client (libpq
// brings Kerberos, LDAP and GnuTLS), as the loader names them: only
// spatial-full links them.
const char* const kInferenceLibraries[] = {"libopencv_dnn.so", "libonnx",
                                           "libprotobuf.so",
                                           "libopencv_core.so", "libpq.so"};

// `spatial ARGS...` in the sandbox with LD_DEBUG=libs set through env(1).
ProcessResult UnderLdDebug(const Sandbox& box,
                           const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/env", "LD_DEBUG=libs",
                                   SpatialBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, {.cwd = box.dir()});
}

// Every light command exits 0 and its process never loads a library of the
// inference stack.
TEST(CliStartupTest, RegistryAuditKeysAndTokenCommandsSkipTheInferenceStack) {
  Sandbox box;
  box.Register(ShippedBundle("spatial-pizza-v1"), "v1");
  ASSERT_FALSE(box.AddToken("ci", "viewer").empty());
  const std::string reg = box.registry();
  const std::vector<std::vector<std::string>> commands = {
      {"--version"},
      {"model", "list", "--registry", reg},
      {"model", "list", "--registry", reg, "--json"},
      {"model", "info", "v1", "--registry", reg},
      {"model", "history", "--registry", reg},
      {"model", "environments", "--registry", reg},
      {"audit", "list", "--registry", reg},
      {"audit", "verify", "--registry", reg},
      {"keys", "list", "--registry", reg},
      {"token", "list", "--file", box.tokens_file()},
  };
  for (const auto& args : commands) {
    ProcessResult r = UnderLdDebug(box, args);
    ASSERT_EQ(r.exit_code, 0) << r;
    // The probe works: the loader reported the libraries it did load.
    ASSERT_THAT(r.err, HasSubstr("libsqlite3.so")) << r.command;
    for (const char* lib : kInferenceLibraries) {
      EXPECT_THAT(r.err, Not(HasSubstr(lib))) << r.command;
    }
  }
}

// The commands that read or run a model do load it (through spatial-full,
// same argv): the check above can fail.
TEST(CliStartupTest, CommandsThatReadAModelLoadTheInferenceStack) {
  Sandbox box;
  const std::vector<std::vector<std::string>> commands = {
      {"model", "register", ShippedBundle("spatial-pizza-v1"), "--version-id",
       "v1", "--registry", box.registry()},
      {"serve", "--help"},
  };
  for (const auto& args : commands) {
    ProcessResult r = UnderLdDebug(box, args);
    ASSERT_EQ(r.exit_code, 0) << r;
    for (const char* lib : kInferenceLibraries) {
      EXPECT_THAT(r.err, HasSubstr(lib)) << r.command;
    }
  }
}

// A command that names a PostgreSQL location (flag or $SPATIAL_REGISTRY) is
// handed to spatial-full, which has the client: the error is libpq's
// (nothing listens on port 1), not "linked without the PostgreSQL client".
TEST(CliStartupTest, APostgresRegistryIsHandedToTheFullProgram) {
  Sandbox box;
  const std::string url = "postgresql://nobody@127.0.0.1:1/none";
  const std::vector<std::vector<std::string>> commands = {
      {"model", "list", "--registry", url, "--store", box.dir() + "/store"},
      {"model", "migrate", "--from", box.registry(), "--to", url},
  };
  for (const auto& args : commands) {
    ProcessResult r = UnderLdDebug(box, args);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr("libpq.so")) << r.command;
    EXPECT_THAT(r.err, Not(HasSubstr("linked without the PostgreSQL client")))
        << r;
  }
  ProcessResult r = RunProcess(
      {"/usr/bin/env", "SPATIAL_REGISTRY=" + url, "LD_DEBUG=libs",
       SpatialBinary(), "keys", "list", "--store", box.dir() + "/store"},
      {.cwd = box.dir()});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("libpq.so")) << r.command;
  EXPECT_THAT(r.err, HasSubstr("Connection refused")) << r;
}

}  // namespace
}  // namespace spatial::integration
