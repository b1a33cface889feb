#include "src/envtest/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace spatial::envtest {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Milliseconds left until `deadline`, at least 0.
int MsLeft(absl::Time deadline) {
  return static_cast<int>(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
}

// Waits until `fd` is ready for `events` or the deadline passes.
bool WaitFor(int fd, short events, absl::Time deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, MsLeft(deadline));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

// Splits a complete response; false while more bytes are needed.
bool ParseReply(const std::string& all, bool eof, HttpReply* out) {
  size_t split = all.find("\r\n\r\n");
  if (split == std::string::npos) return false;
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(all).substr(0, split), "\r\n");
  if (lines.empty() || lines[0].size() < 12 ||
      !absl::SimpleAtoi(lines[0].substr(9, 3), &out->status)) {
    return false;
  }
  size_t length = std::string::npos;
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
    }
  }
  size_t have = all.size() - split - 4;
  if (length == std::string::npos) {
    if (!eof) return false;
    length = have;
  }
  if (have < length) return false;
  out->body = all.substr(split + 4, length);
  return true;
}

}  // namespace

absl::StatusOr<HttpReply> Fetch(int port, absl::string_view path,
                                const FetchOptions& options) {
  const absl::Time deadline = absl::Now() + options.timeout;
  auto fail = [&](absl::string_view what) {
    return absl::UnavailableError(absl::StrCat(
        options.method, " http://127.0.0.1:", port, path, ": ", what));
  };
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return fail(std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
          0 &&
      errno != EINPROGRESS) {
    return fail(absl::StrCat("cannot connect: ", std::strerror(errno)));
  }
  if (!WaitFor(fd.get(), POLLOUT, deadline)) return fail("connect timed out");
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0)
    return fail(absl::StrCat("cannot connect: ", std::strerror(err)));

  std::string req = absl::StrCat(options.method, " ", path,
                                 " HTTP/1.1\r\nHost: 127.0.0.1:", port,
                                 "\r\nConnection: close\r\n");
  if (!options.content_type.empty())
    absl::StrAppend(&req, "Content-Type: ", options.content_type, "\r\n");
  if (options.method != "GET" || !options.body.empty())
    absl::StrAppend(&req, "Content-Length: ", options.body.size(), "\r\n");
  absl::StrAppend(&req, "\r\n", options.body);

  std::string all;
  size_t sent = 0;
  bool eof = false;
  HttpReply reply;
  char buf[65536];
  while (!eof) {
    short events = POLLIN;
    if (sent < req.size()) events |= POLLOUT;
    if (!WaitFor(fd.get(), events, deadline)) {
      return fail(absl::StrCat("no complete answer within ",
                               absl::FormatDuration(options.timeout)));
    }
    if (sent < req.size()) {
      ssize_t n =
          ::send(fd.get(), req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        sent = req.size();  // refused early (413): read what it said
      }
    }
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      all.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      eof = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      if (all.empty()) return fail(std::strerror(errno));
      eof = true;
    }
    if (ParseReply(all, eof, &reply)) return reply;
  }
  return fail(all.empty() ? "the server closed without answering"
                          : "the answer is not valid HTTP/1.1");
}

std::string MultipartForm(const std::vector<FormPart>& parts,
                          absl::string_view boundary) {
  std::string out;
  for (const FormPart& p : parts) {
    absl::StrAppend(&out, "--", boundary,
                    "\r\nContent-Disposition: form-data; name=\"", p.name,
                    "\"");
    if (!p.content_type.empty()) {
      absl::StrAppend(
          &out, "; filename=\"upload\"\r\nContent-Type: ", p.content_type);
    }
    absl::StrAppend(&out, "\r\n\r\n", p.data, "\r\n");
  }
  absl::StrAppend(&out, "--", boundary, "--\r\n");
  return out;
}

}  // namespace spatial::envtest
