#include "src/inference/evaluation.h"

#include "gtest/gtest.h"

namespace spatial::inference {
namespace {

// Hand-computed figures for a small three-class matrix.
TEST(EvaluationTest, ComputesAccuracyPrecisionRecallF1) {
  ConfusionMatrix cm({"a", "b", "c"});
  // truth a: 3 right, 1 as b; truth b: 2 right; truth c: 1 as a, never right.
  for (int i = 0; i < 3; ++i) cm.Add(0, 0);
  cm.Add(0, 1);
  cm.Add(1, 1);
  cm.Add(1, 1);
  cm.Add(2, 0);
  EXPECT_EQ(cm.total(), 7);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 5.0 / 7);
  EXPECT_DOUBLE_EQ(cm.precision(0), 3.0 / 4);
  EXPECT_DOUBLE_EQ(cm.recall(0), 3.0 / 4);
  EXPECT_DOUBLE_EQ(cm.precision(1), 2.0 / 3);
  EXPECT_DOUBLE_EQ(cm.recall(1), 1.0);
  EXPECT_DOUBLE_EQ(cm.f1(1), 2 * (2.0 / 3) / (2.0 / 3 + 1));
  EXPECT_DOUBLE_EQ(cm.precision(2), 0);  // never predicted
  EXPECT_DOUBLE_EQ(cm.f1(2), 0);
  auto j = cm.ToJson();
  EXPECT_EQ(j["confusion_matrix"][0][1], 1);
  EXPECT_EQ(j["per_class"]["c"]["support"], 1);
  EXPECT_NE(cm.ToText().find("accuracy 0.7143 over 7 images"),
            std::string::npos);
}

TEST(EvaluationTest, EmptyMatrixIsZeroNotNan) {
  ConfusionMatrix cm({"a", "b"});
  EXPECT_EQ(cm.accuracy(), 0);
  EXPECT_EQ(cm.recall(1), 0);
}

}  // namespace
}  // namespace spatial::inference
