// The console over a registry of 10,000 versions (and as many audit
// records): every page view's request answers, paged, and the test prints
// how long each took (median and slowest of a bounded number of requests;
// the figures are for the reader and docs/CONSOLE.md, never asserted).
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "src/registry/open/registry_open.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/registry_writer.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {

constexpr int kVersions = 10000;
constexpr int kRounds = 15;

TEST(ConsoleScaleTest, PagedViewsOverTenThousandVersions) {
  // One real version (validated, promoted), then 9,999 more registered
  // through the registry library, each with its own audit record.
  Sandbox box;
  box.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "real");
  {
    auto reg = registry::OpenRegistry(box.registry(), /*create=*/false);
    ASSERT_TRUE(reg.ok()) << reg.status();
    for (int i = 1; i < kVersions; ++i) {
      absl::Status s = (*reg)->AddVersion(WriterVersion(WriterVersionId(0, i)));
      ASSERT_TRUE(s.ok()) << s;
    }
  }
  const std::string viewer = box.AddToken("v1", "viewer");
  ServerProcess console({"--registry", box.registry(), "--config",
                         SourceDir() + "/config/environments.json",
                         "--tokens-file", box.tokens_file()},
                        box.dir(), box.Path("console.log"), "console");
  ASSERT_TRUE(console.WaitForPort(std::chrono::seconds(30))) << console.Log();

  const std::vector<std::pair<std::string, std::string>> views = {
      {"page", "/console"},
      {"environments", "/console/api/environments"},
      {"versions, first page", "/console/api/versions?limit=50"},
      {"versions, page 100", "/console/api/versions?offset=5000&limit=50"},
      {"versions, filtered", "/console/api/versions?q=w0-99"},
      {"one version", "/console/api/versions/real"},
      {"audit, first page", "/console/api/audit?limit=50"},
      {"audit, chain verified", "/console/api/audit/verify"},
  };
  std::printf("console over %d versions, %d requests each (ms):\n", kVersions,
              kRounds);
  for (const auto& [name, path] : views) {
    std::vector<double> ms;
    for (int i = 0; i < kRounds; ++i) {
      auto start = std::chrono::steady_clock::now();
      Reply r = RequestAs(console.port(), "GET", path, viewer);
      ms.push_back(std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - start)
                       .count());
      ASSERT_EQ(r.status, 200) << path << ": " << r.body.substr(0, 300);
      if (i == 0 && path.find("/versions?") != std::string::npos) {
        Json j = ParseJsonOrFail(r.body, path);
        EXPECT_EQ(j["registry_total"], kVersions);
        EXPECT_FALSE(j["versions"].empty()) << path;
      }
      if (i == 0 && path.find("/audit?") != std::string::npos) {
        EXPECT_GE(ParseJsonOrFail(r.body, path)["total"], kVersions);
      }
    }
    std::sort(ms.begin(), ms.end());
    std::printf("  %-24s median %6.1f  slowest %6.1f\n", name.c_str(),
                ms[ms.size() / 2], ms.back());
  }
  std::fflush(stdout);
}

}  // namespace
}  // namespace spatial::integration
