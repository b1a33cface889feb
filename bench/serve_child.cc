#include "bench/serve_child.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace spatial::bench {

HttpAnswer Get(int port, const std::string& path) {
  HttpAnswer a;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return a;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return a;
  }
  std::string req = "GET " + path +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return a;
  }
  std::string all;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto split = all.find("\r\n\r\n");
  if (all.size() < 12 || split == std::string::npos) return a;
  a.status = std::atoi(all.substr(9, 3).c_str());
  a.body = all.substr(split + 4);
  return a;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

double CpuSeconds(pid_t pid) {
  if (pid < 0) {
    rusage u{};
    getrusage(RUSAGE_CHILDREN, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  if (pid == 0) {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), {});
  auto close = all.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(all.substr(close + 2), ' ');
  // Fields after "(comm) ": state is index 0; utime, stime are 11 and 12.
  if (fields.size() < 13) return 0;
  return static_cast<double>(std::atoll(fields[11].c_str()) +
                             std::atoll(fields[12].c_str())) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Largest value of a Prometheus metric's samples (e.g. a gauge per model).
double MetricMax(const std::string& metrics, const std::string& name) {
  double best = 0;
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::StartsWith(line, name + "{") &&
        !absl::StartsWith(line, name + " "))
      continue;
    double v = 0;
    auto sp = line.rfind(' ');
    if (sp != absl::string_view::npos &&
        absl::SimpleAtod(line.substr(sp + 1), &v))
      best = std::max(best, v);
  }
  return best;
}

// Mean of a Prometheus histogram from its _sum and _count lines.
double HistogramMean(const std::string& metrics, const std::string& name) {
  double sum = 0, count = 0;
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    auto value = [&] {
      double v = 0;
      auto sp = line.rfind(' ');
      if (sp != absl::string_view::npos)
        (void)absl::SimpleAtod(line.substr(sp + 1), &v);
      return v;
    };
    if (absl::StartsWith(line, name + "_sum")) sum += value();
    if (absl::StartsWith(line, name + "_count")) count += value();
  }
  return count > 0 ? sum / count : 0;
}

namespace {

pid_t Spawn(const std::vector<std::string>& argv, const std::string& cwd,
            const std::string& log) {
  std::vector<char*> cargv;
  std::vector<std::string> copy = argv;
  for (auto& a : copy) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int log_fd =
      ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(127);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (log_fd >= 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    ::execv(cargv[0], cargv.data());
    _exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  return pid;
}

}  // namespace

int RunToLog(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = Spawn(argv, "", log);
  if (pid < 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

ServeChild::ServeChild(const std::string& binary,
                       const std::vector<std::string>& args,
                       const std::string& cwd, const std::string& log_file)
    : log_file_(log_file) {
  port_file_ = log_file + ".port";
  std::filesystem::remove(port_file_);
  std::vector<std::string> argv = {binary,        "serve",   "--address",
                                   "127.0.0.1",   "--port",  "0",
                                   "--port-file", port_file_};
  argv.insert(argv.end(), args.begin(), args.end());
  started_ = Clock::now();
  pid_ = Spawn(argv, cwd, log_file);
}

ServeChild::~ServeChild() {
  if (pid_ > 0 && Terminate(std::chrono::seconds(10)) < 0 && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::filesystem::remove(port_file_);
}

bool ServeChild::WaitReady(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pid_ <= 0 || ::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    if (port_ == 0) {
      std::ifstream f(port_file_);
      if (!(f >> port_)) port_ = 0;
    }
    if (port_ != 0 && Get(port_, "/v2/health/ready").status == 200) {
      ready_ms_ =
          std::chrono::duration<double, std::milli>(Clock::now() - started_)
              .count();
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

double ServeChild::LoggedReadyMs() const {
  static const std::regex kLine(R"(\((\d+) ms after start\))");
  std::smatch m;
  std::string log = Log();
  if (!std::regex_search(log, m, kLine)) return -1;
  return std::stod(m[1].str());
}

int64_t ServeChild::StatusKb(const char* field) const {
  if (pid_ <= 0) return -1;
  std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
  std::string line, key = std::string(field) + ":";
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) return std::atoll(line.c_str() + key.size());
  }
  return -1;
}

int ServeChild::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  while (Clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

std::string ServeChild::Log() const {
  std::ifstream f(log_file_);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace spatial::bench
