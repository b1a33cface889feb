#include "tests/integration/serve_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
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
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + path +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!content_type.empty()) req += "Content-Type: " + content_type + "\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse early (413) and close
    off += static_cast<size_t>(n);
  }
  std::string all;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto split = all.find("\r\n\r\n");
  if (all.size() < 12 || split == std::string::npos) return r;
  r.status = std::stoi(all.substr(9, 3));
  r.headers = all.substr(0, split);
  r.body = all.substr(split + 4);
  return r;
}

std::string Multipart(
    const std::vector<std::tuple<std::string, std::string, std::string>>& parts,
    const std::string& boundary) {
  std::string out;
  for (const auto& [name, type, data] : parts) {
    out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" +
           name + "\"";
    if (!type.empty()) out += "; filename=\"upload\"\r\nContent-Type: " + type;
    out += "\r\n\r\n" + data + "\r\n";
  }
  return out + "--" + boundary + "--\r\n";
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
