// Black-box tests of what a newcomer meets first in the `spatial` CLI (issue
// 21): export/import and backup/restore as the docs show them, a pipeline on
// a host without the GPU its environment requires, --dry-run on register,
// promote and pipeline run (nothing changes), `keys list --json` and
// `model validate --table`.
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
using ::testing::Not;

std::string Bundle() { return ShippedBundle("spatial-pizza-v1"); }

// Everything a registry is on disk: the database file's digest and the
// store's tree, to compare before and after a command that must change
// nothing.
std::string RegistryFingerprint(const Sandbox& box) {
  std::string out = Sha256OfFile(box.registry());
  for (const auto& p : ListTree(box.store())) out += "\n" + p;
  return out;
}

// The docs' commands, run as written from a directory holding models/ and
// the default registry var/registry.db.
class DocumentedTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(box_.Path("models"));
    for (const char* name : {"spatial-pizza-v1", "standard-pizza-v1"}) {
      fs::copy(ShippedBundle(name), box_.Path(std::string("models/") + name),
               fs::copy_options::recursive);
    }
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"model", "register", "models/spatial-pizza-v1", "--version-id",
              "spatial-v1"},
             {"model", "validate", "spatial-v1", "--environment",
              "development"},
             {"model", "promote", "spatial-v1", "--environment", "development",
              "--reason", "first release"}}) {
      ProcessResult r = Run(args);
      ASSERT_EQ(r.exit_code, 0) << r;
    }
  }
  ProcessResult Run(std::vector<std::string> args) const {
    return box_.Spatial(args);
  }
  Sandbox box_;
};

// export says what its files leave out and points to backup; the import
// lines of DEPLOYMENT_PIPELINE_DOCUMENTATION.md work, `--dir` included.
TEST_F(DocumentedTransferTest, ExportSaysWhatItDropsAndImportWorksAsShown) {
  ProcessResult exp = Run({"model", "export", "--out", "output/exchange"});
  ASSERT_EQ(exp.exit_code, 0) << exp;
  EXPECT_THAT(exp.err, HasSubstr("not which version is active where"));
  EXPECT_THAT(exp.err, HasSubstr("spatial model backup --out FILE"));
  ProcessResult imp =
      Run({"model", "import", "output/exchange", "--artifacts-root", "models",
           "--registry", "var/imported.db"});
  EXPECT_EQ(imp.exit_code, 0) << imp;
  EXPECT_THAT(imp.out, HasSubstr("imported 1 new version(s)"));
  ProcessResult dir =
      Run({"model", "import", "--dir", "output/exchange", "--artifacts-root",
           "models", "--registry", "var/imported-dir.db"});
  EXPECT_EQ(dir.exit_code, 0) << dir;
  EXPECT_THAT(dir.out, HasSubstr("imported 1 new version(s)"));
  // Both, or neither: usage errors that name what to give.
  ProcessResult both = Run({"model", "import", "output/exchange", "--dir",
                            "output/exchange", "--registry", "var/x.db"});
  EXPECT_EQ(both.exit_code, 2) << both;
  ProcessResult neither = Run({"model", "import", "--registry", "var/y.db"});
  EXPECT_EQ(neither.exit_code, 2) << neither;
  EXPECT_THAT(neither.err, HasSubstr("spatial model import DIR (or --dir"));
}

// The backup the docs now point to keeps what export drops: the active
// version and its history.
TEST_F(DocumentedTransferTest, BackupAndRestoreKeepTheActiveVersion) {
  ProcessResult backup =
      Run({"model", "backup", "--out", "var/registry.spbackup"});
  ASSERT_EQ(backup.exit_code, 0) << backup;
  ProcessResult restore = Run({"model", "restore", "var/registry.spbackup",
                               "--registry", "var/restored.db"});
  ASSERT_EQ(restore.exit_code, 0) << restore;
  ProcessResult history =
      Run({"model", "history", "--environment", "development", "--registry",
           "var/restored.db", "--json"});
  ASSERT_EQ(history.exit_code, 0) << history;
  Json h = ParseJsonOrFail(history.out, "history");
  ASSERT_EQ(h.size(), 1u) << history;
  EXPECT_EQ(h[0]["version_id"], "spatial-v1");
  EXPECT_EQ(h[0]["reason"], "first release");
}

// --dry-run on register and promote runs the checks, says what would
// change and changes nothing: the registry file and the store are as they
// were, byte for byte.
TEST(CliDryRunTest, RegisterAndPromoteChangeNothing) {
  Sandbox box;
  box.Register(Bundle(), "v1");
  ASSERT_EQ(
      box.Model({"validate", "v1", "--environment", "development"}).exit_code,
      0);
  const std::string before = RegistryFingerprint(box);

  ProcessResult reg =
      box.Model({"register", Bundle(), "--version-id", "v2", "--dry-run"});
  EXPECT_EQ(reg.exit_code, 0) << reg;
  EXPECT_THAT(reg.out, HasSubstr("dry run: would register v2 (spatial-mllm, "
                                 "dual-encoder)"));
  EXPECT_THAT(reg.out, HasSubstr("nothing was stored or recorded"));
  // A taken id is refused as a registration would refuse it.
  ProcessResult taken =
      box.Model({"register", Bundle(), "--version-id", "v1", "--dry-run"});
  EXPECT_EQ(taken.exit_code, 1) << taken;
  EXPECT_THAT(taken.err, HasSubstr("already registered"));

  ProcessResult promote =
      box.Model({"promote", "v1", "--environment", "development", "--dry-run"});
  EXPECT_EQ(promote.exit_code, 0) << promote;
  EXPECT_THAT(promote.out,
              HasSubstr("dry run: would promote v1 to development (active "
                        "now: none)"));
  // A promotion that would be refused is refused the same way.
  ProcessResult refused =
      box.Model({"promote", "v1", "--environment", "staging", "--dry-run"});
  EXPECT_EQ(refused.exit_code, 1) << refused;

  EXPECT_EQ(RegistryFingerprint(box), before);
  EXPECT_EQ(box.JsonAt(box.registry(), {"history"}).size(), 0u);
  // Nor does it create a registry that is not there.
  ProcessResult nowhere =
      box.ModelAt(box.Path("none/registry.db"),
                  {"register", Bundle(), "--version-id", "v3", "--dry-run"});
  EXPECT_NE(nowhere.exit_code, 0) << nowhere;
  EXPECT_FALSE(fs::exists(box.Path("none"))) << nowhere;
  EXPECT_EQ(box.ListJson().size(), 1u);
}

// pipeline run --dry-run lists the stages and what each would do, and
// creates no run directory and changes no registry.
TEST(CliDryRunTest, PipelineDryRunCreatesAndChangesNothing) {
  Sandbox box;
  box.Register(Bundle(), "v1");
  const std::string before = RegistryFingerprint(box);
  ProcessResult r = RunProcess(
      {SpatialBinary(), "pipeline", "run", "--registry", box.registry(),
       "--output", box.Path("runs"), "--dry-run", "--skip-tests"},
      {.cwd = SourceDir()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("dry run: spatial pipeline run would take the "
                               "bundle "));
  EXPECT_THAT(r.out, HasSubstr("1. environment-validation"));
  EXPECT_THAT(r.out, HasSubstr("2. spatial-tests              skipped: "
                               "--skip-tests"));
  EXPECT_THAT(r.out, HasSubstr("8. deployment"));
  EXPECT_THAT(r.out, HasSubstr("nothing was run, created or changed"));
  EXPECT_FALSE(fs::exists(box.Path("runs")));
  EXPECT_EQ(RegistryFingerprint(box), before);
}

// A staging run on a host without a GPU: the stage's own line names the
// failed check and the override; with --allow-cpu-override the run passes
// and the reason is in the report, the validation and the audit log.
TEST(CliPipelineGpuTest, NoGpuIsNamedAndCanBeOverriddenOnRecord) {
  if (HostHasGpu()) GTEST_SKIP() << "this host has a GPU";
  Sandbox box;
  // Staging's rules with less memory, no signature and a small evaluation
  // set, so that the GPU is the only rule this host cannot meet.
  Json config = ParseJsonOrFail(
      ReadBytes(SourceDir() + "/config/environments.json"), "environments");
  config["staging"]["memory_requirements_gb"] = 1;
  config["staging"]["require_signature"] = false;
  config["staging"]["evaluation"]["render"]["per_class"] = 5;
  const std::string cfg = box.WriteFile("environments.json", config.dump(2));
  auto run = [&](std::vector<std::string> extra, const std::string& out) {
    std::vector<std::string> argv = {SpatialBinary(),
                                     "pipeline",
                                     "run",
                                     "--registry",
                                     box.registry(),
                                     "--config",
                                     cfg,
                                     "--output",
                                     box.Path(out),
                                     "--environment",
                                     "staging",
                                     "--model",
                                     Bundle(),
                                     "--stages",
                                     "environment-validation,model-validation"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ProcessResult r = RunProcess(
        argv, {.cwd = SourceDir(), .timeout = std::chrono::seconds(120)});
    Json report;
    for (const auto& e : fs::directory_iterator(box.Path(out))) {
      report = ParseJsonOrFail(
          ReadBytes(e.path().string() + "/reports/pipeline_report.json"),
          "report");
    }
    return std::make_pair(r, report);
  };
  auto stage = [](const Json& report, const std::string& name) {
    for (const auto& s : report["stages"])
      if (s["name"] == name) return s;
    return Json();
  };

  auto [failed, failed_report] = run({}, "runs-plain");
  EXPECT_EQ(failed.exit_code, 1) << failed;
  Json env = stage(failed_report, "environment-validation");
  EXPECT_EQ(env["status"], "failed") << failed_report.dump(2);
  std::string reason = env.value("reason", "");
  EXPECT_THAT(reason, HasSubstr("environment/gpu: no GPU")) << reason;
  EXPECT_THAT(reason, HasSubstr("--allow-cpu-override REASON")) << reason;
  EXPECT_THAT(failed.out, HasSubstr("environment/gpu: no GPU")) << failed;

  auto [passed, report] =
      run({"--allow-cpu-override", "test host has no GPU"}, "runs-override");
  EXPECT_EQ(passed.exit_code, 0) << passed;
  EXPECT_EQ(report["cpu_override"], "test host has no GPU") << report.dump(2);
  Json env_ok = stage(report, "environment-validation");
  EXPECT_EQ(env_ok["status"], "passed") << report.dump(2);
  EXPECT_THAT(env_ok.value("reason", ""),
              HasSubstr("overridden by --allow-cpu-override (test host has "
                        "no GPU)"));
  EXPECT_EQ(stage(report, "model-validation")["status"], "passed")
      << report.dump(2);
  ProcessResult audit =
      box.Spatial({"audit", "list", "--json", "--registry", box.registry()});
  ASSERT_EQ(audit.exit_code, 0) << audit;
  EXPECT_THAT(audit.out, HasSubstr("test host has no GPU")) << audit;
}

// keys list --json and model validate --table, for scripts and for people.
TEST(CliOutputTest, KeysListJsonAndValidateTable) {
  Sandbox box;
  box.Register(Bundle(), "v1");
  ProcessResult keys =
      box.Spatial({"keys", "list", "--json", "--registry", box.registry()});
  ASSERT_EQ(keys.exit_code, 0) << keys;
  Json k = ParseJsonOrFail(keys.out, "keys list");
  ASSERT_TRUE(k.is_array()) << keys;
  std::vector<std::string> names;
  for (const auto& e : k) {
    names.push_back(e.value("environment", ""));
    EXPECT_TRUE(e["trusted_keys"].is_array()) << keys;
  }
  EXPECT_THAT(names, ::testing::Contains("production"));

  ProcessResult table =
      box.Model({"validate", "v1", "--environment", "development", "--table"});
  EXPECT_EQ(table.exit_code, 0) << table;
  EXPECT_THAT(table.out, HasSubstr("RULE"));
  EXPECT_THAT(table.out, HasSubstr("accuracy"));
  EXPECT_THAT(table.out, HasSubstr("v1 is valid for development"));
  EXPECT_THAT(table.out, Not(HasSubstr("{")));
}

// envtest --json: the report on stdout (as --output writes it), the table
// and the file names on stderr.
TEST(CliOutputTest, EnvtestJsonPrintsTheReport) {
  Sandbox box;
  ProcessResult r =
      RunProcess({SpatialBinary(), "envtest", "--environment", "development",
                  "--test-api", "--json", "--output", box.Path("report.json"),
                  "--state-file", box.Path("state.json")},
                 {.cwd = SourceDir(), .timeout = std::chrono::seconds(120)});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json report = ParseJsonOrFail(r.out, "envtest --json");
  EXPECT_EQ(report["status"], "passed") << r;
  EXPECT_EQ(report,
            ParseJsonOrFail(ReadBytes(box.Path("report.json")), "report.json"));
  EXPECT_THAT(r.err, HasSubstr("report: " + box.Path("report.json")));
}

// The completion script completes subcommands and flags in a real bash; the
// man page names every command with its flags.
TEST(CliOutputTest, CompletionAndManPageComeFromTheCommandTree) {
  Sandbox box;
  ProcessResult script = box.Spatial({"completion", "bash"});
  ASSERT_EQ(script.exit_code, 0) << script;
  const std::string file = box.WriteFile("spatial.bash", script.out);
  auto complete = [&](const std::string& words, int cword) {
    return RunProcess({"/bin/bash", "-c",
                       "source " + file + "; COMP_WORDS=(" + words +
                           "); COMP_CWORD=" + std::to_string(cword) +
                           "; _spatial; printf '%s\\n' \"${COMPREPLY[@]}\""},
                      {.cwd = box.dir()});
  };
  ProcessResult sub = complete("spatial model pro", 2);
  ASSERT_EQ(sub.exit_code, 0) << sub;
  EXPECT_EQ(sub.out, "promote\n") << sub;
  ProcessResult flag = complete("spatial model promote v1 --dry", 4);
  EXPECT_EQ(flag.out, "--dry-run\n") << flag;
  ProcessResult top = complete("spatial pipe", 1);
  EXPECT_EQ(top.out, "pipeline\n") << top;

  ProcessResult man = box.Spatial({"completion", "man"});
  ASSERT_EQ(man.exit_code, 0) << man;
  EXPECT_EQ(man.out.rfind(".TH SPATIAL 1", 0), 0u) << man.out.substr(0, 200);
  EXPECT_THAT(man.out, HasSubstr(".SS spatial model promote ID"));
  EXPECT_THAT(man.out, HasSubstr("\\-\\-allow\\-cpu\\-override"));
  EXPECT_EQ(box.Spatial({"completion", "zsh"}).exit_code, 2);
}

}  // namespace
}  // namespace spatial::integration
