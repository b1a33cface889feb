#include "src/serving/live_accuracy.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <iterator>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "src/base/text.h"

namespace spatial::serving {
namespace {

using Json = nlohmann::json;

std::vector<double> Normalised(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  std::vector<double> out(v.size(), 0.0);
  if (sum <= 0) return out;
  for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] / sum;
  return out;
}

// sum p log2(p / m) over p > 0.
double KlBits(const std::vector<double>& p, const std::vector<double>& m) {
  double d = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] > 0) d += p[i] * std::log2(p[i] / m[i]);
  }
  return d;
}

}  // namespace

std::string RandomId128() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Not expected; never serve a predictable id silently.
    static thread_local std::mt19937_64 fallback{std::random_device{}()};
    for (auto& b : bytes) b = static_cast<unsigned char>(fallback());
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

namespace {

std::vector<double> PredictedShares(const std::deque<int>& predicted,
                                    size_t classes) {
  std::vector<double> counts(classes, 0.0);
  for (int p : predicted) counts[static_cast<size_t>(p)] += 1;
  return Normalised(counts);
}

// Recall of each class that occurs among the labelled predictions.
template <typename Labels>
std::map<std::string, double> Recall(const Labels& labelled,
                                     const std::vector<std::string>& classes) {
  std::vector<int> n(classes.size(), 0), hit(classes.size(), 0);
  for (const auto& l : labelled) {
    ++n[static_cast<size_t>(l.truth)];
    if (l.truth == l.predicted) ++hit[static_cast<size_t>(l.truth)];
  }
  std::map<std::string, double> out;
  for (size_t i = 0; i < classes.size(); ++i) {
    if (n[i] > 0) out[classes[i]] = static_cast<double>(hit[i]) / n[i];
  }
  return out;
}

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

std::string Num(double v) { return absl::StrFormat("%.17g", v); }

}  // namespace

double JensenShannon(const std::vector<double>& p_in,
                     const std::vector<double>& q_in) {
  if (p_in.size() != q_in.size() || p_in.empty()) return 0;
  std::vector<double> p = Normalised(p_in), q = Normalised(q_in);
  double sp = 0, sq = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    sp += p[i];
    sq += q[i];
  }
  if (sp == 0 || sq == 0) return 0;
  std::vector<double> m(p.size());
  for (size_t i = 0; i < p.size(); ++i) m[i] = (p[i] + q[i]) / 2;
  return std::max(0.0, 0.5 * KlBits(p, m) + 0.5 * KlBits(q, m));
}

ReferenceDistribution ReferenceFor(const inference::Manifest& m) {
  const size_t n = m.classes.size();
  auto it = m.metrics.find("class_distribution");
  if (it != m.metrics.end() && it->is_object()) {
    std::vector<double> shares(n, 0.0);
    bool complete = true;
    for (size_t i = 0; i < n; ++i) {
      auto c = it->find(m.classes[i]);
      if (c == it->end() || !c->is_number() || c->get<double>() < 0) {
        complete = false;
        break;
      }
      shares[i] = c->get<double>();
    }
    double sum = 0;
    for (double x : shares) sum += x;
    if (complete && sum > 0) {
      return {Normalised(shares), "manifest metrics.class_distribution"};
    }
  }
  return {std::vector<double>(n, n ? 1.0 / static_cast<double>(n) : 0.0),
          "uniform (the bundle records its classes only; its validation and "
          "evaluation renders hold the same number of images per class)"};
}

std::string LiveAlarm::Reason() const {
  std::string reason = absl::StrFormat(
      "live accuracy %.2f < floor %.2f over the last %d labelled predictions "
      "of %s",
      accuracy, floor, labelled, version);
  if (labelers.empty()) return reason;
  return absl::StrCat(
      reason, "; labelled by ",
      absl::StrJoin(labelers, ", ", [](std::string* out, const auto& l) {
        absl::StrAppend(out, l.first.empty() ? "(no token)" : l.first, " (",
                        l.second, ")");
      }));
}

Json FeedbackRecord::ToJson() const {
  return {
      {"prediction_id", prediction_id},
      {"model_version", model_version},
      {"model_used", model_type},
      {"predicted_class", predicted_class},
      {"true_class", true_class},
      {"correct", correct},
      {"predicted_at", predicted_at},
      {"labeler", labeler.empty() ? Json(nullptr) : Json(labeler)},
      {"counted", counted},
      {"window",
       {{"labelled", window_labelled},
        {"accuracy", window_accuracy ? Json(*window_accuracy) : Json(nullptr)},
        {"alarm", window_alarm}}}};
}

std::optional<double> LiveAccuracy::Window::Accuracy() const {
  if (labelled.empty()) return std::nullopt;
  int hits = 0;
  for (const auto& l : labelled) hits += l.truth == l.predicted;
  return static_cast<double>(hits) / static_cast<double>(labelled.size());
}

LiveAccuracy::LiveAccuracy(Options options) : options_(std::move(options)) {}

void LiveAccuracy::Log(const std::string& line) const {
  if (options_.log) return options_.log(line);
  std::cerr << line << std::endl;
}

std::string LiveAccuracy::Record(const std::string& version,
                                 const inference::Manifest& m, int label) {
  std::string id = RandomId128();
  std::lock_guard<std::mutex> lock(mu_);
  auto [w, fresh] = windows_.try_emplace(version);
  if (fresh) {
    w->second.info = std::make_shared<const VersionInfo>(
        VersionInfo{m.model_type, m.classes, ReferenceFor(m)});
  }
  w->second.predicted.push_back(label);
  while (w->second.predicted.size() > static_cast<size_t>(options_.window))
    w->second.predicted.pop_front();
  predictions_[id] = {version, w->second.info, label,
                      base::FormatIso8601(absl::Now()), false};
  order_.push_back(id);
  while (order_.size() > options_.memory) {
    predictions_.erase(order_.front());
    order_.pop_front();
  }
  return id;
}

absl::StatusOr<FeedbackRecord> LiveAccuracy::Feedback(
    const std::string& prediction_id, const std::string& true_class,
    const std::string& labeler) {
  std::optional<LiveAlarm> raised;
  std::string recovered;
  FeedbackRecord r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto p = predictions_.find(prediction_id);
    if (p == predictions_.end()) {
      ++feedback_["unknown"];
      return absl::NotFoundError(absl::StrCat(
          "unknown or expired prediction_id '", prediction_id.substr(0, 64),
          "' (the server remembers its last ", options_.memory,
          " predictions)"));
    }
    const VersionInfo& info = *p->second.info;
    auto c = std::find(info.classes.begin(), info.classes.end(), true_class);
    if (c == info.classes.end()) {
      ++feedback_["invalid"];
      return absl::InvalidArgumentError(absl::StrCat(
          "true_class '", true_class.substr(0, 64), "' is not a class of ",
          p->second.version, "; valid: ", absl::StrJoin(info.classes, ", ")));
    }
    const int truth = static_cast<int>(c - info.classes.begin());
    r.predicted_class = info.classes[static_cast<size_t>(p->second.label)];
    r.model_type = info.model_type;
    r.correct = truth == p->second.label;
    if (p->second.labelled) {
      ++feedback_["duplicate"];
      return absl::AlreadyExistsError(
          absl::StrCat("feedback for prediction_id '", prediction_id,
                       "' was given already"));
    }
    // The version's window was dropped (it is no longer served), or was
    // dropped and started anew: the truth has nowhere to count.
    auto w = windows_.find(p->second.version);
    const bool counts = w != windows_.end() && w->second.info == p->second.info;
    if (counts && !labeler.empty() && options_.max_per_labeler > 0) {
      const Window& win = w->second;
      auto it = win.by_labeler.find(labeler);
      const int held = it == win.by_labeler.end() ? 0 : it->second;
      // In a full window the new label pushes the oldest out: when that one
      // is the labeler's own, its share does not grow.
      const bool replaces_own =
          win.labelled.size() >= static_cast<size_t>(options_.window) &&
          win.labelled.front().labeler == labeler;
      if (held + (replaces_own ? 0 : 1) > options_.max_per_labeler) {
        ++feedback_["over_limit"];
        return absl::PermissionDeniedError(absl::StrCat(
            "not counted: token '", labeler, "' holds ", held, " of the last ",
            win.labelled.size(), " labelled predictions of ", p->second.version,
            " already, the most one token may (--feedback-max-per-token ",
            options_.max_per_labeler,
            "); labels from other tokens must come first"));
      }
    }
    p->second.labelled = true;
    r.prediction_id = prediction_id;
    r.model_version = p->second.version;
    r.true_class = true_class;
    r.predicted_at = p->second.predicted_at;
    r.labeler = labeler;
    if (!counts) {
      ++feedback_["uncounted"];
      return r;
    }
    ++feedback_["recorded"];
    Window& win = w->second;
    win.labelled.push_back({truth, p->second.label, labeler});
    ++win.by_labeler[labeler];
    while (win.labelled.size() > static_cast<size_t>(options_.window)) {
      auto held = win.by_labeler.find(win.labelled.front().labeler);
      if (--held->second == 0) win.by_labeler.erase(held);
      win.labelled.pop_front();
    }
    r.counted = true;
    r.window_accuracy = win.Accuracy();
    r.window_labelled = static_cast<int>(win.labelled.size());
    if (options_.floor && r.window_labelled >= options_.min_labelled) {
      const bool below = *r.window_accuracy < *options_.floor;
      if (below && !win.alarm) {
        ++win.alarms;
        ++alarms_total_;
        raised =
            LiveAlarm{r.model_version, info.model_type,   *r.window_accuracy,
                      *options_.floor, r.window_labelled, win.by_labeler};
      } else if (!below && win.alarm) {
        recovered = absl::StrFormat(
            "live accuracy of %s recovered: %.2f >= floor %.2f over the "
            "last %d labelled predictions",
            r.model_version, *r.window_accuracy, *options_.floor,
            r.window_labelled);
      }
      win.alarm = below;
    }
    r.window_alarm = win.alarm;
  }
  if (!recovered.empty()) Log(recovered);
  if (raised) {
    Log(absl::StrCat("ALARM: ", raised->Reason()));
    if (options_.on_alarm) options_.on_alarm(*raised);
  }
  return r;
}

void LiveAccuracy::CountInvalidFeedback() {
  std::lock_guard<std::mutex> lock(mu_);
  ++feedback_["invalid"];
}

void LiveAccuracy::Retain(const std::set<std::string>& served) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = windows_.begin(); it != windows_.end();) {
    it = served.count(it->first) ? std::next(it) : windows_.erase(it);
  }
}

Json LiveAccuracy::StatusJson(const std::string& version) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = windows_.find(version);
  if (it == windows_.end()) return nullptr;
  const Window& w = it->second;
  std::vector<double> predicted =
      PredictedShares(w.predicted, w.info->classes.size());
  Json pred = Json::object(), ref = Json::object();
  const auto& classes = w.info->classes;
  for (size_t i = 0; i < classes.size(); ++i) {
    pred[classes[i]] = predicted[i];
    ref[classes[i]] = w.info->reference.shares[i];
  }
  auto accuracy = w.Accuracy();
  return {
      {"window_size", options_.window},
      {"predictions", w.predicted.size()},
      {"labelled", w.labelled.size()},
      {"labelers", w.by_labeler.size()},
      {"max_labels_per_token", options_.max_per_labeler > 0
                                   ? Json(options_.max_per_labeler)
                                   : Json(nullptr)},
      {"accuracy", accuracy ? Json(*accuracy) : Json(nullptr)},
      {"per_class_recall", Recall(w.labelled, w.info->classes)},
      {"predicted_distribution", pred},
      {"reference_distribution", ref},
      {"reference_source", w.info->reference.source},
      {"drift_score",
       w.predicted.empty()
           ? Json(nullptr)
           : Json(JensenShannon(predicted, w.info->reference.shares))},
      {"drift_measure", "Jensen-Shannon divergence, bits (0 same, 1 disjoint)"},
      {"accuracy_floor",
       options_.floor ? Json(*options_.floor) : Json(nullptr)},
      {"min_labelled", options_.min_labelled},
      {"alarm", w.alarm},
      {"alarms", w.alarms}};
}

std::string LiveAccuracy::RenderMetrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  auto header = [&](const char* name, const char* type, const char* help) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                    type, "\n");
  };
  auto per_version = [&](const char* name, const char* help, auto value) {
    header(name, "gauge", help);
    for (const auto& [version, w] : windows_) {
      std::optional<double> v = value(w);
      if (v) {
        absl::StrAppend(&out, name, "{model_version=\"", Escape(version),
                        "\"} ", Num(*v), "\n");
      }
    }
  };
  auto per_class = [&](const char* name, const char* help, auto values) {
    header(name, "gauge", help);
    for (const auto& [version, w] : windows_) {
      for (const auto& [cls, v] : values(w)) {
        absl::StrAppend(&out, name, "{model_version=\"", Escape(version),
                        "\",class=\"", Escape(cls), "\"} ", Num(v), "\n");
      }
    }
  };
  auto by_class = [](const Window& w, const std::vector<double>& v) {
    std::map<std::string, double> m;
    for (size_t i = 0; i < v.size(); ++i) m[w.info->classes[i]] = v[i];
    return m;
  };
  per_version("pizza_api_live_predictions",
              "Predictions in the live window of a served version.",
              [](const Window& w) -> std::optional<double> {
                return static_cast<double>(w.predicted.size());
              });
  per_version("pizza_api_live_labelled",
              "Predictions with feedback in the live window.",
              [](const Window& w) -> std::optional<double> {
                return static_cast<double>(w.labelled.size());
              });
  per_version("pizza_api_live_accuracy",
              "Accuracy over the labelled predictions of the live window.",
              [](const Window& w) { return w.Accuracy(); });
  per_class(
      "pizza_api_live_class_recall",
      "Recall of each class among the labelled predictions.",
      [&](const Window& w) { return Recall(w.labelled, w.info->classes); });
  per_class("pizza_api_live_predicted_share",
            "Share of each class among the predictions of the live window.",
            [&](const Window& w) {
              return by_class(
                  w, PredictedShares(w.predicted, w.info->classes.size()));
            });
  per_class(
      "pizza_api_live_reference_share",
      "Share of each class in the validation data (the reference).",
      [&](const Window& w) { return by_class(w, w.info->reference.shares); });
  per_version("pizza_api_live_drift_score",
              "Jensen-Shannon divergence (bits) of the predicted from the "
              "reference class distribution.",
              [](const Window& w) -> std::optional<double> {
                if (w.predicted.empty()) return std::nullopt;
                return JensenShannon(
                    PredictedShares(w.predicted, w.info->classes.size()),
                    w.info->reference.shares);
              });
  per_version("pizza_api_live_accuracy_alarm",
              "1 while the live accuracy is below the floor.",
              [](const Window& w) -> std::optional<double> {
                return w.alarm ? 1.0 : 0.0;
              });
  if (options_.floor) {
    header("pizza_api_live_accuracy_floor", "gauge",
           "The live accuracy below which a version is in alarm.");
    absl::StrAppend(&out, "pizza_api_live_accuracy_floor ",
                    Num(*options_.floor), "\n");
  }
  header("pizza_api_live_accuracy_alarms_total", "counter",
         "Times a served version entered the live accuracy alarm.");
  absl::StrAppend(&out, "pizza_api_live_accuracy_alarms_total ", alarms_total_,
                  "\n");
  header("pizza_api_feedback_total", "counter", "POST /feedback by result.");
  for (const char* result : {"recorded", "uncounted", "unknown", "invalid",
                             "duplicate", "over_limit"}) {
    auto it = feedback_.find(result);
    absl::StrAppend(&out, "pizza_api_feedback_total{result=\"", result, "\"} ",
                    it == feedback_.end() ? 0 : it->second, "\n");
  }
  return out;
}

}  // namespace spatial::serving
