// PredictCore: the one way every inference endpoint (/classify and
// /predict/*, /ab-test/compare, the OIP v2 infer) runs inputs through a
// served model: decode with limits -> prepare -> submit each input to the
// model's Batcher -> gather the answers, with the prediction cache and the
// fallback to another model where the caller asks for them. Handlers only
// parse their request and format the outcome.
//
// Decoding and preprocessing run on the calling (I/O) thread; `done` runs
// exactly once, on that thread (an input refused, a cache hit) or on a batcher
// worker. Thread-safe: the counters are atomics; the cache and the metrics
// are thread-safe themselves.
#ifndef SPATIAL_SERVING_PREDICT_CORE_H_
#define SPATIAL_SERVING_PREDICT_CORE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/inference/classifier.h"
#include "src/serving/metrics.h"
#include "src/serving/prediction_cache.h"
#include "src/serving/served_model.h"
#include "src/vision/decode.h"

namespace spatial::serving {

// One input: an image file, or model inputs prepared already (OIP FP32
// tensors). The inputs of one call are all of one kind.
struct PredictInput {
  std::string image;  // JPEG, PNG or WebP bytes
  std::shared_ptr<const inference::PreparedInput> prepared;  // instead
  // Prefixes a decode error ("input 'image_bytes' element 2"); "" for none.
  std::string where;
};

// What an answer needs of the model that computed it, copied: the callbacks
// must not own a ServedModel (the last owner of a Batcher would destroy it on
// the Batcher's own worker thread).
struct AnsweringModel {
  std::string version;
  inference::Manifest manifest;
  static std::shared_ptr<const AnsweringModel> Of(const ServedModel& m);
};

struct PredictOptions {
  // Look each image up in the cache before decoding, and store what is
  // computed (under the model that computed it). Image inputs only.
  bool use_cache = false;
  // When `model` fails at inference (Internal), the inputs run again on this
  // one (image inputs only; held weakly: not when it is gone meanwhile) and
  // the outcome says so, naming `model` as `primary_name`.
  std::shared_ptr<ServedModel> fallback;
  std::string primary_name = "spatial";
  // Non-empty: the caller serves `model` in place of the one asked for; a
  // fallback counted once the inputs are decoded.
  std::string fallback_reason;
  // Keep the prepared inputs in the outcome (visualizations).
  bool keep_inputs = false;
  // Runs once the inputs are decoded (or found in the cache), before
  // inference: from then on the request counts as served.
  std::function<void()> started;
};

struct PredictOutcome {
  std::shared_ptr<const AnsweringModel> model;     // the one that answered
  std::vector<inference::Prediction> predictions;  // one per input
  // Per input, for models with a spatial input.
  std::vector<std::optional<vision::SpatialFeatures>> features;
  // With keep_inputs and computed (not cached): per input.
  std::vector<std::shared_ptr<const inference::PreparedInput>> inputs;
  bool cached = false;          // every prediction came from the cache
  std::string fallback_reason;  // non-empty: not the model asked for
};

class PredictCore {
 public:
  using Done = std::function<void(absl::StatusOr<PredictOutcome>)>;
  struct Options {
    PredictionCache* cache = nullptr;  // not owned; null: no cache
    Metrics* metrics = nullptr;        // not owned; counts the fallbacks
    vision::DecodeLimits decode;
  };
  explicit PredictCore(Options options) : options_(options) {}

  // Errors: a decode error (InvalidArgument, OutOfRange for a file over the
  // limits), ResourceExhausted when the queue is full, Unavailable while the
  // model unloads, Internal when inference fails (and no fallback helped).
  void Predict(std::shared_ptr<ServedModel> model,
               std::vector<PredictInput> inputs, PredictOptions options,
               Done done) const;

  uint64_t fallbacks() const { return fallbacks_.load(); }

 private:
  struct Call;
  void Run(std::shared_ptr<Call> call,
           std::shared_ptr<ServedModel> model) const;
  void CountFallback() const;

  const Options options_;
  mutable std::atomic<uint64_t> fallbacks_{0};
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_PREDICT_CORE_H_
