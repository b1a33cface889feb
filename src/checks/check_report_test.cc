#include "src/checks/check_report.h"

#include "gtest/gtest.h"

namespace spatial::checks {
namespace {

TEST(CheckReportTest, SummaryCountsEveryStatusAndReadiness) {
  CheckReport r;
  EXPECT_FALSE(r.summary().deployment_ready());  // nothing checked
  r.Add("a", "one", Passed(1, 1, "ok"));
  r.Add("a", "two", Skipped("optional", /*required=*/false));
  EXPECT_TRUE(r.summary().deployment_ready());
  r.Add("b", "three", Skipped("no server", /*required=*/true));
  EXPECT_FALSE(r.summary().deployment_ready());  // a required skip blocks
  r.Add("b", "four", Error("boom"));
  r.Add("a", "five", Failed(2, 1, "too big"));
  auto s = r.summary();
  EXPECT_EQ(s.total, 5);
  EXPECT_EQ(s.passed, 1);
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(s.errors, 1);
  EXPECT_EQ(s.skipped, 2);
  EXPECT_EQ(s.required_skipped, 1);
}

TEST(CheckReportTest, JsonHasTheSeedShape) {
  CheckReport r;
  r.Add("inference", "accuracy", Failed(0.5, 0.8, "below"));
  auto j = r.ToJson("2026-11-26T00:00:00Z", 1.5, {{"name", "staging"}});
  EXPECT_EQ(j["timestamp"], "2026-11-26T00:00:00Z");
  EXPECT_EQ(j["duration"], 1.5);
  EXPECT_EQ(j["environment"]["name"], "staging");
  const auto& t = j["results"]["inference"]["accuracy"];
  EXPECT_EQ(t["status"], "failed");
  EXPECT_EQ(t["value"], 0.5);
  EXPECT_EQ(t["threshold"], 0.8);
  EXPECT_EQ(t["reason"], "below");
  EXPECT_EQ(j["summary"]["failed"], 1);
  EXPECT_EQ(j["summary"]["deployment_ready"], false);
  EXPECT_NE(r.ToText().find("FAIL"), std::string::npos);
}

}  // namespace
}  // namespace spatial::checks
