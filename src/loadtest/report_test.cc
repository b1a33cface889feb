#include "src/loadtest/report.h"

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace spatial::loadtest {
namespace {

Report TwoLevelReport() {
  Report r{.url = "http://127.0.0.1:8001/health",
           .method = "GET",
           .payload = "none",
           .threads = 2};
  for (int c : {1, 2}) {
    LevelResult l{.mode = LoopMode::kClosed, .concurrency = c, .seconds = 2.0};
    for (int i = 1; i <= 100; ++i)
      l.stats.RecordResponse(200, int64_t{i} * 100000, 0);  // 0.1..10 ms
    l.stats.RecordResponse(503, 50000000, 0);
    l.stats.RecordError(ErrorKind::kConnect, 0);
    r.levels.push_back(l);
  }
  r.thresholds = EvaluateAll({*ParseThreshold("p95<9ms")}, r.levels);
  return r;
}

// The JSON carries every number a CI gate or a plot needs.
TEST(ReportTest, JsonHasLevelsLatenciesErrorsAndThresholds) {
  nlohmann::json j = ReportToJson(TwoLevelReport());
  ASSERT_EQ(j["levels"].size(), 2u);
  const auto& l = j["levels"][1];
  EXPECT_EQ(l["concurrency"], 2);
  EXPECT_EQ(l["requests"], 102);
  EXPECT_EQ(l["responses"], 101);
  EXPECT_EQ(l["failed"], 2);
  EXPECT_DOUBLE_EQ(l["throughput_rps"].get<double>(), 50.5);
  EXPECT_EQ(l["status_codes"]["200"], 100);
  EXPECT_EQ(l["status_codes"]["503"], 1);
  EXPECT_EQ(l["errors"]["connect"], 1);
  EXPECT_EQ(l["errors"]["http_5xx"], 1);
  EXPECT_NEAR(l["latency_ms"]["p50"].get<double>(), 5.1, 0.05);
  EXPECT_NEAR(l["latency_ms"]["max"].get<double>(), 50.0, 1e-9);
  for (const char* k : {"p90", "p95", "p99", "p99.9", "min", "mean"}) {
    EXPECT_TRUE(l["latency_ms"].contains(k)) << k;
  }
  EXPECT_EQ(j["thresholds"].size(), 2u);
  EXPECT_FALSE(j["thresholds"][0]["passed"].get<bool>());
  EXPECT_EQ(j["thresholds"][0]["unit"], "ms");
  EXPECT_FALSE(j["passed"].get<bool>());
}

// CSV: perf_analyzer's first columns, one row per level, microseconds.
TEST(ReportTest, CsvUsesPerfAnalyzerColumns) {
  std::string csv = ReportToCsv(TwoLevelReport());
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(absl::StartsWith(lines[0],
                               "Concurrency,Inferences/Second,p50 latency,p90 "
                               "latency,p95 latency,p99 latency,"
                               "Avg latency,"))
      << lines[0];
  std::vector<std::string> row = absl::StrSplit(lines[1], ',');
  ASSERT_EQ(row.size(), 13u) << lines[1];
  EXPECT_EQ(row[0], "1");
  EXPECT_EQ(row[1], "50.5");
  EXPECT_NEAR(std::stod(row[2]), 5100, 0.01 * 5100) << "p50 in microseconds";
  EXPECT_EQ(row[8], "50000") << "max in microseconds";
  Report open{.levels = {LevelResult{.mode = LoopMode::kOpen, .rate = 250}}};
  EXPECT_TRUE(absl::StartsWith(ReportToCsv(open), "Request Rate,"))
      << ReportToCsv(open);
}

// The table names each level, the percentiles and the failed threshold.
TEST(ReportTest, TableShowsLevelsStatusAndThresholds) {
  std::string t = ReportToTable(TwoLevelReport());
  EXPECT_TRUE(absl::StrContains(t, "c=1")) << t;
  EXPECT_TRUE(absl::StrContains(t, "p99.9")) << t;
  EXPECT_TRUE(absl::StrContains(t, "503: 1")) << t;
  EXPECT_TRUE(absl::StrContains(t, "connect: 1")) << t;
  EXPECT_TRUE(absl::StrContains(t, "FAIL  p95<9ms  at c=1")) << t;
}

// Answers the server marked as cached are counted and called out, so that a
// cached latency does not pass for the model's; a server without the header
// gets neither.
TEST(ReportTest, CachedAnswersAreCountedAndNamed) {
  Report r = TwoLevelReport();
  EXPECT_FALSE(absl::StrContains(ReportToTable(r), "cache"))
      << ReportToTable(r);
  EXPECT_FALSE(ReportToJson(r)["levels"][0].contains("prediction_cache"));
  r.levels[0].stats.cache_marked = 100;
  r.levels[0].stats.cache_hits = 99;
  std::string t = ReportToTable(r);
  EXPECT_TRUE(absl::StrContains(t, "cached 99 of 100")) << t;
  EXPECT_TRUE(absl::StrContains(
      t, "note: 99 of 100 answers came from the server's prediction cache"))
      << t;
  EXPECT_TRUE(absl::StrContains(t, "--field cache=false")) << t;
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["levels"][0]["prediction_cache"]["hits"], 99);
  EXPECT_EQ(j["levels"][0]["prediction_cache"]["marked"], 100);
}

}  // namespace
}  // namespace spatial::loadtest
