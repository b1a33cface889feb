// Classification metrics over a labelled set: confusion matrix, accuracy,
// per-class precision, recall and F1. Pure; not thread-safe (accumulates).
#ifndef SPATIAL_INFERENCE_EVALUATION_H_
#define SPATIAL_INFERENCE_EVALUATION_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace spatial::inference {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(std::vector<std::string> classes);
  void Add(int truth, int predicted);

  int total() const { return total_; }
  int count(int truth, int predicted) const { return m_[truth][predicted]; }
  double accuracy() const;
  double precision(int c) const;  // 0 when nothing was predicted as c
  double recall(int c) const;     // 0 when c never occurs
  double f1(int c) const;

  // {accuracy, samples, classes, confusion_matrix (rows = truth),
  // per_class{...}}
  nlohmann::json ToJson() const;
  // A table a person reads: the matrix and the per-class figures.
  std::string ToText() const;

 private:
  std::vector<std::string> classes_;
  std::vector<std::vector<int>> m_;
  int total_ = 0;
};

}  // namespace spatial::inference

#endif  // SPATIAL_INFERENCE_EVALUATION_H_
