// Black-box tests of what `spatial model validate` measures: the version runs
// on its environment's evaluation set, the rules judge the measured numbers,
// declared numbers are kept beside them, and promotion needs a validation
// this registry ran (measured where the environment requires it).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "onnx/onnx_pb.h"
#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// A copy of the shipped spatial bundle under DIR/name whose weights are
// shuffled within every initializer: the same graph, inputs and manifest
// (declared accuracy included), chance accuracy.
std::string ScrambledBundle(const Sandbox& box, const std::string& name) {
  const std::string src = ShippedBundle("spatial-pizza-v1");
  const std::string dir = box.Path(name);
  fs::create_directories(dir);
  fs::copy_file(src + "/manifest.json", dir + "/manifest.json");
  onnx::ModelProto model;
  {
    std::ifstream in(src + "/model.onnx", std::ios::binary);
    EXPECT_TRUE(model.ParseFromIstream(&in)) << "cannot parse the ONNX graph";
  }
  std::mt19937 rng(20261204);
  int scrambled = 0;
  for (auto& t : *model.mutable_graph()->mutable_initializer()) {
    if (t.data_type() != onnx::TensorProto::FLOAT) continue;
    if (!t.raw_data().empty()) {
      std::vector<float> v(t.raw_data().size() / sizeof(float));
      std::memcpy(v.data(), t.raw_data().data(), v.size() * sizeof(float));
      std::shuffle(v.begin(), v.end(), rng);
      t.set_raw_data(v.data(), v.size() * sizeof(float));
    } else {
      std::shuffle(t.mutable_float_data()->begin(),
                   t.mutable_float_data()->end(), rng);
    }
    ++scrambled;
  }
  EXPECT_GT(scrambled, 4) << "the graph has no float initializers to scramble";
  std::ofstream out(dir + "/model.onnx", std::ios::binary | std::ios::trunc);
  EXPECT_TRUE(model.SerializeToOstream(&out));
  return dir;
}

// A number as the rules print it.
std::string G3(double x) { return absl::StrFormat("%.3g", x); }

// `model validate ARGS` and its JSON result; `want_exit` -1: any exit code.
Json ValidateJson(const Sandbox& box, const std::vector<std::string>& args,
                  int want_exit, ProcessResult* raw = nullptr) {
  std::vector<std::string> full = {"validate"};
  full.insert(full.end(), args.begin(), args.end());
  ProcessResult r = box.Model(full);
  if (want_exit >= 0) {
    EXPECT_EQ(r.exit_code, want_exit) << r;
  }
  if (raw != nullptr) *raw = r;
  return ParseJsonOrFail(r.out, r.command);
}

// The "done when" of the measuring gate: scrambled weights registered with
// --metric accuracy=0.99 fail validation with the measured number in the
// message, beside the declared one, and cannot be promoted.
TEST(CliMeasureTest, ScrambledWeightsFailValidationWithTheMeasuredAccuracy) {
  Sandbox box;
  box.Register(ScrambledBundle(box, "scrambled"), "scrambled",
               {"--metric", "accuracy=0.99"});
  ProcessResult r;
  Json result =
      ValidateJson(box, {"scrambled", "--environment", "development"}, 1, &r);
  const Json& m = result["measurement"];
  ASSERT_EQ(m.value("status", ""), "measured") << result.dump(2);
  const double measured = m["accuracy"].get<double>();
  EXPECT_LT(measured, 0.5) << "scrambled weights should be near chance (1/6)";
  EXPECT_EQ(m["n"], 120);  // development: 20 renders per class
  EXPECT_THAT(m["set_digest"].get<std::string>(), MatchesRegex("[0-9a-f]{64}"));
  EXPECT_THAT(m["engine"].get<std::string>(), HasSubstr("OpenCV DNN"));
  EXPECT_EQ(m["per_class_recall"].size(), 6u);

  const std::string shown = G3(measured);
  Json acc = FindRule(result, "accuracy");
  EXPECT_EQ(acc["outcome"], "fail");
  EXPECT_EQ(acc["declared"], 0.99);
  EXPECT_EQ(acc["message"], "measured " + shown +
                                " is below the 0.7 development requires "
                                "(declared 0.99)");
  Json declared = FindRule(result, "declared");
  EXPECT_EQ(declared["outcome"], "warn");  // development: a warning
  EXPECT_THAT(declared["message"].get<std::string>(),
              HasSubstr("declared accuracy 0.99, measured " + shown));
  EXPECT_THAT(r.err, HasSubstr("FAIL accuracy: measured " + shown));

  ProcessResult promote =
      box.Model({"promote", "scrambled", "--environment", "development"});
  EXPECT_EQ(promote.exit_code, 1) << promote;
  EXPECT_EQ(box.JsonAt(box.registry(), {"history"}), Json::array());

  // The measurement is stored with the validation and shown by `info`.
  ProcessResult info = box.Model({"info", "scrambled"});
  EXPECT_THAT(info.out, HasSubstr("measured accuracy"));
  EXPECT_THAT(info.out, HasSubstr("declared 0.99"));
  Json j = box.JsonAt(box.registry(), {"info", "scrambled"});
  ASSERT_EQ(j["validations"].size(), 1u);
  EXPECT_EQ(j["validations"][0]["result"]["measurement"], m);
}

// A declared accuracy further than 0.05 from the measured one warns in
// development and fails in staging, naming both numbers.
TEST(CliMeasureTest, DeclaredAccuracyOffTheMeasuredOneWarnsThenFails) {
  Sandbox box;
  box.Register(box.VariantBundle("probe"), "probe");
  Json probe = ValidateJson(box, {"probe", "--environment", "development"}, -1);
  ASSERT_EQ(probe["measurement"].value("status", ""), "measured");
  const double measured = probe["measurement"]["accuracy"].get<double>();
  // 0.2 away, on the side that stays in [0, 1].
  const double claim = measured >= 0.5 ? measured - 0.2 : measured + 0.2;
  box.Register(box.VariantBundle("claims"), "claims",
               {"--metric", "accuracy=" + std::to_string(claim)});
  Json dev = ValidateJson(box, {"claims", "--environment", "development"}, -1);
  EXPECT_EQ(FindRule(dev, "declared")["outcome"], "warn") << dev.dump(2);
  EXPECT_THAT(FindRule(dev, "declared")["message"].get<std::string>(),
              HasSubstr("declared accuracy " + G3(claim) + ", measured " +
                        G3(measured)));
  Json staging = ValidateJson(box,
                              {"claims", "--environment", "staging",
                               "--allow-cpu-override", "test host"},
                              1);
  EXPECT_EQ(FindRule(staging, "declared")["outcome"], "fail")
      << staging.dump(2);
  EXPECT_EQ(staging["measurement"]["n"], 300);  // staging: 50 per class
}

// Where measurement is required a file the server cannot run fails and says
// why; development judges what it declares, with a warning.
TEST(CliMeasureTest, AnArtifactThatCannotRunFailsWhereMeasurementIsRequired) {
  Sandbox box;
  box.Register(
      box.WriteRandomFile("m.bin", 512), "blob",
      {"--metric", "accuracy=0.95", "--metric", "inference_time_ms=5"});
  Json staging = ValidateJson(
      box,
      {"blob", "--environment", "staging", "--allow-cpu-override", "test host"},
      1);
  Json rule = FindRule(staging, "measurement");
  EXPECT_EQ(rule["outcome"], "fail");
  EXPECT_THAT(rule["message"].get<std::string>(),
              HasSubstr("'blob' is a single file (m.bin), not a model bundle "
                        "the server can run"));
  EXPECT_EQ(FindRule(staging, "accuracy")["outcome"], "fail");
  Json dev = ValidateJson(box, {"blob", "--environment", "development"}, 0);
  EXPECT_EQ(FindRule(dev, "measurement")["outcome"], "warn");
  EXPECT_THAT(FindRule(dev, "accuracy")["message"].get<std::string>(),
              HasSubstr("declared 0.95"));
}

// #20: a model_versions.json entry that claims development and production
// (accuracy 0.1) imports as history: shown as imported, validated for nothing
// here, and refused promotion.
TEST(CliMeasureTest, ImportedProductionValidationNeverPromotes) {
  Sandbox box;
  box.RegisterAt(box.Path("origin.db"), box.VariantBundle("bundle"), "v1");
  ASSERT_EQ(box.ModelAt(box.Path("origin.db"),
                        {"export", "--out", box.Path("export")})
                .exit_code,
            0);
  Json versions = ParseJsonOrFail(
      ReadBytes(box.Path("export/model_versions.json")), "export");
  for (auto& v : versions) {
    v["deployment_environments"] = {"development", "production"};
    v["validation_status"] = "validated";
    v["performance_metrics"]["accuracy"] = 0.1;
    v["spatial_deploy"]["actor"] = "someone-else";
  }
  box.WriteFile("export/model_versions.json", versions.dump(2));
  ProcessResult imp = box.Model({"import", box.Path("export")});
  ASSERT_EQ(imp.exit_code, 0) << imp;

  Json info = box.JsonAt(box.registry(), {"info", "v1"});
  ASSERT_EQ(info["validations"].size(), 2u) << info.dump(2);
  const Json& val = info["validations"][1];
  EXPECT_EQ(val["environment"], "production");
  EXPECT_EQ(val["imported"], true);
  EXPECT_EQ(val["valid"], false);
  EXPECT_EQ(val["actor"], "tester");  // who imported, not the file's claim
  EXPECT_EQ(val["result"]["claimed"]["actor"], "someone-else");
  EXPECT_EQ(info["deployment_environments"], Json::array());
  EXPECT_EQ(info["validation_status"], "pending");
  EXPECT_THAT(box.Model({"info", "v1"}).out, HasSubstr("imported"));
  EXPECT_THAT(box.Model({"list"}).out,
              HasSubstr("- (imported: development,production)"));
  EXPECT_EQ(box.Model({"latest", "--environment", "production"}).exit_code, 1);

  // Development asks for no signature: the imported claim alone is refused
  // (production, signed and trusted: cli_security_test).
  ProcessResult refused =
      box.Model({"promote", "v1", "--environment", "development"});
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_THAT(refused.err,
              HasSubstr("refusing to promote 'v1' in development: its only "
                        "validation for development was imported"));
  EXPECT_EQ(box.JsonAt(box.registry(), {"history"}), Json::array());
}

}  // namespace
}  // namespace spatial::integration
