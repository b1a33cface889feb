#include "src/pipeline/http_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace spatial::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

int LeftMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

absl::StatusOr<int> Connect(const HttpUrl& u, Clock::time_point deadline) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(u.port);
  if (int e = ::getaddrinfo(u.host.c_str(), port.c_str(), &hints, &res);
      e != 0) {
    return absl::UnavailableError(
        absl::StrCat("resolve ", u.host, ": ", ::gai_strerror(e)));
  }
  std::string last = "no address";
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    int fd =
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                 a->ai_protocol);
    if (fd < 0) continue;
    int r = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      pollfd p = {fd, POLLOUT, 0};
      if (::poll(&p, 1, LeftMs(deadline)) == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        r = err == 0 ? 0 : -1;
        errno = err == 0 ? 0 : err;
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (r == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    last = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return absl::UnavailableError(
      absl::StrCat("connect ", u.host, ":", u.port, ": ", last));
}

absl::StatusOr<HttpAnswer> Exchange(const HttpUrl& u, const std::string& req,
                                    std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto fd = Connect(u, deadline);
  if (!fd.ok()) return fd.status();
  std::string in;
  size_t sent = 0;
  absl::Status failure = absl::OkStatus();
  while (true) {
    short events = sent < req.size() ? POLLOUT : POLLIN;
    pollfd p = {*fd, events, 0};
    int n = ::poll(&p, 1, LeftMs(deadline));
    if (n == 0) {
      failure = absl::DeadlineExceededError(
          absl::StrCat("no answer from ", u.host, ":", u.port, " within ",
                       timeout.count(), " ms"));
      break;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      failure = absl::UnavailableError(std::strerror(errno));
      break;
    }
    if (sent < req.size()) {
      ssize_t w =
          ::send(*fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EINTR) {
        failure = absl::UnavailableError(
            absl::StrCat("send: ", std::strerror(errno)));
        break;
      }
      if (w > 0) sent += static_cast<size_t>(w);
      continue;
    }
    char buf[16384];
    ssize_t r = ::recv(*fd, buf, sizeof(buf), 0);
    if (r > 0) {
      in.append(buf, static_cast<size_t>(r));
      continue;
    }
    if (r == 0) break;
    if (errno != EAGAIN && errno != EINTR) {
      failure =
          absl::UnavailableError(absl::StrCat("recv: ", std::strerror(errno)));
      break;
    }
  }
  ::close(*fd);
  if (!failure.ok()) return failure;
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" (Connection: close: body to EOF).
  size_t head_end = in.find("\r\n\r\n");
  int status = 0;
  if (!absl::StartsWith(in, "HTTP/1.") || head_end == std::string::npos ||
      in.size() < 12 || !absl::SimpleAtoi(in.substr(9, 3), &status)) {
    return absl::UnavailableError(
        absl::StrCat("not an HTTP answer from ", u.host, ":", u.port));
  }
  HttpAnswer a;
  a.status = status;
  a.body = in.substr(head_end + 4);
  std::string head = absl::AsciiStrToLower(in.substr(0, head_end));
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    // De-chunk: SIZE\r\nDATA\r\n ... 0\r\n\r\n
    std::string body, &raw = a.body;
    size_t pos = 0;
    while (pos < raw.size()) {
      size_t eol = raw.find("\r\n", pos);
      if (eol == std::string::npos) break;
      size_t len =
          std::strtoul(raw.substr(pos, eol - pos).c_str(), nullptr, 16);
      if (len == 0) break;
      body += raw.substr(eol + 2, len);
      pos = eol + 2 + len + 2;
    }
    a.body = body;
  }
  return a;
}

std::string Head(const char* method, const HttpUrl& u,
                 const std::string& path) {
  return absl::StrCat(method, " ", u.path, path, " HTTP/1.1\r\nHost: ", u.host,
                      ":", u.port, "\r\nConnection: close\r\n");
}

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(const std::string& url) {
  constexpr absl::string_view kScheme = "http://";
  if (!absl::StartsWith(url, kScheme)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", url, "' is not an http:// URL (e.g. http://127.0.0.1:8001)"));
  }
  std::string rest = url.substr(kScheme.size());
  HttpUrl u;
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos) {
    if (!absl::SimpleAtoi(authority.substr(colon + 1), &u.port) ||
        u.port <= 0 || u.port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad port in '", url, "'"));
    }
    authority.resize(colon);
  }
  if (authority.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no host in '", url, "'"));
  }
  u.host = authority;
  return u;
}

absl::StatusOr<HttpAnswer> HttpGet(const HttpUrl& base, const std::string& path,
                                   std::chrono::milliseconds timeout) {
  return Exchange(base, Head("GET", base, path) + "\r\n", timeout);
}

absl::StatusOr<HttpAnswer> HttpPostFile(const HttpUrl& base,
                                        const std::string& path,
                                        const std::string& file_name,
                                        const std::string& data,
                                        std::chrono::milliseconds timeout) {
  const std::string boundary = "----spatial-pipeline-7d4f1c";
  const char* type =
      absl::EndsWith(file_name, ".png") ? "image/png" : "image/jpeg";
  std::string body = absl::StrCat(
      "--", boundary, "\r\nContent-Disposition: form-data; name=\"file\"; ",
      "filename=\"", file_name, "\"\r\nContent-Type: ", type, "\r\n\r\n", data,
      "\r\n--", boundary, "--\r\n");
  std::string req =
      absl::StrCat(Head("POST", base, path),
                   "Content-Type: multipart/form-data; boundary=", boundary,
                   "\r\nContent-Length: ", body.size(), "\r\n\r\n", body);
  return Exchange(base, req, timeout);
}

}  // namespace spatial::pipeline
