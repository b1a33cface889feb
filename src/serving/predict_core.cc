// PredictCore (predict_core.h): limits, decode, prepare, submit, gather,
// cache, fallback. Thread-safe; a call's state is shared by its callbacks and
// guarded by its own mutex.
//
// The callbacks never own a ServedModel (see AnsweringModel): they hold a
// copy of what the answer needs, and the fallback weakly.
#include "src/serving/predict_core.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "src/base/sha256.h"

namespace spatial::serving {

// One Predict() on its way through a model (and maybe the fallback).
std::shared_ptr<const AnsweringModel> AnsweringModel::Of(const ServedModel& m) {
  return std::make_shared<const AnsweringModel>(
      AnsweringModel{m.version, m.manifest()});
}

struct PredictCore::Call {
  PredictOptions options;  // without the fallback (below)
  std::weak_ptr<ServedModel> fallback;
  Done done;
  std::vector<cv::Mat> images;  // decoded, for the fallback
  std::vector<std::shared_ptr<const inference::PreparedInput>> given;
  std::vector<std::string> sha256;  // with the cache: per image input
  // The gather of one run; reset before the fallback's.
  std::mutex mu;
  size_t pending = 0;
  absl::Status error;
  PredictOutcome outcome;
};

void PredictCore::CountFallback() const {
  ++fallbacks_;
  if (options_.metrics) options_.metrics->RecordFallback();
}

void PredictCore::Predict(std::shared_ptr<ServedModel> model,
                          std::vector<PredictInput> inputs,
                          PredictOptions options, Done done) const {
  auto call = std::make_shared<Call>();
  call->fallback = std::exchange(options.fallback, nullptr);
  call->options = std::move(options);
  call->done = std::move(done);
  call->outcome.fallback_reason = call->options.fallback_reason;
  auto start = [&] {
    if (call->options.started) call->options.started();
    if (!call->options.fallback_reason.empty()) CountFallback();
  };
  // The cache, before any decoding: a hit skips decode, preprocessing and
  // inference.
  bool cache = call->options.use_cache && options_.cache &&
               options_.cache->enabled() && !inputs.empty();
  for (const auto& in : inputs) cache = cache && !in.prepared;
  if (cache) {
    PredictOutcome hit = call->outcome;
    hit.model = AnsweringModel::Of(*model);
    hit.cached = true;
    bool all = true;
    for (const auto& in : inputs) {
      call->sha256.push_back(base::Sha256Hex(in.image));
      if (!all) continue;  // one missed: the rest are computed anyway
      auto found =
          options_.cache->Lookup(call->sha256.back(), CacheModelOf(*model));
      all = found.has_value();
      if (!all) continue;
      hit.predictions.push_back(found->prediction);
      hit.features.push_back(found->features);
    }
    if (all) {
      start();
      return call->done(std::move(hit));
    }
  }
  for (auto& in : inputs) {
    if (in.prepared) {
      call->given.push_back(std::move(in.prepared));
      continue;
    }
    auto image = vision::DecodeImage(in.image, options_.decode);
    if (!image.ok()) {
      absl::Status s = image.status();
      if (!in.where.empty()) {
        s = absl::Status(s.code(), absl::StrCat(in.where, ": ", s.message()));
      }
      return call->done(s);
    }
    call->images.push_back(std::move(*image));
  }
  start();
  Run(std::move(call), std::move(model));
}

void PredictCore::Run(std::shared_ptr<Call> call,
                      std::shared_ptr<ServedModel> model) const {
  const auto& manifest = model->manifest();
  auto info = AnsweringModel::Of(*model);
  auto prepared = std::make_shared<
      std::vector<std::shared_ptr<const inference::PreparedInput>>>(
      call->given);
  for (const cv::Mat& image : call->images) {
    prepared->push_back(std::make_shared<inference::PreparedInput>(
        inference::PrepareInput(manifest, image)));
  }
  const size_t n = prepared->size();
  if (n == 0) return call->done(absl::InvalidArgumentError("no inputs"));
  {
    std::lock_guard<std::mutex> lock(call->mu);
    call->pending = n;
    call->error = absl::OkStatus();
    call->outcome.model = info;
    call->outcome.predictions.assign(n, {});
    call->outcome.features.assign(n, std::nullopt);
    call->outcome.inputs.clear();
    if (call->options.keep_inputs) call->outcome.inputs = *prepared;
  }
  // The last input to finish answers.
  auto finish = [this, call, info, prepared](
                    size_t i, absl::StatusOr<inference::Prediction> p) {
    {
      std::lock_guard<std::mutex> lock(call->mu);
      if (!p.ok()) {
        if (call->error.ok()) call->error = p.status();
      } else {
        call->outcome.predictions[i] = std::move(*p);
        if (info->manifest.has_spatial())
          call->outcome.features[i] = (*prepared)[i]->features;
      }
      if (--call->pending > 0) return;
    }
    // The last one: no other thread touches the call's gather any more.
    if (!call->error.ok()) {
      std::shared_ptr<ServedModel> fallback = call->fallback.lock();
      call->fallback.reset();
      if (fallback && call->given.empty() &&
          call->error.code() == absl::StatusCode::kInternal) {
        call->outcome.fallback_reason =
            absl::StrCat("the ", call->options.primary_name,
                         " model failed: ", call->error.message());
        CountFallback();
        return Run(call, std::move(fallback));
      }
      return call->done(call->error);
    }
    // Stored under the model that produced it (after a fallback, that one;
    // never the model that failed).
    if (!call->sha256.empty() && options_.cache) {
      for (size_t k = 0; k < call->sha256.size(); ++k) {
        options_.cache->Insert(
            call->sha256[k], {info->manifest.model_type, info->version},
            {call->outcome.predictions[k], call->outcome.features[k]});
      }
    }
    call->done(std::move(call->outcome));
  };
  // The inputs go to the batcher together, all or none (it batches them
  // with concurrent requests): a queue without room for all of them refuses
  // the request as a whole (503 + Retry-After for a full queue), so that no
  // input runs for a request that is refused.
  absl::Status queued = model->batcher->SubmitAll(
      *prepared, [finish](size_t i, absl::StatusOr<inference::Prediction> p) {
        finish(i, std::move(p));
      });
  if (!queued.ok()) {
    for (size_t i = 0; i < n; ++i) finish(i, queued);
  }
}

}  // namespace spatial::serving
