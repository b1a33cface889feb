// Batcher: dynamic batching of concurrent classification requests onto a
// fixed pool of inference workers, each with its own Classifier (OpenCV's
// Net::forward is not thread-safe). A worker takes the oldest request, waits
// up to max_queue_delay for more (up to max_batch), then runs them as one
// batch. The queue is bounded: Submit() refuses with ResourceExhausted when it
// is full, so that callers shed load (503) instead of growing latency without
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
  // > 0: the warm-up threads run at this nice value, so that warming a
  // version to swap in yields the CPU to the version serving meanwhile. Only
  // those short-lived threads are lowered; the workers run at normal priority.
  int nice = 0;
};

class Batcher {
 public:
  struct Options {
    int workers = 2;    // inference threads
    int max_batch = 8;  // requests per forward pass
    std::chrono::microseconds max_queue_delay{
        2000};                    // wait for a batch to fill
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

  // Creates one classifier per worker (a failure fails Start), warms them up
  // in parallel (a failure fails Start) and starts the workers.
  static absl::StatusOr<std::unique_ptr<Batcher>> Start(
      const Options& options, const ClassifierFactory& factory,
      BatchObserver observer = nullptr, const Warmup& warmup = {});
  ~Batcher();  // Stop()

  // Queues one prepared image; `done` runs on a worker thread exactly once.
  // ResourceExhausted when the queue is full, Unavailable after Stop().
  absl::Status Submit(std::shared_ptr<const inference::PreparedInput> input,
                      Done done);

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
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_BATCHER_H_
