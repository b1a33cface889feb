// Batcher: dynamic batching of concurrent classification requests onto a
// fixed pool of inference workers, each with its own Classifier (OpenCV's
// Net::forward is not thread-safe).
//
// The policy: a worker that finds requests queued takes them (up to
// max_batch) at once, so a request that arrives while a worker is idle never
// waits for a batch that cannot fill. Batches form while the workers are
// busy: what arrives meanwhile is queued, and the next worker to finish takes
// it all in one batch. The one wait: a worker that is the only idle one (every
// other worker busy, so at least 2 workers) holds a partial batch open for at
// most max_queue_delay after its oldest request arrived, and stops holding as
// soon as the batch is full or another worker becomes idle. With one worker,
// or max_queue_delay 0, nothing ever waits beyond the queue itself.
//
// The queue is bounded: Submit() refuses with ResourceExhausted when it is
// full, so that callers shed load (503) instead of growing latency without
// bound. Thread-safe.
#ifndef SPATIAL_SERVING_BATCHER_H_
#define SPATIAL_SERVING_BATCHER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "src/inference/classifier.h"

namespace spatial::serving {

// Warm-up before serving: every worker's classifier runs `input` in batches
// of every size from 1 to max_batch, `rounds` times (OpenCV's DNN allocates
// per batch shape on first use; a cold shape costs a request its latency).
struct Warmup {
  std::shared_ptr<const inference::PreparedInput> input;
  int rounds = 0;
  // > 0: the threads that open and warm up the classifiers run at this nice
  // value, so that loading a version to swap in yields the CPU to the version
  // serving meanwhile. Only those short-lived threads are lowered; the
  // workers run at normal priority.
  int nice = 0;
};

class Batcher {
 public:
  struct Options {
    int workers = 2;    // inference threads
    int max_batch = 8;  // requests per forward pass
    // The longest a worker holds a partial batch open while every other
    // worker is busy (see above); 0: never.
    std::chrono::microseconds max_queue_delay{2000};
    size_t queue_capacity = 256;  // waiting requests at most
    // Fault injection for resilience tests: the share of requests whose
    // inference fails with Internal ("injected fault"), as a real engine
    // failure would. 0 in production.
    double fault_rate = 0;
  };
  using Done = std::function<void(absl::StatusOr<inference::Prediction>)>;
  using ClassifierFactory =
      std::function<absl::StatusOr<std::unique_ptr<inference::Classifier>>()>;
  // Called after each batch with its size and the seconds it took.
  using BatchObserver = std::function<void(int size, double seconds)>;

  // Creates one classifier per worker and warms each up, in parallel (a
  // failure of either fails Start), then starts the workers.
  static absl::StatusOr<std::unique_ptr<Batcher>> Start(
      const Options& options, const ClassifierFactory& factory,
      BatchObserver observer = nullptr, const Warmup& warmup = {});
  ~Batcher();  // Stop()

  // Queues one prepared image; `done` runs on a worker thread exactly once.
  // ResourceExhausted when the queue is full, Unavailable after Stop().
  absl::Status Submit(std::shared_ptr<const inference::PreparedInput> input,
                      Done done);

  // Queues several inputs (one request's) all together or none of them:
  // ResourceExhausted when the queue has no room for all. `done` runs once
  // per input, with its index.
  using DoneAt =
      std::function<void(size_t, absl::StatusOr<inference::Prediction>)>;
  absl::Status SubmitAll(
      const std::vector<std::shared_ptr<const inference::PreparedInput>>&
          inputs,
      DoneAt done);

  // What the workers did, for tests and metrics.
  struct Counts {
    uint64_t batches = 0;  // batches run
    uint64_t held = 0;     // of which a worker held open for a fuller batch
    int holding = 0;       // workers holding a partial batch right now
  };
  Counts counts() const;

  // Finishes every queued request, then joins the workers. Idempotent.
  void Stop();

  size_t queue_depth() const;
  void set_fault_rate(double rate) { fault_rate_ = rate; }
  const inference::Manifest& manifest() const { return manifest_; }

 private:
  struct Job {
    std::shared_ptr<const inference::PreparedInput> input;
    Done done;
    std::chrono::steady_clock::time_point enqueued;
  };
  Batcher(Options options, BatchObserver observer, inference::Manifest manifest)
      : options_(options),
        observer_(std::move(observer)),
        manifest_(std::move(manifest)),
        fault_rate_(options.fault_rate) {}
  void Work(inference::Classifier* classifier);
  absl::Status Enqueue(std::vector<Job> jobs);

  const Options options_;
  const BatchObserver observer_;
  const inference::Manifest manifest_;
  std::atomic<double> fault_rate_;
  std::vector<std::unique_ptr<inference::Classifier>> classifiers_;
  std::vector<std::thread> workers_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  int busy_ = 0;           // workers running a batch; guarded by mu_
  int holding_ = 0;        // workers holding a partial batch; guarded by mu_
  Counts counts_;          // guarded by mu_
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_BATCHER_H_
