#include "src/checks/host_probe.h"

#include <dlfcn.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace spatial::checks {
namespace {

std::string ValueAfter(const std::string& line, char sep) {
  auto p = line.find(sep);
  if (p == std::string::npos) return "";
  std::string v(absl::StripAsciiWhitespace(line.substr(p + 1)));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
    v = v.substr(1, v.size() - 2);
  return v;
}

// NVML's C API, declared here so that the build needs no NVIDIA headers.
// Return code 0 is NVML_SUCCESS.
struct NvmlMemory {
  unsigned long long total, free, used;
};
using NvmlInit = int (*)();
using NvmlShutdown = int (*)();
using NvmlCount = int (*)(unsigned int*);
using NvmlHandle = int (*)(unsigned int, void**);
using NvmlName = int (*)(void*, char*, unsigned int);
using NvmlMem = int (*)(void*, NvmlMemory*);
using NvmlDriver = int (*)(char*, unsigned int);
using NvmlCuda = int (*)(int*);

void ProbeNvml(HostInfo* h) {
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    h->gpu_probe = "no NVIDIA driver (libnvidia-ml.so.1 not found)";
    return;
  }
  auto sym = [lib](const char* name) { return dlsym(lib, name); };
  auto init = reinterpret_cast<NvmlInit>(sym("nvmlInit_v2"));
  auto shutdown = reinterpret_cast<NvmlShutdown>(sym("nvmlShutdown"));
  auto count = reinterpret_cast<NvmlCount>(sym("nvmlDeviceGetCount_v2"));
  auto handle =
      reinterpret_cast<NvmlHandle>(sym("nvmlDeviceGetHandleByIndex_v2"));
  auto name = reinterpret_cast<NvmlName>(sym("nvmlDeviceGetName"));
  auto mem = reinterpret_cast<NvmlMem>(sym("nvmlDeviceGetMemoryInfo"));
  auto driver = reinterpret_cast<NvmlDriver>(sym("nvmlSystemGetDriverVersion"));
  auto cuda = reinterpret_cast<NvmlCuda>(sym("nvmlSystemGetCudaDriverVersion"));
  if (!init || !shutdown || !count || !handle || !name || !mem) {
    h->gpu_probe = "libnvidia-ml.so.1 lacks the NVML functions we need";
    dlclose(lib);
    return;
  }
  if (int rc = init(); rc != 0) {
    h->gpu_probe = absl::StrCat("NVML did not initialise (code ", rc, ")");
    dlclose(lib);
    return;
  }
  unsigned int n = 0;
  if (count(&n) == 0) {
    for (unsigned int i = 0; i < n; ++i) {
      void* dev = nullptr;
      if (handle(i, &dev) != 0) continue;
      GpuInfo g;
      char buf[96] = {};
      if (name(dev, buf, sizeof(buf)) == 0) g.name = buf;
      NvmlMemory m{};
      if (mem(dev, &m) == 0) g.memory_gb = static_cast<double>(m.total) / 1e9;
      h->gpus.push_back(g);
    }
  }
  char version[96] = {};
  if (driver && driver(version, sizeof(version)) == 0) h->gpu_driver = version;
  int cv = 0;
  if (cuda && cuda(&cv) == 0 && cv > 0) {
    h->cuda_driver = absl::StrCat(cv / 1000, ".", (cv % 1000) / 10);
  }
  h->gpu_probe = absl::StrCat("NVML: ", h->gpus.size(), " GPU(s)");
  shutdown();
  dlclose(lib);
}

}  // namespace

HostInfo ProbeHost(const std::string& disk_path) {
  HostInfo h;
  std::ifstream os("/etc/os-release");
  for (std::string line; std::getline(os, line);) {
    if (absl::StartsWith(line, "PRETTY_NAME=")) h.os = ValueAfter(line, '=');
  }
  utsname u{};
  if (uname(&u) == 0) h.kernel = absl::StrCat(u.sysname, " ", u.release);
  std::ifstream cpu("/proc/cpuinfo");
  for (std::string line; std::getline(cpu, line);) {
    if (absl::StartsWith(line, "model name")) {
      h.cpu_model = ValueAfter(line, ':');
      break;
    }
  }
  h.cpu_cores = static_cast<int>(std::thread::hardware_concurrency());
  std::ifstream mem("/proc/meminfo");
  for (std::string key; mem >> key;) {
    double kb = 0;
    mem >> kb;
    if (key == "MemTotal:") h.ram_gb = kb * 1024 / 1e9;
    if (key == "MemAvailable:") h.ram_available_gb = kb * 1024 / 1e9;
    mem.ignore(1 << 10, '\n');
  }
  struct statvfs fsinfo {};
  if (statvfs(disk_path.c_str(), &fsinfo) == 0) {
    h.disk_free_gb = static_cast<double>(fsinfo.f_bavail) *
                     static_cast<double>(fsinfo.f_frsize) / 1e9;
  }
  ProbeNvml(&h);
  return h;
}

registry::HostFacts HostInfo::Facts() const {
  registry::HostFacts f;
  f.gpu_count = static_cast<int>(gpus.size());
  for (const auto& g : gpus)
    f.gpu_memory_gb = std::max(f.gpu_memory_gb, g.memory_gb);
  f.cuda_available = !cuda_driver.empty() && !gpus.empty();
  return f;
}

nlohmann::json HostInfo::ToJson() const {
  nlohmann::json gpu_list = nlohmann::json::array();
  for (const auto& g : gpus) {
    gpu_list.push_back({{"name", g.name}, {"memory_gb", g.memory_gb}});
  }
  return {{"os", os},
          {"kernel", kernel},
          {"cpu_model", cpu_model},
          {"cpu_cores", cpu_cores},
          {"ram_gb", ram_gb},
          {"ram_available_gb", ram_available_gb},
          {"disk_free_gb", disk_free_gb},
          {"gpus", gpu_list},
          {"gpu_driver", gpu_driver},
          {"cuda_driver", cuda_driver},
          {"gpu_probe", gpu_probe}};
}

}  // namespace spatial::checks
