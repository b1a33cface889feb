// The serve tests' client side over base::HttpFetch (one blocking request
// per connection) and StartServe over ServerProcess. Thread-safe: requests
// share nothing; StartServe numbers its logs atomically.
#include "tests/integration/serve_client.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "src/base/http_client.h"
#include "tests/integration/server_process.h"
#include "tests/test_paths.h"

namespace spatial::integration {

Reply Request(int port, const std::string& method, const std::string& path,
              const std::string& content_type, const std::string& body) {
  return RequestWithHeaders(port, method, path, {}, content_type, body);
}

Reply RequestAs(int port, const std::string& method, const std::string& path,
                const std::string& token, const std::string& body,
                const std::string& content_type) {
  return RequestWithHeaders(
      port, method, path,
      token.empty()
          ? std::vector<std::string>{}
          : std::vector<std::string>{"Authorization: Bearer " + token},
      body.empty() ? "" : content_type, body);
}

Reply RequestWithHeaders(int port, const std::string& method,
                         const std::string& path,
                         const std::vector<std::string>& headers,
                         const std::string& content_type,
                         const std::string& body) {
  Reply r;
  auto reply = base::HttpFetch(port, path,
                               {.method = method,
                                .content_type = content_type,
                                .headers = headers,
                                .body = body,
                                .timeout = absl::Seconds(30)});
  if (!reply.ok()) return r;  // status 0: no (complete) answer
  r.status = reply->status;
  r.headers = std::move(reply->headers);
  r.body = std::move(reply->body);
  return r;
}

std::string Multipart(
    const std::vector<std::tuple<std::string, std::string, std::string>>& parts,
    const std::string& boundary) {
  std::vector<base::FormPart> form;
  for (const auto& [name, type, data] : parts) {
    form.push_back({.name = name, .content_type = type, .data = data});
  }
  return base::MultipartBody(form, boundary);
}

ServeProcess StartServe(const std::vector<std::string>& args) {
  static std::atomic<int> counter{0};
  ServerProcess process(args, spatial::testing::SourceDir(),
                        ::testing::TempDir() + "/serve_log_" +
                            std::to_string(::getpid()) + "_" +
                            std::to_string(counter++));
  ServeProcess server;
  // Listening comes before ready: wait for the models to be warm.
  if (process.WaitReady(std::chrono::seconds(30))) server.port = process.port();
  server.pid = process.Release();
  return server;
}

void KillServe(ServeProcess* server) {
  if (server->pid > 0) {
    ::kill(server->pid, SIGKILL);
    ::waitpid(server->pid, nullptr, 0);
  }
  server->pid = -1;
}

}  // namespace spatial::integration
