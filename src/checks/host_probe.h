// Host probe: what this machine offers a deployment, read from the kernel
// (/etc/os-release, /proc, statvfs) and, when an NVIDIA driver is installed,
// from NVML loaded at run time (libnvidia-ml.so.1 via dlopen; no build-time
// dependency, no GPU needed to build or run). Thread-safe.
#ifndef SPATIAL_CHECKS_HOST_PROBE_H_
#define SPATIAL_CHECKS_HOST_PROBE_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/registry/rules.h"

namespace spatial::checks {

struct GpuInfo {
  std::string name;
  double memory_gb = 0;
};

struct HostInfo {
  std::string os;  // PRETTY_NAME of /etc/os-release
  std::string kernel;
  std::string cpu_model;
  int cpu_cores = 0;
  double ram_gb = 0;
  double ram_available_gb = 0;
  double disk_free_gb = 0;  // of the working directory's file system
  std::vector<GpuInfo> gpus;
  std::string gpu_driver;   // NVML's driver version, "" without one
  std::string cuda_driver;  // "12.2", "" without one
  std::string gpu_probe;    // how the GPU facts were found, or why not

  registry::HostFacts Facts() const;  // for the registry's GPU rule
  nlohmann::json ToJson() const;
};

HostInfo ProbeHost(const std::string& disk_path = ".");

}  // namespace spatial::checks

#endif  // SPATIAL_CHECKS_HOST_PROBE_H_
