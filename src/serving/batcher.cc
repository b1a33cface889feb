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
  // One short-lived thread per worker opens its classifier and warms it up,
  // all at once; for a swap (warmup.nice > 0) at a lower priority, so that
  // the whole load of the next version, the graph's parsing included,
  // yields the CPU to the version serving meanwhile. The workers themselves
  // are started below, by this thread, at its priority.
  const auto n = static_cast<size_t>(options.workers);
  std::vector<std::unique_ptr<inference::Classifier>> classifiers(n);
  std::vector<absl::Status> opened(n), warmed(n);
  std::vector<std::thread> loaders;
  for (size_t w = 0; w < n; ++w) {
    loaders.emplace_back([&, w] {
      // Best effort: a load at normal priority is still a load.
      if (warmup.nice > 0)
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), warmup.nice);
      auto c = factory();
      if (!c.ok()) {
        opened[w] = c.status();
        return;
      }
      classifiers[w] = std::move(*c);
      if (!warmup.input) return;
      for (int r = 0; r < warmup.rounds && warmed[w].ok(); ++r) {
        for (int k = 1; k <= options.max_batch && warmed[w].ok(); ++k) {
          std::vector<const inference::PreparedInput*> batch(
              static_cast<size_t>(k), warmup.input.get());
          warmed[w] = classifiers[w]->Classify(batch).status();
        }
      }
    });
  }
  for (auto& t : loaders) t.join();
  for (const auto& s : opened) {
    if (!s.ok()) return s;
  }
  for (const auto& s : warmed) {
    if (!s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("warm-up failed: ", s.message()));
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
  std::vector<Job> jobs;
  jobs.push_back({std::move(input), std::move(done), {}});
  return Enqueue(std::move(jobs));
}

absl::Status Batcher::SubmitAll(
    const std::vector<std::shared_ptr<const inference::PreparedInput>>& inputs,
    DoneAt done) {
  std::vector<Job> jobs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    jobs.push_back({inputs[i],
                    [done, i](absl::StatusOr<inference::Prediction> p) {
                      done(i, std::move(p));
                    },
                    {}});
  }
  return Enqueue(std::move(jobs));
}

absl::Status Batcher::Enqueue(std::vector<Job> jobs) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("the model is being unloaded");
    if (queue_.size() + jobs.size() > options_.queue_capacity) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the inference queue is full (", options_.queue_capacity,
                       " requests); retry later"));
    }
    const auto now = std::chrono::steady_clock::now();
    for (auto& j : jobs) {
      j.enqueued = now;
      queue_.push_back(std::move(j));
    }
  }
  // One idle worker is enough (it takes up to max_batch); a holding worker
  // is woken as well, since it waits on the same condition.
  cv_.notify_one();
  return absl::OkStatus();
}

Batcher::Counts Batcher::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  Counts c = counts_;
  c.holding = holding_;
  return c;
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
  const auto max_batch = static_cast<size_t>(options_.max_batch);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      // Hold a partial batch open only while every other worker is busy
      // (none could take the next request anyway), and never past the oldest
      // job's deadline. An idle peer, a full batch or the deadline ends it.
      auto must_hold = [&] {
        return !stopping_ && options_.workers > 1 &&
               busy_ == options_.workers - 1 && !queue_.empty() &&
               queue_.size() < max_batch;
      };
      bool held = false;
      if (must_hold() && options_.max_queue_delay.count() > 0) {
        const auto deadline =
            queue_.front().enqueued + options_.max_queue_delay;
        ++holding_;
        while (must_hold() && std::chrono::steady_clock::now() < deadline) {
          held = true;
          cv_.wait_until(lock, deadline);
        }
        --holding_;
      }
      size_t n = std::min(queue_.size(), max_batch);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (batch.empty()) continue;  // another worker took them
      ++busy_;
      ++counts_.batches;
      if (held) ++counts_.held;
      // What is left is for an idle worker.
      if (!queue_.empty()) cv_.notify_one();
    }
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
    {
      std::lock_guard<std::mutex> lock(mu_);
      --busy_;
      // A worker holding a partial batch stops: this one is idle now.
      if (holding_ > 0) cv_.notify_all();
    }
  }
}

}  // namespace spatial::serving
