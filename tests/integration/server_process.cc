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

#include "tests/integration/serve_client.h"
#include "tests/test_paths.h"

namespace spatial::integration {

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
