#include "src/envtest/report.h"

#include "gtest/gtest.h"

namespace spatial::envtest {
namespace {

RunResult Sample() {
  RunResult run;
  run.started_at = "2026-11-25T10:00:00Z";
  run.seconds = 3.5;
  EnvironmentResult dev{.environment = "development", .port = 4000, .pid = 42};
  dev.tests.push_back({.category = "api",
                       .name = "GET /health",
                       .status = TestStatus::kPassed,
                       .reason = "HTTP 200, schema valid",
                       .measured = {{"status", 200}},
                       .threshold = {{"status", 200}}});
  dev.tests.push_back({.category = "classification",
                       .name = "accuracy",
                       .status = TestStatus::kFailed,
                       .reason = "accuracy 0.99 < 1.01 required <&>\"",
                       .measured = {{"accuracy", 0.99}},
                       .threshold = {{"min_accuracy", 1.01}}});
  EnvironmentResult prod{.environment = "production"};
  prod.tests.push_back({.category = "performance",
                        .name = "p95_latency",
                        .status = TestStatus::kError,
                        .reason = "connection refused"});
  run.environments = {dev, prod};
  return run;
}

TEST(ReportTest, JsonHasPerEnvironmentPerTestOutcomes) {
  nlohmann::json j = ReportJson(Sample());
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["summary"]["tests"], 3);
  EXPECT_EQ(j["summary"]["passed"], 1);
  EXPECT_EQ(j["summary"]["failed"], 1);
  EXPECT_EQ(j["summary"]["errors"], 1);
  const auto& dev = j["environments"]["development"];
  EXPECT_EQ(dev["status"], "failed");
  EXPECT_EQ(dev["server"]["port"], 4000);
  ASSERT_EQ(dev["tests"].size(), 2u);
  EXPECT_EQ(dev["tests"][1]["status"], "failed");
  EXPECT_EQ(dev["tests"][1]["measured"]["accuracy"], 0.99);
  EXPECT_EQ(dev["tests"][1]["threshold"]["min_accuracy"], 1.01);
  EXPECT_EQ(j["environments"]["production"]["tests"][0]["status"], "error");
}

TEST(ReportTest, AllPassedIsPassed) {
  RunResult run = Sample();
  run.environments.resize(1);
  run.environments[0].tests.resize(1);
  EXPECT_EQ(ReportJson(run)["status"], "passed");
  EXPECT_EQ(run.failures(), 0);
}

TEST(ReportTest, JunitHasASuitePerEnvironmentAndFailuresForErrorsToo) {
  std::string xml = JunitXml(Sample());
  EXPECT_NE(xml.find("<testsuites name=\"spatial envtest\" tests=\"3\" "
                     "failures=\"2\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"development\" tests=\"2\" "
                     "failures=\"1\""),
            std::string::npos);
  EXPECT_NE(xml.find("<testsuite name=\"production\" tests=\"1\" "
                     "failures=\"1\""),
            std::string::npos);
  EXPECT_NE(xml.find("name=\"GET /health\" time=\"0.000\"/>"),
            std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"accuracy 0.99 &lt; 1.01 required "
                     "&lt;&amp;&gt;&quot;\" type=\"failed\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure message=\"connection refused\" type=\"error\">"),
            std::string::npos);
}

TEST(ReportTest, SummaryNamesEveryFailure) {
  std::string table = SummaryTable(Sample());
  EXPECT_NE(table.find("3 tests, 1 passed, 2 failed"), std::string::npos)
      << table;
  EXPECT_NE(table.find("failed development classification/accuracy: "
                       "accuracy 0.99 < 1.01"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("error production performance/p95_latency: "
                       "connection refused"),
            std::string::npos);
}

}  // namespace
}  // namespace spatial::envtest
