// LiveAccuracy: how right the served models are once they run, from the
// truth that clients send back (POST /feedback).
//
// Every classification is remembered under a random prediction id (the last
// `memory` of them: version, kind, classes, predicted class, time). Feedback
// names an id, the true class and who labelled it (a token's name, or "" when
// the server takes feedback without a token); it is accepted once per id. Per
// model version the server keeps two sliding windows of `window` entries each:
//  - the labelled predictions (true, predicted, labeler): accuracy and
//    per-class recall; with `max_per_labeler`, one labeler holds at most that
//    many of them, so that no token brings a window to judgement (and an
//    environment to a rollback) alone;
//  - all predictions, labelled or not: the predicted-class distribution,
//    compared with the reference (validation) class distribution by the
//    Jensen-Shannon divergence, base 2 (0 = the same, 1 = disjoint).
// With a floor, a version whose window holds at least `min_labelled` labelled
// predictions and whose accuracy is below the floor is in alarm; on_alarm is
// called when it enters alarm (again after a recovery).
//
// Thread-safe (one mutex; callbacks run outside it).
#ifndef SPATIAL_SERVING_LIVE_ACCURACY_H_
#define SPATIAL_SERVING_LIVE_ACCURACY_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "src/inference/manifest.h"

namespace spatial::serving {

// Jensen-Shannon divergence of two distributions of the same length, in bits
// (log base 2), so in [0, 1]. Each is normalised by its sum first; an empty
// or all-zero input gives 0.
double JensenShannon(const std::vector<double>& p,
                     const std::vector<double>& q);

// The class distribution a model was validated on, per manifest.classes:
// manifest.metrics.class_distribution (class -> share) when the bundle
// records one, else uniform. `source` says which.
struct ReferenceDistribution {
  std::vector<double> shares;
  std::string source;
};
ReferenceDistribution ReferenceFor(const inference::Manifest& m);

// A new id: 32 hex digits, 128 bits from the OS's random generator (for
// prediction ids and anything else that must not be guessed).
std::string RandomId128();

// Why a version is in alarm, e.g. for the log and a rollback reason.
struct LiveAlarm {
  std::string version, model_type;
  double accuracy = 0, floor = 0;
  int labelled = 0;
  // Who labelled the window: labeler -> labels ("" = without a token).
  std::map<std::string, int> labelers;
  // "live accuracy 0.41 < floor 0.80 over ... of v2; labelled by a (30), b
  // (20)"
  std::string Reason() const;
};

// What feedback recorded (the body of a 200 answer).
struct FeedbackRecord {
  std::string prediction_id, model_version, model_type;
  std::string predicted_class, true_class, predicted_at;
  std::string labeler;  // "" without a token
  bool correct = false;
  bool counted = false;  // false: the version is no longer served
  std::optional<double> window_accuracy;
  int window_labelled = 0;
  bool window_alarm = false;  // the version is in alarm now
  nlohmann::json ToJson() const;
};

class LiveAccuracy {
 public:
  struct Options {
    int window = 200;       // labelled predictions (and predictions) kept
    int min_labelled = 50;  // before accuracy is judged against the floor
    // Labels one labeler (token) may hold in a version's window; 0: no bound.
    // Feedback without a token (labeler "") is not bounded.
    int max_per_labeler = 0;
    size_t memory = 10000;        // prediction ids remembered
    std::optional<double> floor;  // none: never in alarm
    std::function<void(const LiveAlarm&)> on_alarm;  // entering alarm
    std::function<void(const std::string&)> log;     // default: stderr
  };
  explicit LiveAccuracy(Options options);

  // Remembers one prediction of `label` (an index into m.classes) by
  // `version`; returns its id (32 hex digits, 128 random bits).
  std::string Record(const std::string& version, const inference::Manifest& m,
                     int label);

  // The truth for one prediction, from `labeler` (a token's name; "" for
  // feedback without a token). NotFound: unknown or forgotten id;
  // InvalidArgument: a class the model does not have (naming the valid
  // ones); AlreadyExists: feedback was given for this id already;
  // PermissionDenied: the labeler holds max_per_labeler labels of the
  // version's window already (nothing is recorded: the prediction stays open
  // to other labelers).
  absl::StatusOr<FeedbackRecord> Feedback(const std::string& prediction_id,
                                          const std::string& true_class,
                                          const std::string& labeler = "");

  // Counts a feedback request whose body could not be read.
  void CountInvalidFeedback();

  // Forgets the windows of versions not in `served` (bounded metrics).
  void Retain(const std::set<std::string>& served);

  // The windows of `version` for /status (null when it has none).
  nlohmann::json StatusJson(const std::string& version) const;
  // Every version's figures in the Prometheus text format.
  std::string RenderMetrics() const;

  const Options& options() const { return options_; }

 private:
  struct VersionInfo {
    std::string model_type;
    std::vector<std::string> classes;
    ReferenceDistribution reference;
  };
  struct Prediction {
    std::string version;
    std::shared_ptr<const VersionInfo> info;
    int label = 0;
    std::string predicted_at;
    bool labelled = false;
  };
  struct Label {
    int truth = 0, predicted = 0;
    std::string labeler;
  };
  struct Window {
    std::shared_ptr<const VersionInfo> info;
    std::deque<int> predicted;   // last `window` predictions
    std::deque<Label> labelled;  // last `window` labelled predictions
    std::map<std::string, int> by_labeler;  // labels in `labelled`
    bool alarm = false;
    uint64_t alarms = 0;
    std::optional<double> Accuracy() const;
  };
  void Log(const std::string& line) const;

  const Options options_;
  mutable std::mutex mu_;
  std::map<std::string, Prediction> predictions_;  // guarded by mu_
  std::deque<std::string> order_;                  // ids, oldest first
  std::map<std::string, Window> windows_;          // by version
  std::map<std::string, uint64_t> feedback_;       // by result
  uint64_t alarms_total_ = 0;
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_LIVE_ACCURACY_H_
