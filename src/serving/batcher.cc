#include "src/serving/batcher.h"

#include <sys/resource.h>
#include <unistd.h>

#include <random>

#include "absl/strings/str_cat.h"

namespace spatial::serving {

absl::StatusOr<std::unique_ptr<Batcher>> Batcher::Start(
    const Options& options, const ClassifierFactory& factory,
    BatchObserver observer, const Warmup& warmup) {
  if (options.workers < 1 || options.max_batch < 1 ||
      options.queue_capacity < 1) {
    return absl::InvalidArgumentError(
        "workers, max batch and queue capacity must be >= 1");
  }
  if (!(options.fault_rate >= 0 && options.fault_rate <= 1)) {
    return absl::InvalidArgumentError("fault rate must be in [0, 1]");
  }
  std::vector<std::unique_ptr<inference::Classifier>> classifiers;
  for (int i = 0; i < options.workers; ++i) {
    auto c = factory();
    if (!c.ok()) return c.status();
    classifiers.push_back(std::move(*c));
  }
  if (warmup.input && warmup.rounds > 0) {
    std::vector<absl::Status> results(classifiers.size());
    std::vector<std::thread> warmers;
    for (size_t w = 0; w < classifiers.size(); ++w) {
      warmers.emplace_back([&, w] {
        // Best effort: a warm-up at normal priority is still a warm-up.
        if (warmup.nice > 0)
          ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()),
                        warmup.nice);
        for (int r = 0; r < warmup.rounds && results[w].ok(); ++r) {
          for (int n = 1; n <= options.max_batch && results[w].ok(); ++n) {
            std::vector<const inference::PreparedInput*> batch(
                static_cast<size_t>(n), warmup.input.get());
            results[w] = classifiers[w]->Classify(batch).status();
          }
        }
      });
    }
    for (auto& t : warmers) t.join();
    for (const auto& s : results) {
      if (!s.ok()) {
        return absl::Status(s.code(),
                            absl::StrCat("warm-up failed: ", s.message()));
      }
    }
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
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> coin(0, 1);
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
      const double fault_rate = fault_rate_.load();
      if (fault_rate > 0 && coin(rng) < fault_rate) {
        batch[i].done(absl::InternalError("injected fault (fault_rate)"));
      } else if (preds.ok()) {
        batch[i].done((*preds)[i]);
      } else {
        batch[i].done(preds.status());
      }
    }
    batch.clear();
  }
}

}  // namespace spatial::serving
