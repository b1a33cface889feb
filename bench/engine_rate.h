// EngineRate: the in-process reference of bench/serve_vs_engine: how many
// images per second (and per CPU second) `workers` threads, each with its own
// inference::Classifier, get through batches of one model, with or without
// the per-image decode + PrepareInput that the server does per request.
#ifndef SPATIAL_BENCH_ENGINE_RATE_H_
#define SPATIAL_BENCH_ENGINE_RATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spatial::bench {

struct Rate {
  double per_s = 0;      // images (or requests) per wall-clock second
  double per_cpu_s = 0;  // per CPU second used (load-independent)
  double cpu_cores = 0;  // CPU seconds / wall seconds
};

// Runs for `seconds` after one uncounted warm-up batch per thread; the CPU is
// this process's (nothing else of it should run meanwhile). `jpegs` are
// cycled. Call cv::setNumThreads(1) first to match `spatial serve`. Errors:
// the bundle does not open, an image does not decode, inference fails.
absl::StatusOr<Rate> EngineRate(const std::string& bundle_dir, int workers,
                                int batch, double seconds,
                                const std::vector<std::string>& jpegs,
                                bool decode);

}  // namespace spatial::bench

#endif  // SPATIAL_BENCH_ENGINE_RATE_H_
