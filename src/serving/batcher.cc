#include "src/serving/batcher.h"

#include "absl/strings/str_cat.h"

namespace spatial::serving {

absl::StatusOr<std::unique_ptr<Batcher>> Batcher::Start(
    const Options& options, const ClassifierFactory& factory,
    BatchObserver observer) {
  if (options.workers < 1 || options.max_batch < 1 ||
      options.queue_capacity < 1) {
    return absl::InvalidArgumentError(
        "workers, max batch and queue capacity must be >= 1");
  }
  std::vector<std::unique_ptr<inference::Classifier>> classifiers;
  for (int i = 0; i < options.workers; ++i) {
    auto c = factory();
    if (!c.ok()) return c.status();
    classifiers.push_back(std::move(*c));
  }
  std::unique_ptr<Batcher> b(new Batcher(options, std::move(observer),
                                         classifiers.front()->manifest()));
  b->classifiers_ = std::move(classifiers);
  for (auto& c : b->classifiers_) {
    b->workers_.emplace_back([raw = b.get(), c = c.get()] { raw->Work(c); });
  }
  return b;
}

Batcher::~Batcher() { Stop(); }

absl::Status Batcher::Submit(
    std::shared_ptr<const inference::PreparedInput> input, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("the model is being unloaded");
    if (queue_.size() >= options_.queue_capacity) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the inference queue is full (", options_.queue_capacity,
                       " requests); retry later"));
    }
    queue_.push_back(
        {std::move(input), std::move(done), std::chrono::steady_clock::now()});
  }
  cv_.notify_one();
  return absl::OkStatus();
}

size_t Batcher::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void Batcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
}

void Batcher::Work(inference::Classifier* classifier) {
  std::vector<Job> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      // Wait for the batch to fill, but never past the oldest job's deadline.
      auto deadline = queue_.front().enqueued + options_.max_queue_delay;
      while (!stopping_ &&
             queue_.size() < static_cast<size_t>(options_.max_batch) &&
             cv_.wait_until(lock, deadline) != std::cv_status::timeout) {
      }
      size_t n =
          std::min(queue_.size(), static_cast<size_t>(options_.max_batch));
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (batch.empty()) continue;  // another worker took them
    std::vector<const inference::PreparedInput*> inputs;
    for (const auto& j : batch) inputs.push_back(j.input.get());
    auto t0 = std::chrono::steady_clock::now();
    auto preds = classifier->Classify(inputs);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    if (observer_) observer_(static_cast<int>(batch.size()), seconds);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (preds.ok()) {
        batch[i].done((*preds)[i]);
      } else {
        batch[i].done(preds.status());
      }
    }
    batch.clear();
  }
}

}  // namespace spatial::serving
