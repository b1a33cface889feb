#include "src/serving/metrics.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "src/serving/prediction_cache.h"

namespace spatial::serving {
namespace {

// The rendering is valid exposition text: every sample line is NAME{labels}
// VALUE and belongs to a family announced by # TYPE; histograms are cumulative.
TEST(MetricsTest, RendersPrometheusTextWithCumulativeHistograms) {
  Metrics m;
  m.RecordRequest("/classify", 200, 0.003);
  m.RecordRequest("/classify", 200, 0.2);
  m.RecordRequest("/classify", 400, 0.0001);
  m.RecordBatch("spatial-mllm", 4, 0.002);
  m.RecordPrediction("spatial-mllm", "burnt");
  m.RecordFallback();
  m.SetModelInfo("spatial", "spatial-pizza-v1", "spatial-mllm");
  std::string text = m.Render({{"spatial-mllm", 3}});
  EXPECT_TRUE(absl::StrContains(
      text,
      "pizza_api_requests_total{endpoint=\"/classify\",status=\"200\"} 2\n"));
  EXPECT_TRUE(absl::StrContains(
      text,
      "pizza_api_requests_total{endpoint=\"/classify\",status=\"400\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(text,
                                "pizza_api_request_duration_seconds_bucket{"
                                "endpoint=\"/classify\",le=\"0.005\"} 2\n"));
  EXPECT_TRUE(absl::StrContains(text,
                                "pizza_api_request_duration_seconds_bucket{"
                                "endpoint=\"/classify\",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(absl::StrContains(
      text,
      "pizza_api_request_duration_seconds_count{endpoint=\"/classify\"} 3\n"));
  EXPECT_TRUE(absl::StrContains(
      text,
      "pizza_api_batch_size_bucket{model=\"spatial-mllm\",le=\"4\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "pizza_api_queue_depth{model=\"spatial-mllm\"} 3\n"));
  EXPECT_TRUE(absl::StrContains(text,
                                "pizza_api_predictions_total{model=\"spatial-"
                                "mllm\",class=\"burnt\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(text, "pizza_api_fallbacks_total 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text,
      "pizza_api_model_info{slot=\"spatial\",version=\"spatial-pizza-v1\","
      "model_type=\"spatial-mllm\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(text, "process_resident_memory_bytes "));
  std::set<std::string> families;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "# TYPE ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      families.insert(parts[2]);
      continue;
    }
    if (absl::StartsWith(line, "#")) continue;
    std::string name(line.substr(0, line.find_first_of("{ ")));
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (!families.count(name) && absl::EndsWith(name, suffix)) {
        name = name.substr(0, name.size() - std::string(suffix).size());
      }
    }
    EXPECT_TRUE(families.count(name)) << "sample without # TYPE: " << line;
    EXPECT_NE(line.rfind(' '), absl::string_view::npos) << line;
  }
}

// Label values are escaped so that a hostile class or version cannot break
// lines.
TEST(MetricsTest, EscapesLabelValues) {
  Metrics m;
  m.RecordPrediction("m", "a\"b\\c\nd");
  std::string text = m.Render({});
  EXPECT_TRUE(absl::StrContains(text, "class=\"a\\\"b\\\\c\\nd\""));
}

// The prediction cache's figures, when there is a cache; none without one.
TEST(MetricsTest, RendersThePredictionCacheFigures) {
  Metrics m;
  EXPECT_FALSE(absl::StrContains(m.Render({}), "prediction_cache"));
  PredictionCacheStats c;
  c.hits = 7;
  c.misses = 3;
  c.evictions = 2;
  c.invalidations = 5;
  c.entries = 4;
  c.bytes = 2048;
  c.capacity_bytes = 16 << 20;
  std::string text = m.Render({}, &c);
  for (const char* line :
       {"# TYPE pizza_api_prediction_cache_lookups_total counter\n",
        "pizza_api_prediction_cache_lookups_total{result=\"hit\"} 7\n",
        "pizza_api_prediction_cache_lookups_total{result=\"miss\"} 3\n",
        "pizza_api_prediction_cache_evictions_total 2\n",
        "pizza_api_prediction_cache_invalidations_total 5\n",
        "# TYPE pizza_api_prediction_cache_entries gauge\n",
        "pizza_api_prediction_cache_entries 4\n",
        "pizza_api_prediction_cache_bytes 2048\n",
        "pizza_api_prediction_cache_capacity_bytes 16777216\n"}) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << text;
  }
}

}  // namespace
}  // namespace spatial::serving
