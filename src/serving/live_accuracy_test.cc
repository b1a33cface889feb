#include "src/serving/live_accuracy.h"

#include <set>

#include "gtest/gtest.h"

namespace spatial::serving {
namespace {

using Json = nlohmann::json;

inference::Manifest Abc() {
  inference::Manifest m;
  m.model_type = "spatial-mllm";
  m.classes = {"a", "b", "c"};
  return m;
}

LiveAccuracy::Options Quiet(int window = 4) {
  LiveAccuracy::Options o;
  o.window = window;
  o.min_labelled = 2;
  o.log = [](const std::string&) {};
  return o;
}

TEST(JensenShannonTest, ExactValuesInBits) {
  EXPECT_DOUBLE_EQ(JensenShannon({1, 0}, {0.5, 0.5}), 0.31127812445913283);
  // Counts are normalised first.
  EXPECT_DOUBLE_EQ(JensenShannon({2, 1, 1}, {1, 1, 1}), 0.020720839623908215);
  EXPECT_DOUBLE_EQ(JensenShannon({3, 1, 0}, {1, 1, 1}), 0.23029215520445234);
  EXPECT_DOUBLE_EQ(JensenShannon({0, 0, 6, 0, 0, 0}, {1, 1, 1, 1, 1, 1}),
                   0.6548575458269756);
  EXPECT_DOUBLE_EQ(JensenShannon({1, 0}, {0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(JensenShannon({0.2, 0.8}, {0.2, 0.8}), 0.0);
  EXPECT_DOUBLE_EQ(JensenShannon({0, 0}, {1, 1}), 0.0);  // nothing yet
  EXPECT_DOUBLE_EQ(JensenShannon({1}, {1, 1}), 0.0);     // mismatched
}

TEST(ReferenceForTest, UniformUnlessTheManifestRecordsADistribution) {
  inference::Manifest m = Abc();
  ReferenceDistribution r = ReferenceFor(m);
  EXPECT_EQ(r.shares, (std::vector<double>{1.0 / 3, 1.0 / 3, 1.0 / 3}));
  EXPECT_NE(r.source.find("uniform"), std::string::npos);
  m.metrics["class_distribution"] = {{"a", 2}, {"b", 1}, {"c", 1}};
  r = ReferenceFor(m);
  EXPECT_EQ(r.shares, (std::vector<double>{0.5, 0.25, 0.25}));
  EXPECT_EQ(r.source, "manifest metrics.class_distribution");
  // Incomplete: a class is missing, so uniform.
  m.metrics["class_distribution"] = {{"a", 2}, {"b", 1}};
  EXPECT_EQ(ReferenceFor(m).shares,
            (std::vector<double>{1.0 / 3, 1.0 / 3, 1.0 / 3}));
}

TEST(LiveAccuracyTest, IdsAre128RandomBitsInHex) {
  LiveAccuracy live(Quiet());
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = live.Record("v1", Abc(), 0);
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(LiveAccuracyTest, FeedbackOutcomes) {
  LiveAccuracy live(Quiet());
  std::string id = live.Record("v1", Abc(), 1);
  auto unknown = live.Feedback("feedbeef", "a");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  auto bad = live.Feedback(id, "pineapple");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("valid: a, b, c"), std::string::npos)
      << bad.status();
  auto ok = live.Feedback(id, "c");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->model_version, "v1");
  EXPECT_EQ(ok->model_type, "spatial-mllm");
  EXPECT_EQ(ok->predicted_class, "b");
  EXPECT_EQ(ok->true_class, "c");
  EXPECT_FALSE(ok->correct);
  EXPECT_TRUE(ok->counted);
  EXPECT_EQ(ok->window_labelled, 1);
  EXPECT_EQ(ok->window_accuracy, 0.0);
  auto again = live.Feedback(id, "b");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  std::string metrics = live.RenderMetrics();
  for (const char* line : {"pizza_api_feedback_total{result=\"recorded\"} 1",
                           "pizza_api_feedback_total{result=\"unknown\"} 1",
                           "pizza_api_feedback_total{result=\"invalid\"} 1",
                           "pizza_api_feedback_total{result=\"duplicate\"} 1"})
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
}

TEST(LiveAccuracyTest, RemembersABoundedNumberOfPredictions) {
  LiveAccuracy::Options o = Quiet();
  o.memory = 3;
  LiveAccuracy live(o);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(live.Record("v1", Abc(), 0));
  EXPECT_EQ(live.Feedback(ids[0], "a").status().code(),
            absl::StatusCode::kNotFound);
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(live.Feedback(ids[i], "a").ok());
}

TEST(LiveAccuracyTest, SlidingWindowsGiveExactFigures) {
  LiveAccuracy live(Quiet(/*window=*/4));
  // (predicted, true): a/a, b/b, c/c, b/a, c/c; the window keeps the last 4.
  std::vector<std::pair<int, std::string>> stream = {
      {0, "a"}, {1, "b"}, {2, "c"}, {1, "a"}, {2, "c"}};
  for (const auto& [pred, truth] : stream) {
    ASSERT_TRUE(live.Feedback(live.Record("v1", Abc(), pred), truth).ok());
  }
  // A prediction nobody labelled counts in the distribution only.
  live.Record("v1", Abc(), 0);
  // Labelled window: b/b, c/c, b/a, c/c -> 3 of 4; recall a 0/1, b 1/1,
  // c 2/2. Prediction window: c, b, c, a -> shares 1/4, 1/4, 1/2.
  Json s = live.StatusJson("v1");
  EXPECT_EQ(s["labelled"], 4);
  EXPECT_EQ(s["predictions"], 4);
  EXPECT_DOUBLE_EQ(s["accuracy"].get<double>(), 0.75);
  EXPECT_EQ(s["per_class_recall"], (Json{{"a", 0.0}, {"b", 1.0}, {"c", 1.0}}));
  EXPECT_EQ(s["predicted_distribution"],
            (Json{{"a", 0.25}, {"b", 0.25}, {"c", 0.5}}));
  EXPECT_DOUBLE_EQ(s["drift_score"].get<double>(), 0.020720839623908215);
  EXPECT_EQ(s["alarm"], false);
  EXPECT_TRUE(live.StatusJson("v2").is_null());

  std::string m = live.RenderMetrics();
  for (const char* line :
       {"pizza_api_live_accuracy{model_version=\"v1\"} 0.75\n",
        "pizza_api_live_labelled{model_version=\"v1\"} 4\n",
        "pizza_api_live_class_recall{model_version=\"v1\",class=\"a\"} 0\n",
        "pizza_api_live_predicted_share{model_version=\"v1\",class=\"c\"} "
        "0.5\n",
        "pizza_api_live_drift_score{model_version=\"v1\"} "
        "0.020720839623908215\n",
        "pizza_api_live_accuracy_alarm{model_version=\"v1\"} 0\n"}) {
    EXPECT_NE(m.find(line), std::string::npos) << line << "\n" << m;
  }
  EXPECT_EQ(m.find("pizza_api_live_accuracy_floor "), std::string::npos);
}

TEST(LiveAccuracyTest, AlarmBelowTheFloorAfterEnoughSamplesOnce) {
  std::vector<LiveAlarm> alarms;
  std::vector<std::string> log;
  LiveAccuracy::Options o = Quiet(/*window=*/4);
  o.floor = 0.5;
  o.min_labelled = 3;
  o.on_alarm = [&](const LiveAlarm& a) { alarms.push_back(a); };
  o.log = [&](const std::string& l) { log.push_back(l); };
  LiveAccuracy live(o);
  Json last;  // the latest feedback answer
  auto feed = [&](int pred, const std::string& truth) {
    auto r = live.Feedback(live.Record("v7", Abc(), pred), truth);
    ASSERT_TRUE(r.ok()) << r.status();
    last = r->ToJson();
  };
  feed(0, "b");  // 0/1
  feed(0, "b");  // 0/2: below, but fewer than 3 labelled
  EXPECT_TRUE(alarms.empty());
  EXPECT_EQ(last["window"]["alarm"], false);
  feed(0, "a");  // 1/3 = 0.33 < 0.5: alarm
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(last["window"],
            (Json{{"labelled", 3}, {"accuracy", 1.0 / 3}, {"alarm", true}}));
  EXPECT_EQ(alarms[0].version, "v7");
  EXPECT_EQ(alarms[0].model_type, "spatial-mllm");
  EXPECT_EQ(alarms[0].labelled, 3);
  EXPECT_DOUBLE_EQ(alarms[0].accuracy, 1.0 / 3);
  EXPECT_EQ(alarms[0].Reason(),
            "live accuracy 0.33 < floor 0.50 over the last 3 labelled "
            "predictions of v7; labelled by (no token) (3)");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0], "ALARM: " + alarms[0].Reason());
  feed(0, "b");  // 1/4, still in alarm: not raised again
  EXPECT_EQ(alarms.size(), 1u);
  EXPECT_EQ(live.StatusJson("v7")["alarm"], true);
  EXPECT_NE(live.RenderMetrics().find(
                "pizza_api_live_accuracy_alarm{model_version=\"v7\"} 1\n"),
            std::string::npos);
  feed(0, "a");  // window: b, a, b, a -> 2/4 = 0.5, not below: recovered
  feed(0, "a");  // 3/4
  EXPECT_EQ(live.StatusJson("v7")["alarm"], false);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1],
            "live accuracy of v7 recovered: 0.50 >= floor 0.50 over the last "
            "4 labelled predictions");
  feed(0, "b");  // 2/4
  feed(0, "b");  // 2/4
  feed(0, "b");  // window a, b, b, b (truths): 1/4 < 0.5: alarm again
  ASSERT_EQ(alarms.size(), 2u);
  EXPECT_DOUBLE_EQ(alarms[1].accuracy, 0.25);
  std::string m = live.RenderMetrics();
  EXPECT_NE(m.find("pizza_api_live_accuracy_alarms_total 2\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("pizza_api_live_accuracy_floor 0.5\n"), std::string::npos);
  EXPECT_EQ(live.StatusJson("v7")["alarms"], 2);
}

TEST(LiveAccuracyTest, RetainDropsVersionsNoLongerServed) {
  LiveAccuracy live(Quiet());
  std::string old_id = live.Record("old", Abc(), 0);
  live.Record("new", Abc(), 1);
  live.Retain({"new"});
  EXPECT_TRUE(live.StatusJson("old").is_null());
  EXPECT_FALSE(live.StatusJson("new").is_null());
  std::string m = live.RenderMetrics();
  EXPECT_EQ(m.find("model_version=\"old\""), std::string::npos) << m;
  EXPECT_NE(m.find("model_version=\"new\""), std::string::npos) << m;
  // Feedback for a prediction of a dropped version is taken, not counted.
  auto r = live.Feedback(old_id, "a");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->counted);
  EXPECT_TRUE(r->correct);
  EXPECT_EQ(r->ToJson()["window"]["accuracy"], nullptr);
  // A version served again starts a fresh window; the old prediction still
  // does not count in it.
  std::string old2 = live.Record("old", Abc(), 2);
  EXPECT_EQ(live.Feedback(old_id, "a").status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(live.Feedback(old2, "c").ok());
  EXPECT_EQ(live.StatusJson("old")["labelled"], 1);
}

// One token holds at most max_per_labeler labels of a window; the label
// beyond is refused, not counted, and the prediction stays open to others.
TEST(LiveAccuracyTest, OneTokenHoldsAtMostItsShareOfTheWindow) {
  LiveAccuracy::Options o = Quiet(/*window=*/4);
  o.max_per_labeler = 2;
  LiveAccuracy live(o);
  for (int i = 0; i < 2; ++i) {
    auto r = live.Feedback(live.Record("v1", Abc(), 0), "a", "alice");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->labeler, "alice");
    EXPECT_EQ(r->ToJson()["labeler"], "alice");
  }
  const std::string third = live.Record("v1", Abc(), 0);
  auto refused = live.Feedback(third, "b", "alice");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find(
                "token 'alice' holds 2 of the last 2 labelled predictions of "
                "v1"),
            std::string::npos)
      << refused.status();
  EXPECT_NE(refused.status().message().find("--feedback-max-per-token 2"),
            std::string::npos);
  Json s = live.StatusJson("v1");
  EXPECT_EQ(s["labelled"], 2);  // not counted
  EXPECT_EQ(s["labelers"], 1);
  EXPECT_EQ(s["max_labels_per_token"], 2);
  EXPECT_DOUBLE_EQ(s["accuracy"].get<double>(), 1.0);
  // Another token may label the same prediction.
  auto bob = live.Feedback(third, "b", "bob");
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ(bob->window_labelled, 3);
  // Feedback without a token is not bounded.
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(live.Feedback(live.Record("v1", Abc(), 0), "a").ok());
  // The window (4) slid: alice's labels left it, so she may label again.
  EXPECT_TRUE(live.Feedback(live.Record("v1", Abc(), 0), "a", "alice").ok());
  EXPECT_NE(live.RenderMetrics().find(
                "pizza_api_feedback_total{result=\"over_limit\"} 1\n"),
            std::string::npos);
  // The bound is per version: alice's labels of v1 do not hold her off v2.
  for (int i = 0; i < 2; ++i)
    EXPECT_TRUE(live.Feedback(live.Record("v2", Abc(), 0), "a", "alice").ok());
}

// The alarm (and so a rollback's reason) names the labelers of the window.
TEST(LiveAccuracyTest, AlarmNamesTheLabelersOfTheWindow) {
  std::vector<LiveAlarm> alarms;
  LiveAccuracy::Options o = Quiet(/*window=*/4);
  o.floor = 0.5;
  o.min_labelled = 3;
  o.on_alarm = [&](const LiveAlarm& a) { alarms.push_back(a); };
  LiveAccuracy live(o);
  for (const char* who : {"bob", "alice", "bob"})
    ASSERT_TRUE(live.Feedback(live.Record("v7", Abc(), 0), "b", who).ok());
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].labelers,
            (std::map<std::string, int>{{"alice", 1}, {"bob", 2}}));
  EXPECT_EQ(alarms[0].Reason(),
            "live accuracy 0.00 < floor 0.50 over the last 3 labelled "
            "predictions of v7; labelled by alice (1), bob (2)");
  LiveAlarm anonymous = alarms[0];
  anonymous.labelers = {{"", 3}};
  EXPECT_NE(anonymous.Reason().find("; labelled by (no token) (3)"),
            std::string::npos);
}

}  // namespace
}  // namespace spatial::serving
