#include "src/serving/batcher.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"
#include "tests/test_paths.h"

namespace spatial::serving {
namespace {

std::string Bundle() {
  return spatial::testing::SourceDir() + "/models/spatial-pizza-v1";
}

Batcher::ClassifierFactory Factory() {
  return [] { return inference::Classifier::Open(Bundle()); };
}

std::shared_ptr<const inference::PreparedInput> Prepared(
    const inference::Classifier& c, int label, int index) {
  auto img =
      vision::DecodeImage(vision::RenderPizza(label, 4242, index, 128).jpeg);
  return std::make_shared<inference::PreparedInput>(c.Prepare(*img));
}

// Concurrent requests are batched (batch sizes above one are observed) and
// every request gets the same answer as classifying it alone.
TEST(BatcherTest, BatchesConcurrentRequestsWithSameAnswers) {
  auto reference = inference::Classifier::Open(Bundle());
  ASSERT_TRUE(reference.ok()) << reference.status();
  std::atomic<int> max_seen{0};
  Batcher::Options o;
  o.workers = 1;
  o.max_batch = 8;
  o.max_queue_delay = std::chrono::milliseconds(20);
  auto b = Batcher::Start(o, Factory(), [&](int size, double) {
    int prev = max_seen.load();
    while (size > prev && !max_seen.compare_exchange_weak(prev, size)) {
    }
  });
  ASSERT_TRUE(b.ok()) << b.status();
  std::vector<std::shared_ptr<const inference::PreparedInput>> inputs;
  for (int i = 0; i < 16; ++i)
    inputs.push_back(Prepared(**reference, i % 6, i));
  std::vector<std::promise<absl::StatusOr<inference::Prediction>>> promises(
      inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    ASSERT_TRUE(
        (*b)->Submit(inputs[i],
                     [&promises, i](auto r) { promises[i].set_value(r); })
            .ok());
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto got = promises[i].get_future().get();
    ASSERT_TRUE(got.ok()) << got.status();
    auto alone = (*reference)->Classify({inputs[i].get()});
    ASSERT_TRUE(alone.ok());
    EXPECT_EQ(got->label, (*alone)[0].label);
    EXPECT_NEAR(got->confidence, (*alone)[0].confidence, 1e-5);
  }
  EXPECT_GT(max_seen.load(), 1);
  EXPECT_LE(max_seen.load(), 8);
}

// A full queue refuses at once with ResourceExhausted; Stop drains the rest.
TEST(BatcherTest, FullQueueRefusesAndStopDrains) {
  auto reference = inference::Classifier::Open(Bundle());
  ASSERT_TRUE(reference.ok());
  Batcher::Options o;
  o.workers = 1;
  o.max_batch = 1;
  o.queue_capacity = 4;
  o.max_queue_delay = std::chrono::microseconds(0);
  auto b = Batcher::Start(o, Factory());
  ASSERT_TRUE(b.ok());
  auto input = Prepared(**reference, 0, 0);
  std::atomic<int> answered{0};
  int accepted = 0, refused = 0;
  for (int i = 0; i < 200; ++i) {
    absl::Status s = (*b)->Submit(input, [&](auto r) {
      EXPECT_TRUE(r.ok());
      ++answered;
    });
    if (s.ok()) {
      ++accepted;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  (*b)->Stop();
  EXPECT_EQ(answered.load(), accepted);
  EXPECT_EQ((*b)->Submit(input, [](auto) {}).code(),
            absl::StatusCode::kUnavailable);
}

// The calling thread's nice value.
int ThreadNice() {
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  EXPECT_EQ(errno, 0);
  return nice;
}

// A swap's warm-up runs at a lower priority (Warmup::nice); the workers that
// then serve do not inherit it.
TEST(BatcherTest, NicedWarmUpLeavesWorkersAtNormalPriority) {
  auto reference = inference::Classifier::Open(Bundle());
  ASSERT_TRUE(reference.ok());
  const int ours = ThreadNice();
  Batcher::Options o;
  o.workers = 2;
  o.max_batch = 2;
  auto input = Prepared(**reference, 1, 0);
  auto b = Batcher::Start(o, Factory(), nullptr,
                          {.input = input, .rounds = 1, .nice = 10});
  ASSERT_TRUE(b.ok()) << b.status();
  std::promise<int> worker_nice;
  ASSERT_TRUE((*b)->Submit(input,
                           [&](auto r) {
                             EXPECT_TRUE(r.ok());
                             worker_nice.set_value(ThreadNice());
                           })
                  .ok());
  EXPECT_EQ(worker_nice.get_future().get(), ours);
  EXPECT_EQ(ThreadNice(), ours);
}

// A swap's whole load runs at the lower priority: the graphs are parsed (the
// factory called) on the niced threads too, one per worker.
TEST(BatcherTest, NicedLoadOpensTheClassifiersAtTheLowerPriority) {
  auto reference = inference::Classifier::Open(Bundle());
  ASSERT_TRUE(reference.ok());
  const int ours = ThreadNice();
  std::mutex mu;
  std::vector<int> factory_nice;
  Batcher::Options o;
  o.workers = 2;
  o.max_batch = 2;
  auto b = Batcher::Start(
      o,
      [&] {
        {
          std::lock_guard<std::mutex> lock(mu);
          factory_nice.push_back(ThreadNice());
        }
        return inference::Classifier::Open(Bundle());
      },
      nullptr, {.input = Prepared(**reference, 1, 0), .rounds = 1, .nice = 10});
  ASSERT_TRUE(b.ok()) << b.status();
  const int lowered = std::min(ours + 10, 19);
  EXPECT_EQ(factory_nice, (std::vector<int>{lowered, lowered}));
}

// A worker that is idle takes a lone request at once: it does not wait for a
// batch that cannot fill, however long max_queue_delay is (the old policy
// held it for the whole delay: this test would not end).
TEST(BatcherTest, IdleWorkerTakesALoneRequestAtOnce) {
  auto reference = inference::Classifier::Open(Bundle());
  ASSERT_TRUE(reference.ok());
  // A fresh pool each time: every worker is idle when the request comes.
  for (int workers : {1, 2, 1, 2}) {
    Batcher::Options o;
    o.workers = workers;
    o.max_batch = 8;
    o.max_queue_delay = std::chrono::hours(1);
    auto b = Batcher::Start(o, Factory());
    ASSERT_TRUE(b.ok()) << b.status();
    std::promise<absl::StatusOr<inference::Prediction>> answer;
    ASSERT_TRUE((*b)->Submit(Prepared(**reference, workers, 0),
                             [&](auto r) { answer.set_value(r); })
                    .ok());
    EXPECT_TRUE(answer.get_future().get().ok());
    Batcher::Counts c = (*b)->counts();
    EXPECT_EQ(c.batches, 1u) << workers << " worker(s)";
    EXPECT_EQ(c.held, 0u) << workers << " worker(s)";
  }
}

// Keeps one worker busy inside a request's `done` until released.
struct Blocker {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  Batcher::Done Done() {
    return [this](auto r) {
      EXPECT_TRUE(r.ok());
      entered.set_value();
      released.wait();
    };
  }
};

// Waits (bounded) until `n` workers hold a partial batch.
bool WaitHolding(const Batcher& b, int n) {
  for (int i = 0; i < 20000; ++i) {
    if (b.counts().holding == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// While every other worker is busy, the idle one holds a partial batch open
// and runs it once it is full.
TEST(BatcherTest, HoldsAPartialBatchWhileEveryOtherWorkerIsBusy) {
  auto reference = inference::Classifier::Open(Bundle());
  ASSERT_TRUE(reference.ok());
  std::mutex mu;
  std::vector<int> sizes;
  Batcher::Options o;
  o.workers = 2;
  o.max_batch = 2;
  o.max_queue_delay = std::chrono::hours(1);
  auto b = Batcher::Start(o, Factory(), [&](int size, double) {
    std::lock_guard<std::mutex> lock(mu);
    sizes.push_back(size);
  });
  ASSERT_TRUE(b.ok()) << b.status();
  Blocker blocker;
  ASSERT_TRUE((*b)->Submit(Prepared(**reference, 0, 0), blocker.Done()).ok());
  blocker.entered.get_future().wait();  // one worker busy
  std::promise<void> second, third;
  ASSERT_TRUE((*b)->Submit(Prepared(**reference, 1, 1),
                           [&](auto r) {
                             EXPECT_TRUE(r.ok());
                             second.set_value();
                           })
                  .ok());
  ASSERT_TRUE(WaitHolding(**b, 1));
  ASSERT_TRUE((*b)->Submit(Prepared(**reference, 2, 2),
                           [&](auto r) {
                             EXPECT_TRUE(r.ok());
                             third.set_value();
                           })
                  .ok());
  second.get_future().wait();
  third.get_future().wait();
  blocker.release.set_value();
  (*b)->Stop();
  EXPECT_EQ(sizes, (std::vector<int>{1, 2}));
  EXPECT_EQ((*b)->counts().held, 1u);
}

// A held batch runs as soon as another worker becomes idle, without waiting
// for it to fill or for max_queue_delay.
TEST(BatcherTest, HoldingEndsWhenAnotherWorkerBecomesIdle) {
  auto reference = inference::Classifier::Open(Bundle());
  ASSERT_TRUE(reference.ok());
  Batcher::Options o;
  o.workers = 2;
  o.max_batch = 8;
  o.max_queue_delay = std::chrono::hours(1);
  auto b = Batcher::Start(o, Factory());
  ASSERT_TRUE(b.ok()) << b.status();
  Blocker blocker;
  ASSERT_TRUE((*b)->Submit(Prepared(**reference, 0, 0), blocker.Done()).ok());
  blocker.entered.get_future().wait();
  std::promise<void> second;
  ASSERT_TRUE((*b)->Submit(Prepared(**reference, 1, 1),
                           [&](auto r) {
                             EXPECT_TRUE(r.ok());
                             second.set_value();
                           })
                  .ok());
  ASSERT_TRUE(WaitHolding(**b, 1));
  blocker.release.set_value();
  second.get_future().wait();
  // Either the holder ran it or the worker that became idle took it first.
  EXPECT_EQ((*b)->counts().batches, 2u);
}

// SubmitAll queues a request's inputs all together or refuses them all.
TEST(BatcherTest, SubmitAllQueuesAllOrNothing) {
  auto reference = inference::Classifier::Open(Bundle());
  ASSERT_TRUE(reference.ok());
  Batcher::Options o;
  o.workers = 1;
  o.max_batch = 8;
  o.queue_capacity = 2;
  auto b = Batcher::Start(o, Factory());
  ASSERT_TRUE(b.ok()) << b.status();
  Blocker blocker;
  ASSERT_TRUE((*b)->Submit(Prepared(**reference, 0, 0), blocker.Done()).ok());
  blocker.entered.get_future().wait();  // the worker is busy: nothing leaves
  auto input = Prepared(**reference, 1, 0);
  std::atomic<int> answered{0};
  auto count = [&](size_t, auto r) {
    EXPECT_TRUE(r.ok());
    ++answered;
  };
  EXPECT_EQ((*b)->SubmitAll({input, input, input}, count).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ((*b)->queue_depth(), 0u);
  EXPECT_TRUE((*b)->SubmitAll({input, input}, count).ok());
  EXPECT_EQ((*b)->queue_depth(), 2u);
  blocker.release.set_value();
  (*b)->Stop();
  EXPECT_EQ(answered.load(), 2);
  EXPECT_EQ((*b)->counts().batches, 2u);  // the two inputs in one batch
}

TEST(BatcherTest, FailingFactoryFailsStart) {
  auto b = Batcher::Start({}, [] {
    return absl::StatusOr<std::unique_ptr<inference::Classifier>>(
        absl::NotFoundError("no model"));
  });
  EXPECT_EQ(b.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace spatial::serving
