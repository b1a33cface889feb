// Stage lists and the JUnit/HTML reports from real outcomes.
#include "src/pipeline/report.h"

#include "gtest/gtest.h"
#include "src/pipeline/stages.h"

namespace spatial::pipeline {
namespace {

TEST(StageListTest, NamesNumbersAndAll) {
  auto all = ParseStageList("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 8u);
  EXPECT_EQ(all->front(), "environment-validation");
  EXPECT_EQ(all->back(), "deployment");
  auto some = ParseStageList("3, deployment,6");
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_EQ(*some, (std::vector<std::string>{"model-validation", "deployment",
                                             "performance-testing"}));
  auto bad = ParseStageList("model-validation,9");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown stage '9'"),
            std::string::npos);
  EXPECT_FALSE(ParseStageList("deploy").ok());
}

std::vector<StageOutcome> Outcomes() {
  StageOutcome a{"env", 1, StageResult::Passed(), false};
  StageOutcome b{"validate", 2, StageResult::Failed("bad <checksum> & more"),
                 true};
  b.result.log_path = "/run/logs/validate.log";
  StageOutcome c{"deploy", 3,
                 StageResult::Skipped("dependency validate failed"), true};
  StageOutcome d{"perf", 4, StageResult::Error("timed out"), true};
  return {a, b, c, d};
}

TEST(ReportTest, JUnitCountsAndEscapes) {
  std::string x = PipelineJUnit(Outcomes(), 1.5);
  EXPECT_NE(x.find("tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\""),
            std::string::npos)
      << x;
  EXPECT_NE(x.find("<failure message=\"bad &lt;checksum&gt; &amp; more\"/>"),
            std::string::npos)
      << x;
  EXPECT_NE(x.find("<skipped message=\"dependency validate failed\"/>"),
            std::string::npos);
  EXPECT_NE(x.find("<error message=\"timed out\"/>"), std::string::npos);
  EXPECT_NE(x.find("name=\"1-env\" time=\"0.000\"/>"), std::string::npos);
}

TEST(ReportTest, JsonAndHtmlCarryEveryStage) {
  PipelineConfig c;
  c.run_dir = "/run";
  c.run_id = "20260101T000000Z";
  PipelineState s;
  s.version_id = "v9";
  auto outcomes = Outcomes();
  nlohmann::json j = PipelineReportJson(c, s, outcomes, 2.0, 1);
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["summary"]["failed"], 1);
  EXPECT_EQ(j["summary"]["errors"], 1);
  EXPECT_EQ(j["summary"]["skipped"], 1);
  ASSERT_EQ(j["stages"].size(), 4u);
  EXPECT_EQ(j["stages"][1]["status"], "failed");
  EXPECT_EQ(j["stages"][1]["log"], "/run/logs/validate.log");
  std::string html = PipelineHtml(j);
  EXPECT_NE(html.find("<td class='failed'>failed</td>"), std::string::npos);
  EXPECT_NE(html.find("bad &lt;checksum&gt; &amp; more"), std::string::npos);
  EXPECT_NE(html.find("href='../logs/validate.log'"), std::string::npos);
  // No stage reports on disk: the plots say so instead of drawing anything.
  EXPECT_NE(html.find("No bench report in this run"), std::string::npos);
  EXPECT_NE(html.find("No classification report in this run"),
            std::string::npos);
  EXPECT_EQ(html.find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace spatial::pipeline
