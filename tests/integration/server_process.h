// ServerProcess: a real `spatial serve` child on 127.0.0.1 for black-box
// tests, with its log in a file, and a minimal HTTP/1.1 client to talk to it.
// Not thread-safe except Request(), which any thread may call.
#ifndef SPATIAL_TESTS_INTEGRATION_SERVER_PROCESS_H_
#define SPATIAL_TESTS_INTEGRATION_SERVER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <tuple>
#include <vector>

namespace spatial::integration {

struct HttpReply {
  int status = 0;  // 0: no answer (connection refused, timeout, garbage)
  std::string headers;
  std::string body;
};

// One request on a fresh connection (Connection: close), 10 s timeout.
HttpReply Request(int port, const std::string& method, const std::string& path,
                  const std::string& content_type = "",
                  const std::string& body = "");

// A multipart/form-data body of (name, content type, data) parts with the
// boundary of kMultipartType; a part with a content type is sent as a file.
std::string Multipart(
    const std::vector<std::tuple<std::string, std::string, std::string>>&
        parts);
extern const char kMultipartType[];

class ServerProcess {
 public:
  // Starts `spatial serve --address 127.0.0.1 --port 0 --port-file F ARGS...`
  // in `cwd`, stdout and stderr appended to `log_file`.
  ServerProcess(const std::vector<std::string>& args, const std::string& cwd,
                const std::string& log_file);
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
  pid_t pid() const { return pid_; }
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string port_file_, log_file_;
};

}  // namespace spatial::integration

#endif  // SPATIAL_TESTS_INTEGRATION_SERVER_PROCESS_H_
