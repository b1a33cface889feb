// Black-box tests of `spatial model`: register, validate, list, info, latest,
// test, environments and the seed's alias forms, run as a separate process
// against a registry in a fresh temp directory.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Ids in registration order, from `list --json`.
std::vector<std::string> Ids(const Json& list) {
  std::vector<std::string> ids;
  for (const auto& v : list) ids.push_back(v.value("version_id", ""));
  return ids;
}

// A file artifact with metrics, tags and a training config is stored under
// its sha256 and reported the same by register --json, info --json and list.
TEST(CliRegistryTest, RegistersFileArtifactWhenGivenMetricsTagsAndConfig) {
  Sandbox box;
  std::string model = box.WriteRandomFile("in/model.onnx", 4096);
  std::string config =
      box.WriteFile("train.json", R"({"lr": 0.001, "epochs": 3})");
  ProcessResult r =
      box.Model({"register", model, "--version-id", "pizza-1.0",
                 "--architecture", "dual-encoder", "--metric", "accuracy=0.91",
                 "--metric", "inference_time_ms=120", "--tag", "baseline",
                 "--tag", "fp16", "--training-config", config, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json v = ParseJsonOrFail(r.out, r.command);
  const std::string sha = Sha256OfFile(model);
  EXPECT_EQ(v["version_id"], "pizza-1.0");
  EXPECT_EQ(v["model_type"], "spatial-mllm");  // the default for a dual-encoder
  EXPECT_EQ(v["architecture"], "dual-encoder");
  EXPECT_EQ(v["file_path"], model);
  EXPECT_EQ(v["checksum"], sha);
  EXPECT_EQ(v["performance_metrics"],
            Json({{"accuracy", 0.91}, {"inference_time_ms", 120.0}}));
  EXPECT_EQ(v["tags"], Json({"baseline", "fp16"}));
  EXPECT_EQ(v["training_config"], Json({{"lr", 0.001}, {"epochs", 3}}));
  EXPECT_EQ(v["validation_status"], "pending");
  EXPECT_EQ(v["deployment_environments"], Json::array());
  EXPECT_EQ(v["spatial_deploy"]["actor"], "tester");
  EXPECT_EQ(v["spatial_deploy"]["is_directory"], false);
  EXPECT_EQ(v["spatial_deploy"]["size_bytes"], 4096);
  EXPECT_EQ(
      v["spatial_deploy"]["files"],
      Json::array({{{"path", "model.onnx"}, {"sha256", sha}, {"size", 4096}}}));

  // The blob is a read-only copy at store/sha256/<2 hex>/<digest>.
  std::string blob = box.store() + "/sha256/" + sha.substr(0, 2) + "/" + sha;
  EXPECT_EQ(ReadBytes(blob), ReadBytes(model));
  struct stat st {};
  ASSERT_EQ(::stat(blob.c_str(), &st), 0) << blob;
  // Readable by the owner and its group, never by others (docs/SECURITY.md).
  EXPECT_EQ(st.st_mode & 0777, 0440u);

  Json info = box.JsonAt(box.registry(), {"info", "pizza-1.0"});
  Json info_without_validations = info;
  info_without_validations.erase("validations");
  info_without_validations.erase("signatures");
  EXPECT_EQ(info_without_validations, v);
  EXPECT_EQ(info["validations"], Json::array());
  EXPECT_EQ(info["signatures"], Json::array());
  EXPECT_EQ(box.ListJson(), Json::array({v}));
}

// The text form of register names the version, its type, checksum and size.
TEST(CliRegistryTest, PrintsSummaryWhenRegisteringWithoutJson) {
  Sandbox box;
  std::string model = box.WriteRandomFile("m.bin", 1000);
  ProcessResult r = box.Model({"register", model, "--version-id", "v1",
                               "--architecture", "visual-encoder"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "registered v1 (standard-cnn, visual-encoder) sha256:" +
                       Sha256OfFile(model) +
                       ", 1 file(s), 1000 bytes, compatibility unknown\n");
  EXPECT_EQ(r.err, "");
}

// A directory artifact records every file (sorted, nested paths kept) with
// its own digest, and the total size.
TEST(CliRegistryTest, RegistersDirectoryArtifactWhenGivenDirectory) {
  Sandbox box;
  std::string onnx = box.WriteRandomFile("art/model.onnx", 3000);
  std::string manifest =
      box.WriteFile("art/manifest.json", R"({"name": "pizza"})");
  std::string extra = box.WriteRandomFile("art/assets/labels.bin", 77);
  Json v =
      box.JsonAt(box.registry(), {"register", box.Path("art"), "--version-id",
                                  "dir-1", "--architecture", "dual-encoder"});
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v["file_path"], box.Path("art"));
  EXPECT_EQ(v["spatial_deploy"]["is_directory"], true);
  const uint64_t total = 3000 + 17 + 77;
  EXPECT_EQ(v["spatial_deploy"]["size_bytes"], total);
  EXPECT_EQ(v["spatial_deploy"]["files"],
            Json::array({{{"path", "assets/labels.bin"},
                          {"sha256", Sha256OfFile(extra)},
                          {"size", 77}},
                         {{"path", "manifest.json"},
                          {"sha256", Sha256OfFile(manifest)},
                          {"size", 17}},
                         {{"path", "model.onnx"},
                          {"sha256", Sha256OfFile(onnx)},
                          {"size", 3000}}}));
  std::string checksum = v.value("checksum", "");
  EXPECT_EQ(checksum.size(), 64u);
  EXPECT_NE(checksum, Sha256OfFile(onnx));
  ProcessResult t = box.Model({"test"});
  EXPECT_EQ(t.exit_code, 0) << t;
  EXPECT_THAT(t.out, HasSubstr("ok    dir-1\n"));
}

// A dual-encoder file with good declared metrics passes development on a
// CPU-only host: a single file cannot be run, so development judges what it
// declares (with a warning), memory and GPU only warn there, and the version
// becomes "validated".
TEST(CliRegistryTest, ValidatePassesDevelopmentWhenDualEncoderHasMetrics) {
  Sandbox box;
  box.Register(
      box.WriteRandomFile("m.onnx", 512), "v1",
      {"--metric", "accuracy=0.9", "--metric", "inference_time_ms=100"});
  ProcessResult r =
      box.Model({"validate", "v1", "--environment", "development"});
  ASSERT_EQ(r.exit_code, 0) << r;
  Json result = ParseJsonOrFail(r.out, r.command);
  EXPECT_EQ(result["valid"], true);
  EXPECT_EQ(result["version_id"], "v1");
  EXPECT_EQ(result["environment"], "development");
  for (const char* rule : {"artifact", "architecture", "accuracy", "latency"}) {
    EXPECT_EQ(FindRule(result, rule)["outcome"], "pass") << rule << "\n" << r;
  }
  EXPECT_EQ(FindRule(result, "measurement")["outcome"], "warn");
  EXPECT_EQ(FindRule(result, "accuracy")["declared"], 0.9);
  EXPECT_EQ(FindRule(result, "accuracy")["measured"], Json());
  EXPECT_EQ(FindRule(result, "accuracy")["required"], 0.7);
  if (!HostHasGpu()) {
    EXPECT_EQ(FindRule(result, "gpu")["outcome"], "warn");
  }

  Json list = box.ListJson();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["validation_status"], "validated");
  EXPECT_EQ(list[0]["deployment_environments"], Json({"development"}));
}

// Production requires a GPU: on a host without one validation fails (exit 1)
// with a hint at --allow-cpu-override, and the version is marked "failed".
TEST(CliRegistryTest, ValidateFailsProductionWhenHostHasNoGpu) {
  if (HostHasGpu()) GTEST_SKIP() << "this host has a GPU";
  Sandbox box;
  box.Register(
      box.WriteRandomFile("m.onnx", 512), "v1",
      {"--metric", "accuracy=0.95", "--metric", "inference_time_ms=100"});
  ProcessResult r =
      box.Model({"validate", "v1", "--environment", "production"});
  ASSERT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("version v1 is NOT valid for production"));
  Json result = ParseJsonOrFail(r.out, r.command);
  EXPECT_EQ(result["valid"], false);
  Json gpu = FindRule(result, "gpu");
  EXPECT_EQ(gpu["outcome"], "fail") << r;
  EXPECT_THAT(gpu.value("message", ""), HasSubstr("no GPU on this host"));
  EXPECT_THAT(gpu.value("message", ""), HasSubstr("--allow-cpu-override"));
  // A file cannot be run: production judges only measured accuracy.
  EXPECT_EQ(FindRule(result, "accuracy")["outcome"], "fail");
  EXPECT_THAT(FindRule(result, "accuracy").value("message", ""),
              HasSubstr("accuracy was not measured"));

  Json list = box.ListJson();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["validation_status"], "failed");
  EXPECT_EQ(list[0]["deployment_environments"], Json::array());
}

// --allow-cpu-override turns the GPU rule into "overridden" and the reason is
// recorded with the validation (result, info --json and info text).
TEST(CliRegistryTest, ValidateRecordsReasonWhenCpuOverrideIsGiven) {
  if (HostHasGpu()) GTEST_SKIP() << "this host has a GPU";
  Sandbox box;
  box.Register(
      box.WriteRandomFile("m.onnx", 512), "v1",
      {"--metric", "accuracy=0.95", "--metric", "inference_time_ms=100"});
  ProcessResult r =
      box.Model({"validate", "v1", "--environment", "production",
                 "--allow-cpu-override", "bench box without GPU"});
  Json result = ParseJsonOrFail(r.out, r.command);
  Json gpu = FindRule(result, "gpu");
  EXPECT_EQ(gpu["outcome"], "overridden") << r;
  EXPECT_THAT(gpu.value("message", ""),
              HasSubstr("overridden: bench box without GPU"));
  EXPECT_EQ(result["cpu_override_reason"], "bench box without GPU");
  // The override only lifts the GPU rule: the exit code follows the others.
  bool other_failed = false;
  for (const auto& rule : result["rules"])
    other_failed |= rule["outcome"] == "fail";
  EXPECT_EQ(result["valid"], !other_failed);
  EXPECT_EQ(r.exit_code, other_failed ? 1 : 0) << r;

  Json info = box.JsonAt(box.registry(), {"info", "v1"});
  ASSERT_EQ(info["validations"].size(), 1u) << info.dump(2);
  EXPECT_EQ(info["validations"][0]["environment"], "production");
  EXPECT_EQ(info["validations"][0]["override_reason"], "bench box without GPU");
  EXPECT_EQ(info["validations"][0]["actor"], "tester");
  ProcessResult text = box.Model({"info", "v1"});
  EXPECT_THAT(text.out, HasSubstr("(CPU override: bench box without GPU)"))
      << text;
}

// A file whose graph cannot be read takes its memory estimate from --metric
// memory_estimate_gb; staging then fails it only because a file cannot be
// run (staging judges measured accuracy and latency).
TEST(CliRegistryTest, MemoryRulePassesWhenEstimateIsGivenAsMetric) {
  Sandbox box;
  box.Register(box.WriteRandomFile("m.onnx", 512), "v1",
               {"--metric", "accuracy=0.95", "--metric",
                "inference_time_ms=100", "--metric", "memory_estimate_gb=4"});
  // Staging also requires a signature by a key it trusts.
  ASSERT_EQ(box.Spatial({"keys", "generate", "--out", box.Path("k")}).exit_code,
            0);
  ASSERT_EQ(
      box.Spatial({"keys", "trust", box.Path("k/signing.pub"), "--environment",
                   "staging", "--registry", box.registry(), "--config",
                   SourceDir() + "/config/environments.json"})
          .exit_code,
      0);
  ASSERT_EQ(
      box.Model({"sign", "v1", "--key", box.Path("k/signing.key")}).exit_code,
      0);
  ProcessResult r = box.Model({"validate", "v1", "--environment", "staging",
                               "--allow-cpu-override", "test host"});
  Json result = ParseJsonOrFail(r.out, r.command);
  EXPECT_EQ(FindRule(result, "memory")["outcome"], "pass") << r;
  EXPECT_EQ(FindRule(result, "signature")["outcome"], "pass") << r;
  std::vector<std::string> failed;
  for (const auto& rule : result["rules"]) {
    if (rule["outcome"] == "fail") failed.push_back(rule["rule"]);
  }
  EXPECT_EQ(failed,
            (std::vector<std::string>{"measurement", "accuracy", "latency"}))
      << r;
  EXPECT_THAT(FindRule(result, "measurement").value("message", ""),
              HasSubstr("not a model bundle the server can run"));
  EXPECT_EQ(r.exit_code, 1) << r;
}

// Without accuracy and latency metrics, development warns and passes while
// staging and production fail: a file cannot be run, so nothing is measured.
TEST(CliRegistryTest, MissingMetricFailsOnlyWhenEnvironmentRunsHeavyTests) {
  Sandbox box;
  box.Register(box.WriteRandomFile("m.onnx", 256), "bare");
  ProcessResult dev =
      box.Model({"validate", "bare", "--environment", "development"});
  ASSERT_EQ(dev.exit_code, 0) << dev;
  Json d = ParseJsonOrFail(dev.out, dev.command);
  for (const char* rule : {"accuracy", "latency", "memory"}) {
    EXPECT_EQ(FindRule(d, rule)["outcome"], "warn") << rule << dev;
    EXPECT_THAT(FindRule(d, rule).value("message", ""),
                HasSubstr("allowed in development"));
  }
  for (const char* env : {"staging", "production"}) {
    ProcessResult r = box.Model({"validate", "bare", "--environment", env});
    EXPECT_EQ(r.exit_code, 1) << r;
    Json j = ParseJsonOrFail(r.out, r.command);
    for (const char* rule : {"accuracy", "latency"}) {
      EXPECT_EQ(FindRule(j, rule)["outcome"], "fail") << rule << r;
      EXPECT_THAT(FindRule(j, rule).value("message", ""),
                  HasSubstr("was not measured; " + std::string(env) +
                            " judges only measured"));
    }
  }
  // Validated for development only, whatever the later failures.
  Json list = box.ListJson();
  EXPECT_EQ(list[0]["validation_status"], "validated");
  EXPECT_EQ(list[0]["deployment_environments"], Json({"development"}));
}

// A metric below the environment's threshold fails validation (exit 1).
TEST(CliRegistryTest, ValidateFailsWhenAccuracyIsBelowThreshold) {
  Sandbox box;
  box.Register(box.WriteRandomFile("m.onnx", 256), "weak",
               {"--metric", "accuracy=0.5"});
  ProcessResult r =
      box.Model({"validate", "weak", "--environment", "development"});
  EXPECT_EQ(r.exit_code, 1) << r;
  Json acc = FindRule(ParseJsonOrFail(r.out, r.command), "accuracy");
  EXPECT_EQ(acc["outcome"], "fail");
  EXPECT_THAT(acc.value("message", ""),
              HasSubstr("0.5 is below the 0.7 development requires"));
}

// list shows every version in registration order; --environment keeps those
// validated for it, in text and JSON.
TEST(CliRegistryTest, ListFiltersVersionsWhenEnvironmentIsGiven) {
  Sandbox box;
  box.Register(box.WriteRandomFile("a.onnx", 100), "a",
               {"--metric", "accuracy=0.9"});
  box.Register(box.WriteRandomFile("b.onnx", 100), "b");
  box.Register(box.WriteRandomFile("c.onnx", 100), "c",
               {"--metric", "accuracy=0.8"});
  ASSERT_EQ(
      box.Model({"validate", "a", "--environment", "development"}).exit_code,
      0);
  ASSERT_EQ(
      box.Model({"validate", "c", "--environment", "development"}).exit_code,
      0);

  EXPECT_EQ(Ids(box.ListJson()), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(
      Ids(box.JsonAt(box.registry(), {"list", "--environment", "development"})),
      (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(box.JsonAt(box.registry(), {"list", "--environment", "staging"}),
            Json::array());

  ProcessResult all = box.Model({"list"});
  ASSERT_EQ(all.exit_code, 0) << all;
  EXPECT_THAT(all.out, HasSubstr("VERSION"));
  EXPECT_THAT(all.out,
              HasSubstr("3 version(s) in sqlite:" + box.registry() + "\n"));
  ProcessResult dev = box.Model({"list", "--environment", "development"});
  ASSERT_EQ(dev.exit_code, 0) << dev;
  EXPECT_THAT(dev.out, HasSubstr("2 version(s) in sqlite:" + box.registry() +
                                 " validated for development\n"));
  EXPECT_THAT(dev.out, Not(HasSubstr("\nb ")));
}

// info prints the version's fields, files and validations in text form.
TEST(CliRegistryTest, InfoShowsFieldsFilesAndValidationsWhenAsked) {
  Sandbox box;
  std::string model = box.WriteRandomFile("m.onnx", 2048);
  box.Register(model, "v1", {"--metric", "accuracy=0.9", "--tag", "nightly"});
  ASSERT_EQ(
      box.Model({"validate", "v1", "--environment", "development"}).exit_code,
      0);
  ProcessResult r = box.Model({"info", "v1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  for (const std::string& want : std::vector<std::string>{
           "version_id             v1\n",
           "architecture           dual-encoder\n",
           "file_path              " + model + "\n",
           "registered_by          tester\n",
           "checksum               sha256:" + Sha256OfFile(model) + "\n",
           "size                   2048 bytes",
           "validation_status      validated\n",
           "tags                   nightly\n",
           "performance_metrics    accuracy=0.9\n", "m.onnx",
           "  development  valid  "}) {
    EXPECT_THAT(r.out, HasSubstr(want)) << r;
  }
  Json j = box.JsonAt(box.registry(), {"info", "v1"});
  ASSERT_EQ(j["validations"].size(), 1u);
  EXPECT_EQ(j["validations"][0]["valid"], true);
  EXPECT_EQ(j["validations"][0]["result"]["valid"], true);
}

// latest is the newest version validated for the environment; none is exit 1.
TEST(CliRegistryTest, LatestReturnsNewestValidatedVersionWhenSeveralExist) {
  Sandbox box;
  for (const char* id : {"v1", "v2", "v3"}) {
    box.Register(box.WriteRandomFile(std::string(id) + ".onnx", 64), id,
                 {"--metric", "accuracy=0.9"});
  }
  ASSERT_EQ(
      box.Model({"validate", "v1", "--environment", "development"}).exit_code,
      0);
  ASSERT_EQ(
      box.Model({"validate", "v2", "--environment", "development"}).exit_code,
      0);
  ProcessResult r = box.Model({"latest", "--environment", "development"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.out, "v2\n");
  EXPECT_EQ(box.JsonAt(box.registry(), {"latest", "--environment",
                                        "development"})["version_id"],
            "v2");
  ProcessResult none = box.Model({"latest", "--environment", "staging"});
  EXPECT_EQ(none.exit_code, 1) << none;
  EXPECT_THAT(none.err, HasSubstr("no version is validated for staging"));
}

// test checks every blob: a corrupted one fails with exit 1, naming the
// version and file, and a deleted one is reported missing.
TEST(CliRegistryTest, TestFailsWhenStoredBlobIsCorruptedOrMissing) {
  Sandbox box;
  std::string a = box.WriteRandomFile("a.onnx", 1024);
  std::string b = box.WriteRandomFile("b.onnx", 1024);
  box.Register(a, "a");
  box.Register(b, "b");
  ProcessResult ok = box.Model({"test"});
  ASSERT_EQ(ok.exit_code, 0) << ok;
  EXPECT_THAT(ok.out, HasSubstr("2 of 2 version(s) intact"));

  std::string sha = Sha256OfFile(a);
  std::string blob = box.store() + "/sha256/" + sha.substr(0, 2) + "/" + sha;
  ASSERT_EQ(::chmod(blob.c_str(), 0644), 0) << blob;
  std::string bytes = ReadBytes(blob);
  bytes[100] = static_cast<char>(bytes[100] ^ 0x01);
  box.WriteFile(blob.substr(box.dir().size() + 1), bytes);

  ProcessResult bad = box.Model({"test"});
  EXPECT_EQ(bad.exit_code, 1) << bad;
  EXPECT_THAT(bad.out,
              HasSubstr("FAIL  a: artifact file 'a.onnx' is corrupted"));
  EXPECT_THAT(bad.out, HasSubstr("ok    b\n"));
  EXPECT_THAT(bad.out, HasSubstr("1 of 2 version(s) intact"));
  Json j = ParseJsonOrFail(box.Model({"test", "--json"}).out, "test --json");
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["passed"], 1);

  // A corrupted artifact cannot be validated either.
  ProcessResult val =
      box.Model({"validate", "a", "--environment", "development"});
  EXPECT_EQ(val.exit_code, 1) << val;
  EXPECT_EQ(
      FindRule(ParseJsonOrFail(val.out, val.command), "artifact")["outcome"],
      "fail");

  std::string sha_b = Sha256OfFile(b);
  ASSERT_EQ(
      ::unlink((box.store() + "/sha256/" + sha_b.substr(0, 2) + "/" + sha_b)
                   .c_str()),
      0);
  ProcessResult gone = box.Model({"test"});
  EXPECT_EQ(gone.exit_code, 1) << gone;
  EXPECT_THAT(
      gone.out,
      HasSubstr("FAIL  b: artifact file 'b.onnx' is missing from the store"));
}

// environments lists the three configured environments with their rules.
TEST(CliRegistryTest, EnvironmentsListsConfiguredRulesWhenAsked) {
  Sandbox box;
  ASSERT_EQ(box.Model({"init"}).exit_code, 0);
  ProcessResult r = box.Model({"environments"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("ENVIRONMENT"));
  EXPECT_THAT(r.out, HasSubstr("required 16 GB"));
  EXPECT_THAT(r.out, HasSubstr("optional"));
  Json envs = box.JsonAt(box.registry(), {"environments"});
  Json config =
      ParseJsonOrFail(ReadBytes(SourceDir() + "/config/environments.json"),
                      "config/environments.json");
  ASSERT_EQ(envs.size(), 3u) << envs.dump(2);
  for (const char* name : {"development", "staging", "production"}) {
    EXPECT_EQ(envs[name]["supported_architectures"],
              config[name]["supported_architectures"]);
    EXPECT_EQ(envs[name]["memory_requirements_gb"],
              config[name]["memory_requirements_gb"]);
    EXPECT_EQ(envs[name]["performance_requirements"],
              config[name]["performance_requirements"]);
    EXPECT_EQ(envs[name]["validation_config"],
              config[name]["validation_config"]);
    EXPECT_EQ(envs[name]["compute_requirements"],
              config[name]["compute_requirements"]);
  }
}

// The seed's `model --register PATH ...` forms act like the subcommands.
TEST(CliRegistryTest, SeedAliasFormsWorkWhenUsedInsteadOfSubcommands) {
  Sandbox box;
  std::string model = box.WriteRandomFile("m.onnx", 300);
  ProcessResult reg =
      box.Model({"--register", model, "--version-id", "seed-1", "--model-type",
                 "spatial-mllm", "--architecture", "dual-encoder", "--metric",
                 "accuracy=0.9"});
  ASSERT_EQ(reg.exit_code, 0) << reg;
  EXPECT_THAT(reg.out,
              HasSubstr("registered seed-1 (spatial-mllm, dual-encoder)"));
  ProcessResult reg2 =
      box.Model({"--register=" + box.WriteRandomFile("n.onnx", 300),
                 "--version-id", "seed-2", "--architecture", "visual-encoder",
                 "--model-type", "standard-cnn"});
  ASSERT_EQ(reg2.exit_code, 0) << reg2;

  ProcessResult val =
      box.Model({"--validate", "seed-1", "--environment", "development"});
  EXPECT_EQ(val.exit_code, 0) << val;
  EXPECT_EQ(ParseJsonOrFail(val.out, val.command)["valid"], true);

  ProcessResult list = box.Model({"--list", "--environment", "development"});
  EXPECT_EQ(list.exit_code, 0) << list;
  EXPECT_THAT(list.out, HasSubstr("1 version(s) in sqlite:"));
  EXPECT_THAT(list.out, HasSubstr("seed-1"));
  EXPECT_THAT(list.out, Not(HasSubstr("seed-2")));

  ProcessResult info = box.Model({"--info", "seed-2"});
  EXPECT_EQ(info.exit_code, 0) << info;
  EXPECT_THAT(info.out, HasSubstr("model_type             standard-cnn\n"));

  ProcessResult latest =
      box.Model({"--latest", "--environment", "development"});
  EXPECT_EQ(latest.exit_code, 0) << latest;
  EXPECT_EQ(latest.out, "seed-1\n");

  ProcessResult test = box.Model({"--test"});
  EXPECT_EQ(test.exit_code, 0) << test;
  EXPECT_THAT(test.out, HasSubstr("2 of 2 version(s) intact"));

  // Two forms at once, or a form without its value, is a usage error.
  ProcessResult two = box.Model({"--list", "--test"});
  EXPECT_EQ(two.exit_code, 2) << two;
  EXPECT_THAT(two.err, HasSubstr("at a time"));
  ProcessResult bare = box.Spatial({"model", "--info"});
  EXPECT_EQ(bare.exit_code, 2) << bare;
  EXPECT_THAT(bare.err, HasSubstr("--info needs a value"));
}

}  // namespace
}  // namespace spatial::integration
