#include "src/loadtest/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace spatial::loadtest {
namespace {

constexpr int kSubBits = 7;               // 128 buckets per octave
constexpr int kSubCount = 1 << kSubBits;  // 128
constexpr int64_t kExactLimit = int64_t{2} << kSubBits;  // 256: below, exact
constexpr int kExactBits = kSubBits + 1;                 // log2(kExactLimit)
constexpr int kMaxExp = 44;                              // log2(kMaxTrackable)
constexpr int kBucketCount =
    static_cast<int>(kExactLimit) + (kMaxExp - kExactBits) * kSubCount;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBucketCount, 0) {}

int LatencyHistogram::BucketOf(int64_t ns) {
  if (ns < kExactLimit) return static_cast<int>(ns);
  if (ns >= kMaxTrackable) return kBucketCount - 1;
  int exp = 63 - std::countl_zero(static_cast<uint64_t>(ns));  // >= kExactBits
  int shift = exp - kSubBits;
  int sub = static_cast<int>(ns >> shift) - kSubCount;  // 0..127
  return static_cast<int>(kExactLimit) + (exp - kExactBits) * kSubCount + sub;
}

int64_t LatencyHistogram::BucketLow(int index) {
  if (index < kExactLimit) return index;
  int rel = index - static_cast<int>(kExactLimit);
  int exp = kExactBits + rel / kSubCount;
  int sub = kSubCount + rel % kSubCount;
  return static_cast<int64_t>(sub) << (exp - kSubBits);
}

int64_t LatencyHistogram::BucketWidth(int index) {
  if (index < kExactLimit) return 1;
  int exp = kExactBits + (index - static_cast<int>(kExactLimit)) / kSubCount;
  return int64_t{1} << (exp - kSubBits);
}

void LatencyHistogram::Record(int64_t ns) {
  ns = std::max<int64_t>(ns, 0);
  ++counts_[BucketOf(ns)];
  if (count_ == 0) {
    min_ = max_ = ns;
  } else {
    min_ = std::min(min_, ns);
    max_ = std::max(max_, ns);
  }
  ++count_;
  sum_ += static_cast<long double>(ns);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_ += other.sum_;
}

void LatencyHistogram::Clear() { *this = LatencyHistogram(); }

double LatencyHistogram::mean_ns() const {
  return count_ == 0
             ? 0.0
             : static_cast<double>(sum_ / static_cast<long double>(count_));
}

int64_t LatencyHistogram::ValueAtQuantile(double q) const {
  if (count_ == 0) return 0;
  if (!(q < 1.0)) return max_;  // also catches NaN
  if (q <= 0.0) return min_;
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // The bucket's midpoint, kept inside what was actually recorded.
      int64_t mid = BucketLow(i) + BucketWidth(i) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace spatial::loadtest
