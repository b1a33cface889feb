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
  std::string instance;   // /health's "instance" (host:pid), "" if none
};

// One replica seen through an address that spreads requests over several
// (a Service): what it served when it answered last.
struct ReplicaSeen {
  std::string instance;  // /health's "instance" ("?" when it has none)
  std::string last_seen;
  bool serving = false;  // its last answer reported the version, healthy
  int answers = 0;
  double first_after_ms = -1;  // its first answer with the version
};

// The wait through such an address.
struct ServiceWait {
  std::string url;
  absl::Status status;   // OK once `settle` answers in a row reported it
  double after_ms = -1;  // when the last of those answers came
  std::vector<ReplicaSeen> replicas;  // in the order first seen
};

// Polls every server at once until it reports `version` in a slot of
// /health's "models" with status "healthy", or `timeout` passes
// (DeadlineExceeded naming what it served last), or the URL is bad
// (InvalidArgument). One result per URL, in order.
std::vector<ServerWait> WaitForVersionOnAll(
    const std::vector<std::string>& urls, const std::string& version,
    std::chrono::steady_clock::time_point since,
    std::chrono::milliseconds timeout);

// Polls /health of `url` (a Service or one replica) until `settle` answers
// in a row report `version` while healthy, or `timeout` passes
// (DeadlineExceeded naming the replicas that did not). Each answer is a new
// connection, so a Service spreads them over its replicas; every replica
// that answered is in the result.
ServiceWait WaitForVersionBehind(const std::string& url,
                                 const std::string& version,
                                 std::chrono::steady_clock::time_point since,
                                 std::chrono::milliseconds timeout,
                                 int settle = 20);

// {url, status, after_ms, replicas: [{instance, serving, answers,
// first_after_ms, last_seen}]}.
nlohmann::json ServiceWaitToJson(const ServiceWait& wait);

// "a:1, b:7": the replicas whose last answer served the version.
std::string ServingReplicas(const ServiceWait& wait);

// The first failed wait's status, OK when every server got there.
absl::Status FirstFailure(const std::vector<ServerWait>& waits);

// [{url, status: "serving"|message, after_ms}] for the stage's report.
nlohmann::json WaitsToJson(const std::vector<ServerWait>& waits);

}  // namespace spatial::pipeline

#endif  // SPATIAL_PIPELINE_FLEET_H_
