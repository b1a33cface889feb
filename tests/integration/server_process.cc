#include "tests/integration/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/test_paths.h"

namespace spatial::integration {

const char kMultipartType[] = "multipart/form-data; boundary=SpatialBoundary";

HttpReply Request(int port, const std::string& method, const std::string& path,
                  const std::string& content_type, const std::string& body) {
  HttpReply r;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
    const std::vector<std::tuple<std::string, std::string, std::string>>&
        parts) {
  const std::string boundary = "SpatialBoundary";
  std::string out;
  for (const auto& [name, type, data] : parts) {
    out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" +
           name + "\"";
    if (!type.empty()) out += "; filename=\"upload\"\r\nContent-Type: " + type;
    out += "\r\n\r\n" + data + "\r\n";
  }
  return out + "--" + boundary + "--\r\n";
}

ServerProcess::ServerProcess(const std::vector<std::string>& args,
                             const std::string& cwd,
                             const std::string& log_file)
    : log_file_(log_file) {
  static int counter = 0;
  port_file_ = log_file + ".port." + std::to_string(::getpid()) + "." +
               std::to_string(++counter);
  std::filesystem::remove(port_file_);
  const std::string bin = spatial::testing::SpatialBinary();
  std::vector<std::string> argv = {bin,           "serve",   "--address",
                                   "127.0.0.1",   "--port",  "0",
                                   "--port-file", port_file_};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int log_fd =
      ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ == 0) {
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(127);
    if (log_fd >= 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    ::execv(bin.c_str(), cargv.data());
    _exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::filesystem::remove(port_file_);
}

bool ServerProcess::WaitForPort(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(port_file_);
    if (f >> port_) return true;
    if (pid_ <= 0 || ::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
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
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;  // the destructor kills it
}

std::string ServerProcess::Log() const {
  std::ifstream f(log_file_);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace spatial::integration
