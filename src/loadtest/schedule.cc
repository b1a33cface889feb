#include "src/loadtest/schedule.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace spatial::loadtest {

absl::StatusOr<Distribution> ParseDistribution(absl::string_view name) {
  if (name == "constant") return Distribution::kConstant;
  if (name == "poisson") return Distribution::kPoisson;
  return absl::InvalidArgumentError(absl::StrCat("unknown distribution '", name,
                                                 "': use constant or poisson"));
}

std::string DistributionName(Distribution d) {
  return d == Distribution::kPoisson ? "poisson" : "constant";
}

absl::StatusOr<ArrivalSchedule> ArrivalSchedule::Create(
    const ScheduleOptions& options) {
  if (!std::isfinite(options.rate) || options.rate <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request rate must be a positive number, got ", options.rate));
  }
  if (options.streams < 1 || options.stream < 0 ||
      options.stream >= options.streams) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stream ", options.stream, " of ", options.streams, " does not exist"));
  }
  return ArrivalSchedule(options);
}

ArrivalSchedule::ArrivalSchedule(const ScheduleOptions& options)
    : options_(options),
      // Streams get distinct, reproducible seeds (golden-ratio spacing).
      rng_(options.seed ^ (0x9E3779B97F4A7C15ull *
                           static_cast<uint64_t>(options.stream + 1))) {}

int64_t ArrivalSchedule::Next() {
  if (options_.distribution == Distribution::kConstant) {
    // Computed from the slot number, not accumulated, so it never drifts.
    long double slot =
        static_cast<long double>(index_++) * options_.streams + options_.stream;
    return static_cast<int64_t>(std::llround(slot * 1e9L / options_.rate));
  }
  // Exponential gaps by inversion; the 53-bit uniform comes straight from the
  // engine so that the sequence is the same with every standard library.
  double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // [0, 1)
  long double stream_rate = options_.rate / options_.streams;
  time_ns_ += -std::log1p(-u) / stream_rate * 1e9L;
  return static_cast<int64_t>(time_ns_);
}

}  // namespace spatial::loadtest
