// ServerProcess over base::Subprocess: the `spatial serve` child of the
// black-box tests, its port read from --port-file, readiness polled over
// base::HttpFetch. Not thread-safe, as server_process.h says.
#include "tests/integration/server_process.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/time/time.h"
#include "src/base/files.h"
#include "tests/integration/serve_client.h"
#include "tests/test_paths.h"

namespace spatial::integration {

ServerProcess::ServerProcess(const std::vector<std::string>& args,
                             const std::string& cwd,
                             const std::string& log_file,
                             const std::string& command)
    : log_file_(log_file) {
  static int counter = 0;
  port_file_ = log_file + ".port." + std::to_string(::getpid()) + "." +
               std::to_string(++counter);
  std::filesystem::remove(port_file_);
  std::vector<std::string> argv = {spatial::testing::SpatialBinary(),
                                   command,
                                   "--address",
                                   "127.0.0.1",
                                   "--port",
                                   "0",
                                   "--port-file",
                                   port_file_};
  argv.insert(argv.end(), args.begin(), args.end());
  base::SpawnOptions spawn;
  spawn.cwd = cwd;
  spawn.out = base::Redirect::Append(log_file);
  spawn.err = base::Redirect::SameAsStdout();
  auto child = base::Subprocess::Spawn(argv, spawn);
  if (child.ok()) {
    process_ = std::move(*child);
  } else {
    // Where a test looks when the server does not come up.
    std::ofstream(log_file, std::ios::app) << child.status() << "\n";
  }
}

ServerProcess::~ServerProcess() { std::filesystem::remove(port_file_); }

bool ServerProcess::WaitForPort(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(port_file_);
    if (f >> port_) return true;
    if (!process_.Running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool ServerProcess::WaitReady(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (port_ == 0 && !WaitForPort(timeout)) return false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Request(port_, "GET", "/v2/health/ready").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int ServerProcess::Terminate(std::chrono::milliseconds timeout) {
  if (process_.pid() <= 0) return -1;
  process_.Signal(SIGTERM);
  auto exit = process_.Wait(absl::FromChrono(timeout));
  return exit.has_value() ? exit->code : -1;  // the destructor kills it
}

std::string ServerProcess::Log() const {
  return base::ReadFile(log_file_).value_or("");
}

}  // namespace spatial::integration
