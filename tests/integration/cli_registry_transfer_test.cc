// Black-box tests of `spatial model` export/import and of several processes
// writing one registry at once.
#include <chrono>
#include <filesystem>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {
namespace {

using ::testing::HasSubstr;

// (environment) of every valid validation of `id`.
std::set<std::string> ValidEnvironments(const Sandbox& box,
                                        const std::string& registry,
                                        const std::string& id) {
  std::set<std::string> out;
  Json info = box.JsonAt(registry, {"info", id});
  for (const auto& v : info.value("validations", Json::array())) {
    if (v.value("valid", false)) out.insert(v.value("environment", ""));
  }
  return out;
}

// Exporting a registry and importing it into a fresh, empty one reproduces
// every version field for field (ids, checksums, files, metrics); the
// validations the source made come over as history only (imported, valid
// for nothing here); the artifacts land in the new store, and a second
// import is a no-op.
TEST(CliRegistryTest,
     ImportReproducesVersionsWhenGivenExportOfAnotherRegistry) {
  Sandbox box;
  std::string config =
      box.WriteFile("train.json", R"({"optimizer": "adam", "lr": 0.0003})");
  box.Register(
      box.WriteRandomFile("file-ok.onnx", 2000), "file-ok",
      {"--metric", "accuracy=0.93", "--metric", "inference_time_ms=120",
       "--tag", "release", "--training-config", config});
  // Not a bundle the server could run (no model.onnx): development judges
  // what it declares.
  box.WriteRandomFile("dir/weights.onnx", 1500);
  box.WriteFile("dir/manifest.json", R"({"inputs": ["image", "depth"]})");
  ProcessResult dir = box.Model({"register", box.Path("dir"), "--version-id",
                                 "dir-ok", "--architecture", "visual-encoder",
                                 "--metric", "accuracy=0.75"});
  ASSERT_EQ(dir.exit_code, 0) << dir;
  box.Register(box.WriteRandomFile("weak.onnx", 300), "failed-only",
               {"--metric", "accuracy=0.4"});
  box.Register(box.WriteRandomFile("pending.onnx", 300), "pending");
  ASSERT_EQ(box.Model({"validate", "file-ok", "--environment", "development"})
                .exit_code,
            0);
  ASSERT_EQ(
      box.Model({"validate", "file-ok", "--environment", "staging"}).exit_code,
      1);
  ASSERT_EQ(box.Model({"validate", "dir-ok", "--environment", "development"})
                .exit_code,
            0);
  ASSERT_EQ(
      box.Model({"validate", "failed-only", "--environment", "development"})
          .exit_code,
      1);
  ASSERT_EQ(box.Model({"promote", "file-ok", "--environment", "development"})
                .exit_code,
            0);

  const std::string out = box.Path("export");
  ProcessResult exp = box.Model({"export", "--out", out});
  ASSERT_EQ(exp.exit_code, 0) << exp;
  EXPECT_THAT(exp.out, HasSubstr(out + "/model_versions.json"));
  EXPECT_THAT(exp.out, HasSubstr(out + "/deployment_environments.json"));

  const std::string fresh = box.Path("fresh/registry.db");
  // The artifacts were registered from the sandbox: its directory is named
  // as the one they may be read from.
  ProcessResult imp =
      box.ModelAt(fresh, {"import", out, "--artifacts-root", box.dir()});
  ASSERT_EQ(imp.exit_code, 0) << imp;
  EXPECT_EQ(
      imp.out,
      "imported 4 new version(s), 0 already present, 3 environment(s) from " +
          out + "\n");
  EXPECT_EQ(imp.err, "") << imp;

  const Json source = box.ListJson();
  const Json copy = box.JsonAt(fresh, {"list"});
  ASSERT_EQ(source.size(), 4u);
  ASSERT_EQ(copy.size(), source.size()) << copy.dump(2);
  // What a validation made here: not carried by an import.
  const std::set<std::string> kValidationState = {
      "validation_status", "deployment_environments", "imported_validations"};
  for (size_t i = 0; i < source.size(); ++i) {
    const std::string id = source[i].value("version_id", "");
    SCOPED_TRACE(id);
    for (const auto& [key, value] : source[i].items()) {
      if (kValidationState.count(key)) continue;
      EXPECT_EQ(copy[i].value(key, Json()), value) << "field " << key;
    }
    for (const auto& [key, value] : copy[i].items()) {
      EXPECT_TRUE(source[i].contains(key) || kValidationState.count(key))
          << "extra field " << key;
    }
    EXPECT_EQ(ValidEnvironments(box, fresh, id), std::set<std::string>());
    // The source's validations, shown as imported.
    EXPECT_EQ(copy[i].value("imported_validations", Json::array()),
              source[i]["deployment_environments"]);
  }
  EXPECT_EQ(source[0]["validation_status"], "validated");
  EXPECT_EQ(source[0]["deployment_environments"], Json({"development"}));
  // Imported claims make nothing validated; a failure stays one.
  EXPECT_EQ(copy[0]["validation_status"], "pending");
  EXPECT_EQ(copy[0]["deployment_environments"], Json::array());
  EXPECT_EQ(copy[1]["imported_validations"], Json({"development"}));
  EXPECT_EQ(copy[2]["validation_status"], "failed");
  EXPECT_EQ(copy[3]["validation_status"], "pending");
  EXPECT_EQ(box.JsonAt(fresh, {"environments"}),
            box.JsonAt(box.registry(), {"environments"}));
  EXPECT_EQ(
      box.ModelAt(fresh, {"latest", "--environment", "development"}).exit_code,
      1);
  ProcessResult promote = box.ModelAt(
      fresh, {"promote", "file-ok", "--environment", "development"});
  EXPECT_EQ(promote.exit_code, 1) << promote;
  EXPECT_THAT(promote.err, HasSubstr("was imported"));

  // The artifacts were copied into the new registry's own store.
  EXPECT_FALSE(ListTree(box.Path("fresh/store/sha256")).empty());
  ProcessResult test = box.ModelAt(fresh, {"test"});
  EXPECT_EQ(test.exit_code, 0) << test;
  EXPECT_THAT(test.out, HasSubstr("4 of 4 version(s) intact"));

  ProcessResult again =
      box.ModelAt(fresh, {"import", out, "--artifacts-root", box.dir()});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_THAT(again.out,
              HasSubstr("imported 0 new version(s), 4 already present"));
  EXPECT_EQ(box.JsonAt(fresh, {"list"}), copy);
}

// Two processes started together, each registering 50 versions one after
// another, both succeed: all 100 versions are listed and intact.
TEST(CliRegistryTest, KeepsEveryVersionWhenTwoProcessesRegisterConcurrently) {
  Sandbox box;
  // The registry exists before the race (see the disabled test below).
  ProcessResult init = box.Model({"init"});
  ASSERT_EQ(init.exit_code, 0) << init;
  constexpr int kPerWriter = 50;
  std::vector<std::string> files[2];
  for (int w = 0; w < 2; ++w) {
    for (int i = 0; i < kPerWriter; ++i) {
      files[w].push_back(box.WriteRandomFile(
          "w" + std::to_string(w) + "/m" + std::to_string(i) + ".onnx", 256));
    }
  }
  std::vector<ProcessResult> failures[2];
  std::latch start(2);
  auto writer = [&](int w) {
    start.arrive_and_wait();
    for (int i = 0; i < kPerWriter; ++i) {
      ProcessResult r =
          box.Model({"register", files[w][i], "--version-id",
                     "w" + std::to_string(w) + "-" + std::to_string(i),
                     "--architecture", "dual-encoder"});
      if (r.exit_code != 0) failures[w].push_back(r);
    }
  };
  std::thread t0(writer, 0), t1(writer, 1);
  t0.join();
  t1.join();
  for (const auto& f : failures) {
    EXPECT_TRUE(f.empty()) << f.size()
                           << " registration(s) failed, first:" << f.front();
  }

  Json list = box.ListJson();
  ASSERT_EQ(list.size(), 2u * kPerWriter);
  std::set<std::string> ids;
  for (const auto& v : list) ids.insert(v.value("version_id", ""));
  for (int w = 0; w < 2; ++w) {
    for (int i = 0; i < kPerWriter; ++i) {
      EXPECT_TRUE(ids.count("w" + std::to_string(w) + "-" + std::to_string(i)))
          << w << i;
    }
  }
  ProcessResult test = box.Model({"test"});
  EXPECT_EQ(test.exit_code, 0) << test;
  EXPECT_THAT(test.out, HasSubstr("100 of 100 version(s) intact"));
}

// Opening a registry that is still in rollback-journal mode (as a new file is
// while another process creates it) while another connection holds a write
// lock: `PRAGMA journal_mode = WAL` returns SQLITE_BUSY without calling the
// busy handler, so SqliteRegistry::Open retries it within the busy timeout.
// Here a sqlite3 process holds the write lock on an empty database for 3 s
// (sleeping, so that a loaded machine does not stretch it); `spatial` waits.
TEST(CliRegistryTest, WaitsForOtherWriterWhenRegistryIsBeingCreated) {
  if (!std::filesystem::exists("/usr/bin/sqlite3"))
    GTEST_SKIP() << "no /usr/bin/sqlite3";
  Sandbox box;
  const std::string registry = box.Path("registry.db");
  ProcessResult create =
      RunProcess({"/usr/bin/sqlite3", registry, "PRAGMA user_version = 0"});
  ASSERT_EQ(create.exit_code, 0) << create;
  ProcessResult holder;
  std::thread t([&] {
    holder = RunProcess({"/usr/bin/sqlite3", registry, "BEGIN IMMEDIATE;",
                         ".shell sleep 3", "COMMIT;"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ProcessResult r = box.ModelAt(registry, {"list"});
  t.join();
  ASSERT_EQ(holder.exit_code, 0) << holder;
  EXPECT_EQ(r.exit_code, 0) << r;
}

}  // namespace
}  // namespace spatial::integration
