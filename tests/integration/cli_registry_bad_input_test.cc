// Black-box tests of `spatial model` on bad input: each is refused with the
// right exit code and a clear message, and leaves the registry as it was.
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Everything a refused command must leave alone.
struct RegistryState {
  Json versions, history, environments;
  std::vector<std::string> store;
  bool operator==(const RegistryState&) const = default;
};

RegistryState Snapshot(const Sandbox& box, const std::string& registry,
                       const std::string& store) {
  return {box.JsonAt(registry, {"list"}), box.JsonAt(registry, {"history"}),
          box.JsonAt(registry, {"environments"}), ListTree(store)};
}

struct BadCase {
  std::string name;
  std::vector<std::string> args;
  int exit_code;
  std::vector<std::string> messages;  // each must appear in stderr
};

void ExpectRefusedWithoutChange(const Sandbox& box, const std::string& registry,
                                const std::string& store,
                                const std::vector<BadCase>& cases) {
  const RegistryState before = Snapshot(box, registry, store);
  ASSERT_FALSE(before.versions.empty());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ProcessResult r = box.ModelAt(registry, c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << r;
    for (const auto& m : c.messages) EXPECT_THAT(r.err, HasSubstr(m)) << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_TRUE(Snapshot(box, registry, store) == before) << r;
  }
}

// Bad ids, paths, metrics, configs, environments, unknown ids and unknown
// flags are refused with a message naming the problem; nothing changes.
TEST(CliRegistryTest, RefusesBadInputWithoutChangingRegistry) {
  Sandbox box;
  std::string model = box.WriteRandomFile("model.onnx", 512);
  std::string other = box.WriteRandomFile("other.onnx", 512);
  box.Register(model, "resnet-v1", {"--metric", "accuracy=0.9"});
  ASSERT_EQ(box.Model({"validate", "resnet-v1", "--environment", "development"})
                .exit_code,
            0);
  ASSERT_EQ(box.Model({"promote", "resnet-v1", "--environment", "development"})
                .exit_code,
            0);
  fs::create_directories(box.Path("empty-dir"));
  fs::create_symlink(model, box.Path("link.onnx"));
  box.WriteRandomFile("dir-with-link/model.onnx", 64);
  fs::create_symlink(other, box.Path("dir-with-link/weights.bin"));
  std::string not_json = box.WriteFile("bad-config.json", "{lr: 0.1");
  std::string array_json = box.WriteFile("array-config.json", "[1, 2]");
  const std::string missing = box.Path("does-not-exist.onnx");
  const std::string sha = Sha256OfFile(model);
  auto reg = [](std::string path, std::string id,
                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"register",       std::move(path),
                                     "--version-id",   std::move(id),
                                     "--architecture", "dual-encoder"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  const std::string dym = "(did you mean: resnet-v1?)";
  const std::string known = "(known: development, production, staging)";
  const std::vector<BadCase> cases = {
      {"dot-dot id", reg(other, "../x"), 2, {"invalid version id '../x'"}},
      {"slash id",
       reg(other, "a/b"),
       2,
       {"invalid version id 'a/b'", "not allowed"}},
      {"empty id", reg(other, ""), 2, {"invalid version id '': it is empty"}},
      {"129-char id",
       reg(other, std::string(129, 'a')),
       2,
       {"longer than 128 characters"}},
      {"missing file",
       reg(missing, "v2"),
       1,
       {"no such file or directory: " + missing}},
      {"empty directory",
       reg(box.Path("empty-dir"), "v2"),
       2,
       {"is an empty directory"}},
      {"symlink",
       reg(box.Path("link.onnx"), "v2"),
       2,
       {"link.onnx is a symbolic link"}},
      {"directory holding a symlink",
       reg(box.Path("dir-with-link"), "v2"),
       2,
       {"weights.bin is a symbolic link"}},
      {"taken id, other file",
       reg(other, "resnet-v1"),
       1,
       {"version 'resnet-v1' is already registered with another checksum (" +
            sha,
        "this file is " + Sha256OfFile(other)}},
      {"taken id, same file",
       reg(model, "resnet-v1"),
       1,
       {"version 'resnet-v1' is already registered with the same checksum"}},
      {"metric not a number",
       reg(other, "v2", {"--metric", "accuracy=abc"}),
       2,
       {"--metric takes NAME=NUMBER", "got 'accuracy=abc'"}},
      {"accuracy above 1",
       reg(other, "v2", {"--metric", "accuracy=1.5"}),
       2,
       {"metric accuracy must lie in [0, 1], got 1.5"}},
      {"metric without name",
       reg(other, "v2", {"--metric", "=3"}),
       2,
       {"NAME=NUMBER"}},
      {"training config not JSON",
       reg(other, "v2", {"--training-config", not_json}),
       2,
       {"bad-config.json is not valid JSON"}},
      {"training config not an object",
       reg(other, "v2", {"--training-config", array_json}),
       2,
       {"must hold a JSON object"}},
      {"unknown model type",
       reg(other, "v2", {"--model-type", "transformer"}),
       2,
       {"unknown model type 'transformer'"}},
      {"no architecture",
       {"register", other, "--version-id", "v2"},
       2,
       {"pass --architecture"}},
      {"validate unknown environment",
       {"validate", "resnet-v1", "--environment", "prod"},
       2,
       {"unknown environment 'prod' " + known}},
      {"list unknown environment",
       {"list", "--environment", "prod"},
       2,
       {"unknown environment 'prod' " + known}},
      {"latest unknown environment",
       {"latest", "--environment", "prod"},
       2,
       {"unknown environment 'prod'"}},
      {"promote unknown environment",
       {"promote", "resnet-v1", "--environment", "prod"},
       2,
       {"unknown environment 'prod'"}},
      {"info unknown id",
       {"info", "resnet-v2"},
       1,
       {"unknown version id 'resnet-v2' " + dym}},
      {"validate unknown id",
       {"validate", "resnet-v2", "--environment", "development"},
       1,
       {"unknown version id 'resnet-v2' " + dym}},
      {"promote unknown id",
       {"promote", "resnet-v2", "--environment", "development"},
       1,
       {"unknown version id 'resnet-v2' " + dym}},
      {"unknown flag", {"list", "--bogus"}, 2, {"--bogus"}},
      {"unknown subcommand flag",
       {"register", other, "--version-id", "v2", "--sha", "x"},
       2,
       {"--sha"}},
      {"missing required flag",
       {"register", other},
       2,
       {"--version-id is required"}},
      {"no subcommand", {}, 2, {"A subcommand is required"}},
  };
  ExpectRefusedWithoutChange(box, box.registry(), box.store(), cases);
}

// A 128-character id is the longest accepted.
TEST(CliRegistryTest, AcceptsVersionIdWhenItIsExactly128Characters) {
  Sandbox box;
  const std::string id = "a" + std::string(126, '-') + "z";
  ProcessResult r =
      box.Model({"register", box.WriteRandomFile("m.onnx", 10), "--version-id",
                 id, "--architecture", "dual-encoder"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(box.ListJson()[0]["version_id"], id);
}

// Imports of malformed, truncated or wrongly shaped files are refused as
// usage errors (exit 2) naming the file; nothing is imported.
TEST(CliRegistryTest, RefusesMalformedImportWithoutChangingRegistry) {
  Sandbox box;
  box.Register(box.WriteRandomFile("own.onnx", 256), "own");
  // A real export from another registry, to truncate and to pair with a bad
  // environments file.
  const std::string src = box.Path("src/registry.db");
  box.RegisterAt(src, box.WriteRandomFile("s1.onnx", 256), "s1");
  box.RegisterAt(src, box.WriteRandomFile("s2.onnx", 256), "s2");
  ProcessResult exp = box.ModelAt(src, {"export", "--out", box.Path("export")});
  ASSERT_EQ(exp.exit_code, 0) << exp;
  const std::string versions =
      ReadBytes(box.Path("export/model_versions.json"));
  const std::string envs =
      ReadBytes(box.Path("export/deployment_environments.json"));
  ASSERT_GT(versions.size(), 100u);
  Json parsed = ParseJsonOrFail(versions, "export");

  auto dir = [&](const std::string& name, const std::string& versions_text,
                 const std::string& envs_text = "") {
    box.WriteFile(name + "/model_versions.json", versions_text);
    if (!envs_text.empty())
      box.WriteFile(name + "/deployment_environments.json", envs_text);
    return box.Path(name);
  };
  auto envs_only = [&](const std::string& name) {
    box.WriteFile(name + "/deployment_environments.json", envs);
    return box.Path(name);
  };
  Json bad_checksum = parsed;
  bad_checksum["s1"]["checksum"] = "not-a-digest";
  Json renamed = parsed;
  renamed["s9"] = renamed["s1"];
  renamed.erase("s1");
  const std::string file = "model_versions.json";
  const std::vector<BadCase> cases = {
      {"malformed JSON",
       {"import", dir("malformed", "{\"s1\": {\"version_id\": ")},
       2,
       {file + " is not valid JSON"}},
      {"truncated file",
       {"import", dir("truncated", versions.substr(0, versions.size() / 2))},
       2,
       {file + " is not valid JSON"}},
      {"empty file",
       {"import", dir("empty", "")},
       2,
       {file + " is not valid JSON"}},
      {"array",
       {"import", dir("array", "[1,2]")},
       2,
       {file + " must be a JSON object of version id -> model version"}},
      {"object missing fields",
       {"import", dir("missing", R"({"s9": {"version_id": "s9"}})")},
       2,
       {"'s9': field 'model_type' is missing"}},
      {"bad checksum",
       {"import", dir("checksum", bad_checksum.dump())},
       2,
       {"field 'checksum' must be a sha256 digest"}},
      {"key and id differ",
       {"import", dir("renamed", renamed.dump())},
       2,
       {"key 's9' holds version_id 's1'"}},
      {"malformed environments",
       {"import", dir("bad-envs", versions, "{\"development\": ")},
       2,
       {"deployment_environments.json is not valid JSON"}},
      {"environments of another shape",
       {"import", dir("array-envs", versions, "[1]")},
       2,
       {"deployment_environments.json must be a JSON object"}},
      {"no versions file",
       {"import", envs_only("no-versions")},
       1,
       {"cannot import from " + box.Path("no-versions")}},
  };
  ExpectRefusedWithoutChange(box, box.registry(), box.store(), cases);
}

// An import whose later version conflicts (same id, other checksum) is
// refused whole (exit 1): the earlier new version is not added either.
TEST(CliRegistryTest, RefusesWholeImportWhenOneVersionConflicts) {
  Sandbox box;
  const std::string src = box.Path("src/registry.db");
  box.RegisterAt(src, box.WriteRandomFile("fresh.onnx", 256), "fresh-1");
  std::string theirs = box.WriteRandomFile("theirs.onnx", 256);
  box.RegisterAt(src, theirs, "shared");
  ProcessResult exp = box.ModelAt(src, {"export", "--out", box.Path("export")});
  ASSERT_EQ(exp.exit_code, 0) << exp;

  std::string ours = box.WriteRandomFile("ours.onnx", 256);
  box.Register(ours, "shared");
  box.Register(box.WriteRandomFile("own.onnx", 256), "own");
  const Json versions = box.ListJson();
  const Json history = box.JsonAt(box.registry(), {"history"});

  ProcessResult r = box.Model({"import", box.Path("export")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(
      r.err,
      HasSubstr("import refused: version 'shared' exists with checksum " +
                Sha256OfFile(ours) + ", the import has " +
                Sha256OfFile(theirs) + "; nothing was imported"));
  EXPECT_EQ(box.ListJson(), versions);
  EXPECT_EQ(box.JsonAt(box.registry(), {"history"}), history);
}

// A refused import leaves the store as it was: no blob of the versions
// before the conflicting one.
TEST(CliRegistryTest, LeavesStoreUnchangedWhenImportIsRefused) {
  Sandbox box;
  const std::string src = box.Path("src/registry.db");
  box.RegisterAt(src, box.WriteRandomFile("fresh.onnx", 256), "fresh-1");
  box.RegisterAt(src, box.WriteRandomFile("theirs.onnx", 256), "shared");
  ASSERT_EQ(box.ModelAt(src, {"export", "--out", box.Path("export")}).exit_code,
            0);
  box.Register(box.WriteRandomFile("ours.onnx", 256), "shared");
  const std::vector<std::string> store = ListTree(box.store());
  EXPECT_EQ(box.Model({"import", box.Path("export")}).exit_code, 1);
  EXPECT_EQ(ListTree(box.store()), store);
}

// A text file given as --registry is refused (exit 1) as not a registry and
// left byte for byte as it was, with no journal files beside it.
TEST(CliRegistryTest, RefusesRegistryWhenFileIsNotSqlite) {
  Sandbox box;
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "line " + std::to_string(i) + " of a plain text file\n";
  const std::string path = box.WriteFile("notes.txt", text);
  const std::string model = box.WriteRandomFile("m.onnx", 64);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"list"},
           {"environments"},
           {"register", model, "--version-id", "v1", "--architecture",
            "dual-encoder"}}) {
    ProcessResult r = box.ModelAt(path, args);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err, HasSubstr(path + " is not a spatial-deploy registry"))
        << r;
  }
  EXPECT_EQ(ReadBytes(path), text);
  EXPECT_EQ(ListTree(box.dir()),
            (std::vector<std::string>{"m.onnx", "notes.txt"}));
}

// A --registry that is neither a SQLite path nor a PostgreSQL URL (another
// scheme, an empty sqlite:, a postgresql: without //) is a usage error naming
// the accepted forms, shows no password, and makes no file: before, mysql://
// became the directories mysql:/HOST and a new registry in them.
TEST(CliRegistryTest, RefusesRegistryLocationOfAnotherScheme) {
  Sandbox box;
  for (const std::string location :
       {"mysql://root:hunter2@db/spatial", "sqlite:", "postgresql:/db/x"}) {
    ProcessResult r = box.Spatial({"model", "list", "--registry", location});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_THAT(r.err,
                HasSubstr("use a SQLite path, sqlite:PATH or postgresql://"))
        << r;
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("hunter2"))) << r;
  }
  EXPECT_EQ(ListTree(box.dir()), std::vector<std::string>()) << box.dir();
}

// Creates a SQLite database of another application at `path`.
bool MakeForeignDatabase(const Sandbox& box, const std::string& path) {
  ProcessResult r =
      RunProcess({"/usr/bin/sqlite3", path,
                  "create table t(x); insert into t values (42);"},
                 {.cwd = box.dir()});
  EXPECT_EQ(r.exit_code, 0) << r;
  return r.exit_code == 0;
}

// A SQLite database of another application is refused (exit 1) as not a
// spatial-deploy registry, and its data is left alone.
TEST(CliRegistryTest,
     RefusesRegistryWhenSqliteDatabaseBelongsToAnotherApplication) {
  if (!fs::exists("/usr/bin/sqlite3")) GTEST_SKIP() << "no /usr/bin/sqlite3";
  Sandbox box;
  const std::string path = box.Path("other-app.db");
  ASSERT_TRUE(MakeForeignDatabase(box, path));
  const std::string model = box.WriteRandomFile("m.onnx", 64);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"list"},
           {"register", model, "--version-id", "v1", "--architecture",
            "dual-encoder"}}) {
    ProcessResult r = box.ModelAt(path, args);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.err,
                HasSubstr(path + " is a SQLite database of another application "
                                 "(tables: t), not a spatial-deploy registry"))
        << r;
  }
  ProcessResult dump =
      RunProcess({"/usr/bin/sqlite3", path, "select x from t"});
  EXPECT_EQ(dump.out, "42\n") << dump;
  EXPECT_FALSE(fs::exists(box.store()));
}

// Disabled: the refused open still rewrites the foreign file (SqliteRegistry::
// Open sets `PRAGMA journal_mode = WAL` before Migrate() finds the foreign
// tables, so header bytes 18-19 change from 1/1 to 2/2). Enable once fixed.
TEST(CliRegistryTest, LeavesForeignSqliteDatabaseByteIdenticalWhenRefusing) {
  if (!fs::exists("/usr/bin/sqlite3")) GTEST_SKIP() << "no /usr/bin/sqlite3";
  Sandbox box;
  const std::string path = box.Path("other-app.db");
  ASSERT_TRUE(MakeForeignDatabase(box, path));
  const std::string bytes = ReadBytes(path);
  ProcessResult r = box.ModelAt(path, {"list"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_TRUE(ReadBytes(path) == bytes)
      << "the foreign database file was modified";
  EXPECT_EQ(ListTree(box.dir()), (std::vector<std::string>{"other-app.db"}));
}

}  // namespace
}  // namespace spatial::integration
