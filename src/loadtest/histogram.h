// LatencyHistogram: a log-linear histogram of latencies in nanoseconds, in the
// spirit of HdrHistogram. Every sample is counted (nothing is sampled away);
// values below 256 ns are kept exactly and larger ones in buckets 1/128 of a
// power of two wide, so a reported percentile is within 0.4% of the true
// nearest-rank value (kMaxRelativeError). The histogram owns its counts; it is
// not thread-safe: record into one per thread and Merge them.
#ifndef SPATIAL_LOADTEST_HISTOGRAM_H_
#define SPATIAL_LOADTEST_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace spatial::loadtest {

class LatencyHistogram {
 public:
  // Bound on |reported - true| / true for any percentile (half a bucket).
  static constexpr double kMaxRelativeError = 1.0 / 256;
  // Values at or above this (about 4.9 hours) share the last bucket; max()
  // still reports them exactly.
  static constexpr int64_t kMaxTrackable = int64_t{1} << 44;

  LatencyHistogram();

  // Records one sample; negative values count as 0.
  void Record(int64_t ns);
  // Adds every sample of `other` to this histogram.
  void Merge(const LatencyHistogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  // 0 when the histogram is empty.
  int64_t min_ns() const { return count_ == 0 ? 0 : min_; }
  int64_t max_ns() const { return count_ == 0 ? 0 : max_; }
  double mean_ns() const;

  // The nearest-rank value at quantile q in [0, 1] (q = 0.99 is p99): the
  // sample of rank ceil(q * count), within kMaxRelativeError. q = 1 is max().
  // 0 when empty.
  int64_t ValueAtQuantile(double q) const;

 private:
  static int BucketOf(int64_t ns);
  static int64_t BucketLow(int index);
  static int64_t BucketWidth(int index);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  // Sum in long double: 2^64 ns would overflow an int64 after ~292 years of
  // summed latency, which a long soak test at high concurrency can approach.
  long double sum_ = 0;
};

}  // namespace spatial::loadtest

#endif  // SPATIAL_LOADTEST_HISTOGRAM_H_
