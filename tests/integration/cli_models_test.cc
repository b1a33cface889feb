// Black-box tests of `spatial data` and `spatial eval` on the shipped models:
// a real render, a real evaluation, and bad files that must give clear errors.
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/process.h"
#include "tests/test_paths.h"

namespace spatial::integration {
namespace {
namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  std::string d = ::testing::TempDir() + "/cli_models_" + name + "_" +
                  std::to_string(::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

ProcessResult Spatial(std::vector<std::string> args) {
  args.insert(args.begin(), spatial::testing::SpatialBinary());
  return RunProcess(args, {.cwd = spatial::testing::SourceDir(),
                           .timeout = std::chrono::seconds(60)});
}

// A held-out render evaluated with the shipped spatial model: real metrics.
TEST(CliModelsTest, RenderThenEvalMeasuresTheShippedModel) {
  std::string dir = FreshDir("eval");
  auto r = Spatial(
      {"data", "render", "--out", dir, "--per-class", "5", "--seed", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_TRUE(fs::exists(dir + "/contact_sheet.png"));
  auto e = Spatial(
      {"eval", "--model", "models/spatial-pizza-v1", "--data", dir, "--json"});
  ASSERT_EQ(e.exit_code, 0) << e;
  auto j = nlohmann::json::parse(e.out);
  EXPECT_EQ(j["samples"], 30);
  EXPECT_GE(j["accuracy"].get<double>(),
            0.9);  // 0.995 on 600 images (docs/MODELS.md)
  EXPECT_EQ(j["confusion_matrix"].size(), 6u);
  EXPECT_GT(j["latency_ms"]["mean"].get<double>(), 0);
}

// Corrupt, truncated, empty, huge and non-image files in a dataset each stop
// `spatial eval` with a message naming the file; a usage error exits 2.
TEST(CliModelsTest, EvalNamesTheBadFile) {
  std::string dir = FreshDir("bad");
  auto r = Spatial(
      {"data", "render", "--out", dir, "--per-class", "1", "--seed", "7"});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::string good;
  {
    std::ifstream in(dir + "/basic/basic_0.jpg", std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::pair<std::string, std::string> cases[] = {
      {"truncated", good.substr(0, good.size() / 2)},
      {"empty", ""},
      {"text", "definitely not a picture"},
      {"corrupt", good.substr(0, 20) + std::string(good.size() - 20, '\x55')},
      {"huge", std::string(11 << 20, 'x')},
  };
  for (const auto& [name, bytes] : cases) {
    std::ofstream(dir + "/basic/basic_0.jpg",
                  std::ios::binary | std::ios::trunc)
        << bytes;
    auto e =
        Spatial({"eval", "--model", "models/spatial-pizza-v1", "--data", dir});
    EXPECT_NE(e.exit_code, 0) << name;
    EXPECT_NE(e.err.find("basic/basic_0.jpg"), std::string::npos)
        << name << ": " << e;
    EXPECT_EQ(e.err.find("Segmentation"), std::string::npos) << name;
  }
  auto missing =
      Spatial({"eval", "--model", "models/no-such-model", "--data", dir});
  EXPECT_EQ(missing.exit_code, 1) << missing;
  EXPECT_NE(missing.err.find("no model bundle"), std::string::npos) << missing;
  auto usage = Spatial({"eval", "--model", "models/spatial-pizza-v1"});
  EXPECT_EQ(usage.exit_code, 2) << usage;
}

}  // namespace
}  // namespace spatial::integration
