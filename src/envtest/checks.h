// The three groups of envtest checks against one running server (reached on
// 127.0.0.1:port over HTTP only). Each returns one TestResult per check and
// never throws; a check that cannot run is an error result, not a crash.
// Thread-safe: the checks share no state (requests go through
// base::HttpFetch).
#ifndef SPATIAL_ENVTEST_CHECKS_H_
#define SPATIAL_ENVTEST_CHECKS_H_

#include <cstdint>
#include <vector>

#include "src/envtest/result.h"
#include "src/envtest/targets.h"

namespace spatial::envtest {

// The multipart/form-data boundary of the uploads the checks send.
inline constexpr char kFormBoundary[] = "SpatialEnvtestBoundary7f3a";
inline constexpr char kFormContentType[] =
    "multipart/form-data; boundary=SpatialEnvtestBoundary7f3a";

// Every endpoint with its response schema, and the bad inputs of issue #4.
std::vector<TestResult> RunApiTests(const Targets& targets, int port);

struct ClassificationOptions {
  int images = 120;      // rendered round-robin over the six classes
  uint64_t seed = 1000;  // the held-out evaluation seed (docs/MODELS.md)
  int size = 128;        // what `spatial data render` renders
  int threads = 2;       // requests in flight
};
// The labelled evaluation set through POST /classify (the dual-encoder):
// accuracy against the environment's floor, with per-class precision and
// recall and the confusion matrix in the details.
std::vector<TestResult> RunClassificationTests(
    const Targets& targets, int port, const ClassificationOptions& options);

// The load generator at the environment's load profile against
// POST /classify: p95 latency, error rate and availability.
std::vector<TestResult> RunPerformanceTests(const Targets& targets, int port);

}  // namespace spatial::envtest

#endif  // SPATIAL_ENVTEST_CHECKS_H_
