// HttpFetch and its helpers (see http_client.h). Thread-safe: no shared
// state; each call owns its socket.
#include "src/base/http_client.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace spatial::base {
namespace {

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int MsLeft(absl::Time deadline) {
  return static_cast<int>(std::clamp<int64_t>(
      absl::ToInt64Milliseconds(deadline - absl::Now()), 0, 1 << 30));
}

// Waits until `fd` is ready for `events`; false when the deadline passed.
bool WaitFor(int fd, short events, absl::Time deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, MsLeft(deadline));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

// A connected non-blocking socket, or why not ("" and a status code).
absl::StatusOr<int> Connect(const std::string& host, int port,
                            absl::Time deadline, bool* timed_out) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int e = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
      e != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", host, ": ", ::gai_strerror(e)));
  }
  std::string last = "no address";
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    int fd =
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                 a->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        if (WaitFor(fd, POLLOUT, deadline)) {
          socklen_t len = sizeof(err);
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        } else {
          err = ETIMEDOUT;
          *timed_out = true;
        }
      }
    }
    if (err == 0) {
      ::freeaddrinfo(res);
      return fd;
    }
    last = std::strerror(err);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return absl::UnavailableError(absl::StrCat("cannot connect: ", last));
}

// De-chunks `raw` (SIZE\r\nDATA\r\n ... 0\r\n\r\n); true when the last
// chunk was seen.
bool Dechunk(absl::string_view raw, std::string* body) {
  body->clear();
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == absl::string_view::npos) return false;
    absl::string_view size = raw.substr(pos, eol - pos);
    size = size.substr(0, size.find(';'));  // chunk extensions
    uint64_t len = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(size), &len)) {
      return false;
    }
    if (len == 0) return true;
    if (eol + 2 + len > raw.size()) return false;
    body->append(raw.data() + eol + 2, len);
    pos = eol + 2 + len + 2;
  }
  return false;
}

enum class Parse { kNeedMore, kDone, kBad };

// Splits a response; kNeedMore while more bytes are needed (at EOF a
// truncated body is kBad).
Parse ParseReply(const std::string& all, bool eof, bool head_request,
                 HttpReply* out) {
  size_t split = all.find("\r\n\r\n");
  if (split == std::string::npos) return eof ? Parse::kBad : Parse::kNeedMore;
  out->headers = all.substr(0, split);
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(out->headers), "\r\n");
  if (!absl::StartsWith(lines[0], "HTTP/1.") || lines[0].size() < 12 ||
      !absl::SimpleAtoi(lines[0].substr(9, 3), &out->status)) {
    return Parse::kBad;
  }
  std::optional<uint64_t> length;
  bool chunked = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    absl::string_view name = lines[i].substr(0, colon);
    absl::string_view value =
        absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "content-type")) {
      out->content_type = std::string(value);
    } else if (absl::EqualsIgnoreCase(name, "content-length")) {
      uint64_t n = 0;
      if (absl::SimpleAtoi(value, &n)) length = n;
    } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
      chunked = absl::StrContains(absl::AsciiStrToLower(value), "chunked");
    }
  }
  absl::string_view rest = absl::string_view(all).substr(split + 4);
  if (head_request || out->status / 100 == 1 || out->status == 204 ||
      out->status == 304) {
    out->body.clear();
    return Parse::kDone;
  }
  if (chunked) {
    if (Dechunk(rest, &out->body)) return Parse::kDone;
    return eof ? Parse::kBad : Parse::kNeedMore;
  }
  if (length.has_value()) {
    if (rest.size() >= *length) {
      out->body = std::string(rest.substr(0, *length));
      return Parse::kDone;
    }
    return eof ? Parse::kBad : Parse::kNeedMore;
  }
  if (!eof) return Parse::kNeedMore;
  out->body = std::string(rest);
  return Parse::kDone;
}

}  // namespace

std::string HttpReply::Header(absl::string_view name) const {
  for (absl::string_view line : absl::StrSplit(headers, "\r\n")) {
    size_t colon = line.find(':');
    if (colon != absl::string_view::npos &&
        absl::EqualsIgnoreCase(line.substr(0, colon), name)) {
      return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  return "";
}

absl::StatusOr<HttpReply> HttpFetch(const std::string& host, int port,
                                    absl::string_view target,
                                    const HttpOptions& options) {
  const absl::Time deadline = absl::Now() + options.timeout;
  auto fail = [&](absl::StatusCode code, absl::string_view what) {
    return absl::Status(code, absl::StrCat(options.method, " http://", host,
                                           ":", port, target, ": ", what));
  };
  auto too_slow = [&] {
    return fail(absl::StatusCode::kDeadlineExceeded,
                absl::StrCat("no complete answer within ",
                             absl::FormatDuration(options.timeout)));
  };
  bool timed_out = false;
  absl::StatusOr<int> fd = Connect(host, port, deadline, &timed_out);
  if (timed_out) return too_slow();
  if (!fd.ok()) return fail(fd.status().code(), fd.status().message());
  Socket socket(*fd);

  std::string req =
      absl::StrCat(options.method, " ", target, " HTTP/1.1\r\nHost: ", host,
                   ":", port, "\r\nConnection: close\r\n");
  if (!options.content_type.empty()) {
    absl::StrAppend(&req, "Content-Type: ", options.content_type, "\r\n");
  }
  for (const std::string& h : options.headers) absl::StrAppend(&req, h, "\r\n");
  const bool head = options.method == "HEAD";
  if ((options.method != "GET" && !head) || !options.body.empty()) {
    absl::StrAppend(&req, "Content-Length: ", options.body.size(), "\r\n");
  }
  absl::StrAppend(&req, "\r\n", options.body);

  std::string all;
  size_t sent = 0;
  bool eof = false;
  HttpReply reply;
  char buf[65536];
  while (!eof) {
    short events = POLLIN;
    if (sent < req.size()) events |= POLLOUT;
    if (!WaitFor(socket.get(), events, deadline)) return too_slow();
    if (sent < req.size()) {
      ssize_t n = ::send(socket.get(), req.data() + sent, req.size() - sent,
                         MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        sent = req.size();  // refused early (413): read what it said
      }
    }
    ssize_t n = ::recv(socket.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      all.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      eof = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      if (all.empty()) {
        return fail(absl::StatusCode::kUnavailable, std::strerror(errno));
      }
      eof = true;
    }
    switch (ParseReply(all, eof, head, &reply)) {
      case Parse::kDone:
        return reply;
      case Parse::kBad:
        return fail(absl::StatusCode::kUnavailable,
                    all.empty() ? "the server closed without answering"
                                : "the answer is not complete HTTP/1.1");
      case Parse::kNeedMore:
        break;
    }
  }
  return fail(absl::StatusCode::kUnavailable,
              "the server closed without answering");
}

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

std::string MultipartBody(const std::vector<FormPart>& parts,
                          absl::string_view boundary) {
  std::string out;
  for (const FormPart& p : parts) {
    absl::StrAppend(&out, "--", boundary,
                    "\r\nContent-Disposition: form-data; name=\"", p.name,
                    "\"");
    if (!p.content_type.empty()) {
      absl::StrAppend(&out, "; filename=\"",
                      p.filename.empty() ? "upload" : p.filename,
                      "\"\r\nContent-Type: ", p.content_type);
    }
    absl::StrAppend(&out, "\r\n\r\n", p.data, "\r\n");
  }
  absl::StrAppend(&out, "--", boundary, "--\r\n");
  return out;
}

std::string MultipartContentType(absl::string_view boundary) {
  return absl::StrCat("multipart/form-data; boundary=", boundary);
}

}  // namespace spatial::base
