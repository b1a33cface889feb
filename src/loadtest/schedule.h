// ArrivalSchedule: the send times of an open-loop load test, as offsets from
// its start. Constant spacing or a Poisson process, deterministic for a seed.
// A schedule can be split into `streams` interleaved parts (one per client
// thread) whose union is the whole schedule: stream s of k takes every k-th
// constant slot starting at s, or a Poisson process of rate/k (the union of k
// independent Poisson processes of rate/k is a Poisson process of rate).
// Latency is measured from these times, never from the actual send, so a
// stalled server cannot hide behind a stalled client (no coordinated
// omission). Not thread-safe: one schedule per thread.
#ifndef SPATIAL_LOADTEST_SCHEDULE_H_
#define SPATIAL_LOADTEST_SCHEDULE_H_

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace spatial::loadtest {

enum class Distribution { kConstant, kPoisson };

// "constant" or "poisson"; InvalidArgument otherwise.
absl::StatusOr<Distribution> ParseDistribution(absl::string_view name);
std::string DistributionName(Distribution d);

struct ScheduleOptions {
  Distribution distribution = Distribution::kConstant;
  double rate = 0;    // requests per second over all streams; must be > 0
  uint64_t seed = 1;  // Poisson only
  int stream = 0;     // this part, 0 <= stream < streams
  int streams = 1;
};

class ArrivalSchedule {
 public:
  // InvalidArgument for a rate <= 0 (or not finite) or a bad stream.
  static absl::StatusOr<ArrivalSchedule> Create(const ScheduleOptions& options);

  // The next send time in nanoseconds from the start; non-decreasing.
  int64_t Next();

 private:
  explicit ArrivalSchedule(const ScheduleOptions& options);

  ScheduleOptions options_;
  uint64_t index_ = 0;       // constant: slots taken by this stream
  long double time_ns_ = 0;  // poisson: running sum of gaps
  std::mt19937_64 rng_;
};

}  // namespace spatial::loadtest

#endif  // SPATIAL_LOADTEST_SCHEDULE_H_
