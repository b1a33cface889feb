#include "bench/engine_rate.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/serve_child.h"
#include "src/inference/classifier.h"
#include "src/vision/decode.h"

namespace spatial::bench {

absl::StatusOr<Rate> EngineRate(const std::string& bundle_dir, int workers,
                                int batch, double seconds,
                                const std::vector<std::string>& jpegs,
                                bool decode) {
  if (workers < 1 || batch < 1 || jpegs.empty())
    return absl::InvalidArgumentError("workers, batch and images must be > 0");
  std::vector<std::unique_ptr<inference::Classifier>> cls;
  std::vector<std::vector<inference::PreparedInput>> prepared;
  for (int w = 0; w < workers; ++w) {
    auto c = inference::Classifier::Open(bundle_dir);
    if (!c.ok()) return c.status();
    std::vector<inference::PreparedInput> mine;
    for (const auto& j : jpegs) {
      auto img = vision::DecodeImage(j);
      if (!img.ok()) return img.status();
      mine.push_back((*c)->Prepare(*img));
    }
    cls.push_back(std::move(*c));
    prepared.push_back(std::move(mine));
  }
  std::atomic<bool> go{false}, stop{false};
  std::mutex mu;
  absl::Status error;
  auto fail = [&](const absl::Status& s) {
    std::lock_guard<std::mutex> lock(mu);
    if (error.ok()) error = s;
    stop = true;
  };
  std::vector<uint64_t> done(static_cast<size_t>(workers), 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto& c = *cls[w];
      auto& inputs = prepared[w];
      size_t cursor = static_cast<size_t>(w);
      std::vector<inference::PreparedInput> fresh(static_cast<size_t>(batch));
      std::vector<const inference::PreparedInput*> b;
      for (int i = 0; i < batch; ++i) b.push_back(&inputs[i % inputs.size()]);
      if (auto warm = c.Classify(b); !warm.ok()) return fail(warm.status());
      while (!go && !stop) std::this_thread::yield();
      while (!stop) {
        b.clear();
        for (int i = 0; i < batch; ++i) {
          size_t k = cursor++ % inputs.size();
          if (decode) {
            auto img = vision::DecodeImage(jpegs[k]);
            if (!img.ok()) return fail(img.status());
            fresh[i] = c.Prepare(*img);
            b.push_back(&fresh[i]);
          } else {
            b.push_back(&inputs[k]);
          }
        }
        if (auto r = c.Classify(b); !r.ok()) return fail(r.status());
        done[w] += static_cast<uint64_t>(batch);
      }
    });
  }
  auto t0 = Clock::now();
  double cpu0 = CpuSeconds(0);
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = CpuSeconds(0) - cpu0;
  if (!error.ok()) return error;
  uint64_t total = 0;
  for (uint64_t d : done) total += d;
  auto n = static_cast<double>(total);
  return Rate{n / elapsed, cpu > 0 ? n / cpu : 0, cpu / elapsed};
}

}  // namespace spatial::bench
