// The servers a deployment follows (a fleet): each one's GET /health polled
// in its own thread until it reports a version, with the time it took. What
// the deployment stage uses to tell when a promotion (or a rollback) reached
// every server. Functions only; thread-safe.
#ifndef SPATIAL_PIPELINE_FLEET_H_
#define SPATIAL_PIPELINE_FLEET_H_

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace spatial::pipeline {

// One server's wait for a version.
struct ServerWait {
  std::string url;
  absl::Status status;  // OK once /health reported the version, healthy
  // From `since` to the first answer that reported it (-1: never). Polled
  // every 10 ms, so at most that much late.
  double after_ms = -1;
  std::string last_seen;  // what /health said last ("spatial=v1, ...")
};

// Polls every server at once until it reports `version` in a slot of
// /health's "models" with status "healthy", or `timeout` passes
// (DeadlineExceeded naming what it served last), or the URL is bad
// (InvalidArgument). One result per URL, in order.
std::vector<ServerWait> WaitForVersionOnAll(
    const std::vector<std::string>& urls, const std::string& version,
    std::chrono::steady_clock::time_point since,
    std::chrono::milliseconds timeout);

// The first failed wait's status, OK when every server got there.
absl::Status FirstFailure(const std::vector<ServerWait>& waits);

// [{url, status: "serving"|message, after_ms}] for the stage's report.
nlohmann::json WaitsToJson(const std::vector<ServerWait>& waits);

}  // namespace spatial::pipeline

#endif  // SPATIAL_PIPELINE_FLEET_H_
