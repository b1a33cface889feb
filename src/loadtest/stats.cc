#include "src/loadtest/stats.h"

#include <algorithm>

namespace spatial::loadtest {

std::string ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kConnect:
      return "connect";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kRead:
      return "read";
    case ErrorKind::kHttp4xx:
      return "http_4xx";
    case ErrorKind::kHttp5xx:
      return "http_5xx";
    case ErrorKind::kDropped:
      return "dropped";
  }
  return "unknown";
}

void RequestStats::RecordStart(int64_t start_ns) {
  if (first_start_ns == 0 || start_ns < first_start_ns)
    first_start_ns = start_ns;
}

void RequestStats::RecordResponse(int status, int64_t latency_ns,
                                  int64_t end_ns) {
  ++responses;
  latency.Record(latency_ns);
  if (status >= 100 && status < 600) {
    ++status_counts[status];
  } else {
    ++other_status;
  }
  if (status >= 400 && status < 500)
    ++errors[static_cast<int>(ErrorKind::kHttp4xx)];
  if (status >= 500) ++errors[static_cast<int>(ErrorKind::kHttp5xx)];
  last_end_ns = std::max(last_end_ns, end_ns);
}

void RequestStats::RecordError(ErrorKind kind, int64_t end_ns) {
  ++errors[static_cast<int>(kind)];
  last_end_ns = std::max(last_end_ns, end_ns);
}

void RequestStats::Merge(const RequestStats& other) {
  latency.Merge(other.latency);
  responses += other.responses;
  for (int i = 0; i < kNumErrorKinds; ++i) errors[i] += other.errors[i];
  for (size_t i = 0; i < status_counts.size(); ++i)
    status_counts[i] += other.status_counts[i];
  other_status += other.other_status;
  late_sends += other.late_sends;
  cache_marked += other.cache_marked;
  cache_hits += other.cache_hits;
  if (other.first_start_ns != 0) RecordStart(other.first_start_ns);
  last_end_ns = std::max(last_end_ns, other.last_end_ns);
}

uint64_t RequestStats::requests() const {
  return responses + error_count(ErrorKind::kConnect) +
         error_count(ErrorKind::kTimeout) + error_count(ErrorKind::kRead) +
         error_count(ErrorKind::kDropped);
}

uint64_t RequestStats::failed() const {
  uint64_t n = 0;
  for (uint64_t e : errors) n += e;
  return n;
}

double RequestStats::error_rate() const {
  uint64_t n = requests();
  return n == 0 ? 0.0 : static_cast<double>(failed()) / static_cast<double>(n);
}

std::map<int, uint64_t> RequestStats::StatusCounts() const {
  std::map<int, uint64_t> out;
  for (size_t i = 0; i < status_counts.size(); ++i) {
    if (status_counts[i] != 0) out[static_cast<int>(i)] = status_counts[i];
  }
  return out;
}

}  // namespace spatial::loadtest
