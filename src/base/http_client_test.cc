// Tests of HttpFetch against a real listening socket on 127.0.0.1 (a small
// one-connection server thread per test), and of the URL and multipart
// helpers. Each test owns its server (one thread, joined at the end);
// nothing is shared between tests.
#include "src/base/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace spatial::base {
namespace {

// What the one-shot server does with its one connection.
struct Script {
  std::string answer;         // bytes written back, then the socket closes
  bool read_body = true;      // false: answer right after the headers
  bool never_answer = false;  // hold the connection until the test ends
};

// Listens on 127.0.0.1 port 0, serves one connection as `script` says and
// records the request it read.
class OneShotServer {
 public:
  explicit OneShotServer(Script script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
        0);
    EXPECT_EQ(::listen(listen_fd_, 4), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~OneShotServer() {
    done_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  // The request as read (complete once the fetch returned).
  std::string request() {
    thread_done_.wait(false);
    return request_;
  }

 private:
  void Serve() {
    pollfd p{listen_fd_, POLLIN, 0};
    // Bounded: the test's fetch connects within its own timeout.
    if (::poll(&p, 1, 10000) != 1) return Finish();
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return Finish();
    char buf[65536];
    for (;;) {
      size_t split = request_.find("\r\n\r\n");
      if (split != std::string::npos) {
        if (!script_.read_body) break;
        size_t at = request_.find("Content-Length: ");
        size_t length = 0;
        if (at != std::string::npos) {
          (void)absl::SimpleAtoi(
              request_.substr(at + 16, request_.find("\r\n", at) - at - 16),
              &length);
        }
        if (request_.size() >= split + 4 + length) break;
      }
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      request_.append(buf, static_cast<size_t>(n));
    }
    if (script_.never_answer) {
      while (!done_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    } else {
      (void)!::send(fd, script_.answer.data(), script_.answer.size(),
                    MSG_NOSIGNAL);
      if (!script_.read_body) {
        // Drain what the client still sends (bounded), so that closing
        // with unread data does not reset the answer away.
        ::shutdown(fd, SHUT_WR);
        pollfd in{fd, POLLIN, 0};
        while (!done_ && ::poll(&in, 1, 100) >= 0) {
          if ((in.revents & POLLIN) && ::recv(fd, buf, sizeof(buf), 0) <= 0) {
            break;
          }
        }
      }
    }
    ::close(fd);
    Finish();
  }
  void Finish() {
    thread_done_ = true;
    thread_done_.notify_all();
  }

  Script script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::string request_;
  std::atomic<bool> done_{false}, thread_done_{false};
  std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A GET: the request line, Host and Connection: close go out; status,
// headers, content type and a Content-Length-framed body come back.
TEST(HttpFetchTest, GetReturnsStatusHeadersAndBody) {
  OneShotServer server({.answer =
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                            "X-Thing: 7\r\nContent-Length: 5\r\n\r\nhello"});
  auto r = HttpFetch(server.port(), "/health");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/plain");
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->Header("x-thing"), "7");
  EXPECT_EQ(r->Header("absent"), "");
  EXPECT_TRUE(absl::StartsWith(r->headers, "HTTP/1.1 200 OK\r\n"));
  const std::string req = server.request();
  EXPECT_TRUE(absl::StartsWith(req, "GET /health HTTP/1.1\r\n")) << req;
  EXPECT_TRUE(absl::StrContains(
      req, absl::StrCat("Host: 127.0.0.1:", server.port(), "\r\n")));
  EXPECT_TRUE(absl::StrContains(req, "Connection: close\r\n"));
  EXPECT_FALSE(absl::StrContains(req, "Content-Length")) << req;
}

// A POST carries its content type, extra headers and body with its length.
TEST(HttpFetchTest, PostSendsHeadersAndBody) {
  OneShotServer server(
      {.answer = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"});
  auto r = HttpFetch(server.port(), "/v1/things",
                     {.method = "POST",
                      .content_type = "application/json",
                      .headers = {"Authorization: Bearer abc"},
                      .body = "{\"a\":1}"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "ok");
  const std::string req = server.request();
  EXPECT_TRUE(absl::StartsWith(req, "POST /v1/things HTTP/1.1\r\n")) << req;
  EXPECT_TRUE(absl::StrContains(req, "Content-Type: application/json\r\n"));
  EXPECT_TRUE(absl::StrContains(req, "Authorization: Bearer abc\r\n"));
  EXPECT_TRUE(absl::StrContains(req, "Content-Length: 7\r\n"));
  EXPECT_TRUE(absl::EndsWith(req, "\r\n\r\n{\"a\":1}")) << req;
}

// An empty DELETE still says Content-Length: 0 (servers may want a length).
TEST(HttpFetchTest, EmptyBodyOfNonGetHasZeroLength) {
  OneShotServer server(
      {.answer = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"});
  auto r = HttpFetch(server.port(), "/x", {.method = "DELETE"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 204);
  EXPECT_TRUE(absl::StrContains(server.request(), "Content-Length: 0\r\n"));
}

// Chunked answers are de-chunked; an answer without length ends at close.
TEST(HttpFetchTest, ChunkedAndCloseFramedBodies) {
  {
    OneShotServer server(
        {.answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"});
    auto r = HttpFetch(server.port(), "/c");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body, "hello world");
  }
  {
    OneShotServer server({.answer = "HTTP/1.0 200 OK\r\n\r\nto the end"});
    auto r = HttpFetch(server.port(), "/e");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body, "to the end");
  }
}

// A server that refuses a large upload after the headers (413) and closes:
// its answer is what comes back, not a send error.
TEST(HttpFetchTest, EarlyAnswerToALargeUploadIsReturned) {
  OneShotServer server({.answer = "HTTP/1.1 413 Payload Too Large\r\n"
                                  "Content-Length: 8\r\n\r\ntoo big!",
                        .read_body = false});
  auto r = HttpFetch(server.port(), "/upload",
                     {.method = "POST", .body = std::string(8 << 20, 'x')});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body, "too big!");
}

// Nothing listening: Unavailable, naming method, host:port and path.
TEST(HttpFetchTest, RefusedConnectionNamesHostAndPort) {
  const int port = ClosedPort();
  auto r = HttpFetch(port, "/health");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(
      r.status().message(),
      absl::StrCat("GET http://127.0.0.1:", port, "/health: cannot connect")))
      << r.status();
}

// A server that accepts and never answers: DeadlineExceeded after the
// timeout, naming host:port.
TEST(HttpFetchTest, NoAnswerWithinTheTimeoutIsDeadlineExceeded) {
  OneShotServer server({.never_answer = true});
  auto r =
      HttpFetch(server.port(), "/slow", {.timeout = absl::Milliseconds(200)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StrContains(
      r.status().message(),
      absl::StrCat("127.0.0.1:", server.port(), "/slow: no complete answer")))
      << r.status();
}

// Not HTTP, or a body cut short by the close: Unavailable.
TEST(HttpFetchTest, GarbageOrTruncatedAnswerIsUnavailable) {
  {
    OneShotServer server({.answer = "SSH-2.0-OpenSSH\r\n\r\n"});
    auto r = HttpFetch(server.port(), "/");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(absl::StrContains(r.status().message(), "not complete HTTP"))
        << r.status();
  }
  {
    OneShotServer server(
        {.answer = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"});
    auto r = HttpFetch(server.port(), "/");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  }
  {
    OneShotServer server({.answer = ""});
    auto r = HttpFetch(server.port(), "/");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_TRUE(absl::StrContains(r.status().message(), "closed without"))
        << r.status();
  }
}

TEST(ParseHttpUrlTest, SplitsHostPortAndPath) {
  struct Case {
    std::string url, host;
    int port;
    std::string path;
  } cases[] = {
      {"http://127.0.0.1:8001", "127.0.0.1", 8001, ""},
      {"http://example:9/api/", "example", 9, "/api"},
      {"http://localhost", "localhost", 80, ""},
  };
  for (const Case& c : cases) {
    auto u = ParseHttpUrl(c.url);
    ASSERT_TRUE(u.ok()) << c.url << ": " << u.status();
    EXPECT_EQ(u->host, c.host) << c.url;
    EXPECT_EQ(u->port, c.port) << c.url;
    EXPECT_EQ(u->path, c.path) << c.url;
  }
  for (const char* bad : {"https://x", "http://:80", "http://h:0", "http://h:x",
                          "127.0.0.1:80"}) {
    EXPECT_EQ(ParseHttpUrl(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(MultipartBodyTest, FieldsAndFiles) {
  std::string body = MultipartBody(
      {{.name = "model", .data = "m1"},
       {.name = "file", .content_type = "image/png", .data = "PNG"},
       {.name = "img",
        .content_type = "image/jpeg",
        .data = "J",
        .filename = "a.jpg"}},
      "B");
  EXPECT_EQ(body,
            "--B\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n"
            "m1\r\n"
            "--B\r\nContent-Disposition: form-data; name=\"file\"; "
            "filename=\"upload\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n"
            "--B\r\nContent-Disposition: form-data; name=\"img\"; "
            "filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nJ\r\n"
            "--B--\r\n");
  EXPECT_EQ(MultipartContentType("B"), "multipart/form-data; boundary=B");
}

}  // namespace
}  // namespace spatial::base
