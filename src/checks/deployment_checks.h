// The categories of `spatial check` (the seed's enhanced deployment tests),
// each adding its tests to a CheckReport. Every value in the report is
// measured here, on this host, with the real model bundles; nothing is
// assumed. Not thread-safe (one report).
#ifndef SPATIAL_CHECKS_DEPLOYMENT_CHECKS_H_
#define SPATIAL_CHECKS_DEPLOYMENT_CHECKS_H_

#include <string>
#include <vector>

#include "src/checks/check_report.h"
#include "src/checks/host_probe.h"
#include "src/registry/model_version.h"
#include "src/registry/registry_service.h"

namespace spatial::checks {

// "environment": the host against the environment's rules (RAM, disk, GPU
// and CUDA where required, CPU-only allowance).
void CheckHost(const HostInfo& host, const registry::Environment& env,
               CheckReport* report);

// "features" and "preprocessing": the spatial and visual preprocessing on a
// fixed test card against golden values, and on a rendered pizza: depth in
// [0, 1], unit normals, finite features, normalised visual planes.
void CheckPreprocessing(CheckReport* report);

struct InferenceCheckOptions {
  int eval_images = 60;       // rendered at the evaluation seed
  uint64_t eval_seed = 1000;  // `spatial data render --seed 1000`
  int latency_runs = 30;      // single-image timings
};
// "inference": per bundle, it loads and its graph matches its manifest, it
// reproduces the PyTorch reference logits (1e-4), its median single-image
// latency (decode + preprocess + infer) is within the environment's limit,
// and its accuracy on the evaluation images meets the environment's minimum.
void CheckInference(const std::vector<std::string>& bundle_dirs,
                    const registry::Environment& env,
                    const InferenceCheckOptions& options, CheckReport* report);

// "versioning": every registered version's files verify against the store;
// the version active in `env` (if any) is validated for it.
void CheckVersioning(registry::RegistryService& service,
                     const registry::Environment& env, CheckReport* report);

// "docker": static checks of Dockerfile.spatial and docker-compose.yml under
// `root`: pinned base images, a non-root USER, an HTTP HEALTHCHECK, port
// 8001, no secrets baked into ENV/ARG, compose healthcheck and port.
void CheckContainerFiles(const std::string& root, CheckReport* report);

}  // namespace spatial::checks

#endif  // SPATIAL_CHECKS_DEPLOYMENT_CHECKS_H_
