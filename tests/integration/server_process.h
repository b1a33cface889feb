// ServerProcess: a real `spatial serve` child (a base::Subprocess) on
// 127.0.0.1 for black-box tests, with its log in a file (talk to it with
// serve_client.h). Not thread-safe.
#ifndef SPATIAL_TESTS_INTEGRATION_SERVER_PROCESS_H_
#define SPATIAL_TESTS_INTEGRATION_SERVER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "src/base/subprocess.h"

namespace spatial::integration {

class ServerProcess {
 public:
  // Starts `spatial serve --address 127.0.0.1 --port 0 --port-file F ARGS...`
  // in `cwd`, stdout and stderr appended to `log_file` (and there why it
  // could not start, if it could not). `command` replaces serve with another
  // server command that takes those flags (console).
  ServerProcess(const std::vector<std::string>& args, const std::string& cwd,
                const std::string& log_file,
                const std::string& command = "serve");
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Waits for the port file; false on timeout or if the process exited.
  bool WaitForPort(std::chrono::milliseconds timeout);
  // Waits for GET /v2/health/ready to answer 200.
  bool WaitReady(std::chrono::milliseconds timeout);
  // SIGTERM, then waits; the exit code (128 + signal if killed), -1 on
  // timeout (then SIGKILL).
  int Terminate(std::chrono::milliseconds timeout);

  int port() const { return port_; }
  // Hands the process over to the caller (no kill at destruction).
  pid_t Release() { return process_.Release(); }
  pid_t pid() const { return process_.pid(); }
  std::string Log() const;

 private:
  base::Subprocess process_;  // SIGKILLed and reaped at destruction
  int port_ = 0;
  std::string port_file_, log_file_;
};

}  // namespace spatial::integration

#endif  // SPATIAL_TESTS_INTEGRATION_SERVER_PROCESS_H_
