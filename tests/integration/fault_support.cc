// Load, WaitForLog and RawRequest (fault_support.h).
#include "tests/integration/fault_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "nlohmann/json.hpp"
#include "tests/integration/serve_client.h"

namespace spatial::integration {

using Clock = std::chrono::steady_clock;

std::string ClassifyBody(const std::string& jpeg) {
  return Multipart({{"file", "image/jpeg", jpeg}, {"use_spatial", "", "true"}});
}

Load::Load(std::vector<int> ports, int threads, std::string jpeg,
           std::chrono::milliseconds pause, int max_requests)
    : ports_(std::move(ports)),
      jpeg_(std::move(jpeg)),
      pause_(pause),
      max_requests_(max_requests) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i] { Client(i); });
  }
}

Load::~Load() { Stop(); }

void Load::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void Load::Client(int index) {
  const std::string body = ClassifyBody(jpeg_);
  for (size_t n = static_cast<size_t>(index); !stop_; ++n) {
    if (started_++ >= max_requests_) return;
    const int port = ports_[n % ports_.size()];
    const auto start = Clock::now();
    Reply r = Request(port, "POST", "/classify", kForm, body);
    const double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    auto j = ParseJsonBody(r);
    std::lock_guard<std::mutex> lock(mu_);
    if (r.status == 200 && j.is_object()) {
      ++ok_;
      latencies_ms_.push_back(ms);
    } else if (failed_++ == 0) {
      first_failure_ = "port " + std::to_string(port) + ": status " +
                       std::to_string(r.status) + " " + r.body;
    }
    if (pause_.count() > 0) std::this_thread::sleep_for(pause_);
  }
}

std::string Load::first_failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_failure_;
}

double Load::P99Ms() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Percentile(latencies_ms_, 99);
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t i = static_cast<size_t>(p / 100.0 * (values.size() - 1) + 0.5);
  return values[std::min(i, values.size() - 1)];
}

bool WaitForLog(const ServerProcess& server, const std::string& text,
                std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (server.Log().find(text) != std::string::npos) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int CountLines(const std::string& log, const std::string& text) {
  std::istringstream in(log);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find(text) != std::string::npos) ++n;
  }
  return n;
}

std::string ClassifyRequest(const std::string& jpeg) {
  const std::string body = ClassifyBody(jpeg);
  return "POST /classify HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
         "close\r\nContent-Type: " +
         kForm + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

namespace {

// The status of a complete answer in `a` (framed by Content-Length), else 0.
int CompleteStatus(const std::string& a) {
  const size_t end = a.find("\r\n\r\n");
  if (end == std::string::npos || a.compare(0, 5, "HTTP/") != 0) return 0;
  int status = 0;
  const size_t sp = a.find(' ');
  if (sp == std::string::npos ||
      !absl::SimpleAtoi(a.substr(sp + 1, 3), &status)) {
    return 0;
  }
  const std::string head = absl::AsciiStrToLower(a.substr(0, end));
  const size_t cl = head.find("\r\ncontent-length:");
  if (cl == std::string::npos) return 0;
  size_t length = 0;
  const size_t from = cl + 17;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(
                            head.substr(from, head.find('\r', from) - from)),
                        &length)) {
    return 0;
  }
  return a.size() >= end + 4 + length ? status : 0;
}

}  // namespace

RawExchange RawRequest(int port, const std::string& request,
                       std::chrono::milliseconds timeout) {
  RawExchange x;
  const auto deadline = Clock::now() + timeout;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return x;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    x.refused = errno == ECONNREFUSED;
    ::close(fd);
    return x;
  }
  auto left_ms = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 Clock::now())
               .count()));
  };
  size_t sent = 0;
  while (sent < request.size()) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, left_ms()) <= 0) break;
    ssize_t n =
        ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (or not) before the end
    sent += static_cast<size_t>(n);
  }
  char buf[16384];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left_ms()) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    x.answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  x.status = CompleteStatus(x.answer);
  return x;
}

}  // namespace spatial::integration
