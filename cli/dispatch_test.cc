#include "cli/dispatch.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/model_cmd.h"
#include "gtest/gtest.h"

namespace spatial::cli {
namespace {

namespace fs = std::filesystem;

// Table: argv after the program -> whether the light `spatial` parses it.
TEST(DispatchTest, OnlyLightCommandsAreParsedByTheLightBinary) {
  struct Case {
    std::vector<std::string> args;
    bool light;
  };
  const Case cases[] = {
      {{"--version"}, true},       {{"model", "list"}, true},
      {{"audit", "verify"}, true}, {{"keys", "list"}, true},
      {{"token", "list"}, true},   {{}, false},
      {{"--help"}, false},         {{"serve"}, false},
      {{"eval", "model"}, false},  {{"completion", "bash"}, false},
      {{"modle", "list"}, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(StartsWithLightCommand(c.args), c.light)
        << ::testing::PrintToString(c.args);
  }
}

// `model register` reads the graph and `model validate` runs it: both go to
// spatial-full; every other model subcommand stays.
TEST(DispatchTest, RegisterAndValidateNeedTheEngine) {
  EXPECT_TRUE(NeedsEngine("model register"));
  EXPECT_TRUE(NeedsEngine("model validate"));
  EXPECT_FALSE(NeedsEngine("model list"));
  EXPECT_FALSE(NeedsEngine("model promote"));
  EXPECT_FALSE(NeedsEngine("audit verify"));
}

// The path of subcommands a parse chose, legacy aliases rewritten first.
TEST(DispatchTest, ChosenCommandIsThePathOfSubcommands) {
  struct Case {
    std::vector<std::string> args;
    std::string chosen;
  };
  const Case cases[] = {
      {{"model", "list", "--registry", "r.db"}, "model list"},
      {{"model", "--register", "dir", "--version-id", "v1"}, "model register"},
      {{"model", "--validate", "v1", "--environment", "development"},
       "model validate"},
  };
  for (const Case& c : cases) {
    auto args = RewriteArgs(c.args);
    ASSERT_TRUE(args.ok()) << args.status();
    auto app = NewTopLevelApp();
    CommandAction action;
    AddModelCommand(*app, &action);
    std::vector<std::string> reversed(args->rbegin(), args->rend());
    app->parse(reversed);
    EXPECT_EQ(ChosenCommand(*app), c.chosen);
  }
}

// A command that names a PostgreSQL registry (flag first, then
// $SPATIAL_REGISTRY) goes to spatial-full: the light `spatial` has no
// PostgreSQL client.
TEST(DispatchTest, APostgresRegistryNeedsTheFullBinary) {
  struct Case {
    std::vector<std::string> args;
    const char* env;  // $SPATIAL_REGISTRY, nullptr for unset
    bool postgres;
  };
  const Case cases[] = {
      {{"model", "list", "--registry", "postgresql://u@h/db"}, nullptr, true},
      {{"model", "--registry", "postgres://u@h/db", "list"}, nullptr, true},
      {{"model", "list", "--registry", "r.db"}, nullptr, false},
      {{"model", "list", "--registry", "sqlite:postgres://x"}, nullptr, false},
      {{"model", "list"}, nullptr, false},
      {{"model", "list"}, "postgresql://u@h/db", true},
      {{"model", "list"}, "var/registry.db", false},
      {{"model", "list", "--registry", "r.db"}, "postgresql://u@h/db", false},
      {{"model", "migrate", "--from", "r.db", "--to", "postgres://u@h/db"},
       nullptr,
       true},
      {{"model", "migrate", "--from", "r.db", "--to", "s.db"}, nullptr, false},
  };
  for (const Case& c : cases) {
    if (c.env != nullptr) {
      ::setenv("SPATIAL_REGISTRY", c.env, 1);
    } else {
      ::unsetenv("SPATIAL_REGISTRY");
    }
    auto app = NewTopLevelApp();
    CommandAction action;
    AddModelCommand(*app, &action);
    std::vector<std::string> reversed(c.args.rbegin(), c.args.rend());
    app->parse(reversed);
    EXPECT_EQ(NamesPostgresRegistry(*app), c.postgres)
        << ::testing::PrintToString(c.args) << " with $SPATIAL_REGISTRY "
        << (c.env != nullptr ? c.env : "unset");
  }
  ::unsetenv("SPATIAL_REGISTRY");
}

class FullBinaryPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dispatch.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "bin");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void WriteExecutable(const fs::path& p) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "#!/bin/sh\n";
    ::chmod(p.c_str(), 0755);
  }
  fs::path dir_;
};

// Beside the program first, then ../libexec/spatial/.
TEST_F(FullBinaryPathTest, BesideThenLibexec) {
  const std::string self = (dir_ / "bin" / "spatial").string();
  WriteExecutable(dir_ / "libexec" / "spatial" / "spatial-full");
  auto found = FullBinaryPath(self);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, (dir_ / "libexec" / "spatial" / "spatial-full").string());

  WriteExecutable(dir_ / "bin" / "spatial-full");
  found = FullBinaryPath(self);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, (dir_ / "bin" / "spatial-full").string());
}

// Neither there: NotFound naming where it looked and what to do.
TEST_F(FullBinaryPathTest, MissingIsNotFoundNamingBothPlaces) {
  auto found = FullBinaryPath((dir_ / "bin" / "spatial").string());
  ASSERT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(
      found.status().message().find((dir_ / "bin" / "spatial-full").string()),
      std::string::npos)
      << found.status();
  EXPECT_NE(found.status().message().find("libexec/spatial/spatial-full"),
            std::string::npos)
      << found.status();
  EXPECT_NE(found.status().message().find("install it beside spatial"),
            std::string::npos)
      << found.status();
}

// spatial-full names the `spatial` beside it (or in ../../bin) for the
// commands it starts; any other program, and a lone spatial-full, itself.
TEST_F(FullBinaryPathTest, DispatcherIsTheSpatialBesideSpatialFull) {
  const std::string full =
      (dir_ / "libexec" / "spatial" / "spatial-full").string();
  WriteExecutable(full);
  EXPECT_EQ(DispatcherPathFor(full), full);
  WriteExecutable(dir_ / "bin" / "spatial");
  EXPECT_EQ(DispatcherPathFor(full), (dir_ / "bin" / "spatial").string());
  WriteExecutable(dir_ / "libexec" / "spatial" / "spatial");
  EXPECT_EQ(DispatcherPathFor(full),
            (dir_ / "libexec" / "spatial" / "spatial").string());
  EXPECT_EQ(DispatcherPathFor("/usr/bin/other"), "/usr/bin/other");
}

}  // namespace
}  // namespace spatial::cli
