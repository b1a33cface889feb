#include "src/inference/evaluation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spatial::inference {

ConfusionMatrix::ConfusionMatrix(std::vector<std::string> classes)
    : classes_(std::move(classes)),
      m_(classes_.size(), std::vector<int>(classes_.size(), 0)) {}

void ConfusionMatrix::Add(int truth, int predicted) {
  ++m_[truth][predicted];
  ++total_;
}

double ConfusionMatrix::accuracy() const {
  if (total_ == 0) return 0;
  int correct = 0;
  for (size_t i = 0; i < m_.size(); ++i) correct += m_[i][i];
  return static_cast<double>(correct) / total_;
}

double ConfusionMatrix::precision(int c) const {
  int predicted = 0;
  for (size_t t = 0; t < m_.size(); ++t) predicted += m_[t][c];
  return predicted == 0 ? 0 : static_cast<double>(m_[c][c]) / predicted;
}

double ConfusionMatrix::recall(int c) const {
  int actual = 0;
  for (int v : m_[c]) actual += v;
  return actual == 0 ? 0 : static_cast<double>(m_[c][c]) / actual;
}

double ConfusionMatrix::f1(int c) const {
  double p = precision(c), r = recall(c);
  return p + r == 0 ? 0 : 2 * p * r / (p + r);
}

nlohmann::json ConfusionMatrix::ToJson() const {
  nlohmann::json per = nlohmann::json::object();
  for (size_t c = 0; c < classes_.size(); ++c) {
    int support = 0;
    for (int v : m_[c]) support += v;
    per[classes_[c]] = {{"precision", precision(static_cast<int>(c))},
                        {"recall", recall(static_cast<int>(c))},
                        {"f1", f1(static_cast<int>(c))},
                        {"support", support}};
  }
  return {{"accuracy", accuracy()},
          {"samples", total_},
          {"classes", classes_},
          {"confusion_matrix", m_},
          {"per_class", per}};
}

std::string ConfusionMatrix::ToText() const {
  std::string out = absl::StrFormat("%-12s", "truth\\pred");
  for (const auto& c : classes_)
    absl::StrAppend(&out, absl::StrFormat(" %11s", c));
  absl::StrAppend(
      &out, absl::StrFormat(" | %9s %9s %9s\n", "precision", "recall", "f1"));
  for (size_t t = 0; t < classes_.size(); ++t) {
    absl::StrAppend(&out, absl::StrFormat("%-12s", classes_[t]));
    for (int v : m_[t]) absl::StrAppend(&out, absl::StrFormat(" %11d", v));
    int c = static_cast<int>(t);
    absl::StrAppend(&out, absl::StrFormat(" | %9.3f %9.3f %9.3f\n",
                                          precision(c), recall(c), f1(c)));
  }
  absl::StrAppend(&out, absl::StrFormat("accuracy %.4f over %d images\n",
                                        accuracy(), total_));
  return out;
}

}  // namespace spatial::inference
