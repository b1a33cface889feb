#include "src/serving/http/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <future>
#include <stdexcept>
#include <thread>

#include "gtest/gtest.h"

namespace spatial::serving::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Echoes the request; "/slow" answers after 300 ms from another thread.
class EchoHandler : public RequestHandler {
 public:
  void Handle(HttpRequest r, Responder respond) override {
    HttpResponse resp;
    resp.content_type = "text/plain";
    resp.body = r.method + " " + r.path + " q=" + r.query +
                " len=" + std::to_string(r.body.size()) +
                " x=" + r.Header("x-test");
    if (r.path == "/throw") throw std::runtime_error("handler bug");
    if (r.path == "/answer-then-throw") {
      respond(resp);
      throw std::runtime_error("handler bug after answering");
    }
    if (r.path == "/slow") {
      std::thread([respond, resp] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        respond(resp);
      }).detach();
      return;
    }
    respond(resp);
  }
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer({}); }
  void StartServer(HttpServer::Options o) {
    o.address = "127.0.0.1";
    o.port = 0;
    o.max_body_bytes = 1000;
    o.max_header_bytes = 2000;
    if (o.read_timeout == HttpServer::Options{}.read_timeout)
      o.read_timeout = std::chrono::seconds(5);
    auto s = HttpServer::Start(o, &handler_);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }

  // Sends raw bytes on a new connection and returns everything read until close
  // or the timeout.
  std::string Raw(const std::string& bytes, int timeout_ms = 3000) {
    net::io_context ioc;
    tcp::socket sock(ioc);
    sock.connect({net::ip::make_address("127.0.0.1"),
                  static_cast<unsigned short>(server_->port())});
    net::write(sock, net::buffer(bytes));
    std::string out;
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(timeout_ms);
    sock.non_blocking(true);
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      beast::error_code ec;
      size_t n = sock.read_some(net::buffer(buf), ec);
      if (ec == net::error::would_block) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      if (ec) break;
      out.append(buf, n);
    }
    return out;
  }

  bhttp::response<bhttp::string_body> Get(const std::string& target) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect({net::ip::make_address("127.0.0.1"),
                    static_cast<unsigned short>(server_->port())});
    bhttp::request<bhttp::string_body> req(bhttp::verb::get, target, 11);
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    return res;
  }

  EchoHandler handler_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, AnswersAndSplitsPathAndQuery) {
  auto res = Get("/classify?x=1&y=2");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "GET /classify q=x=1&y=2 len=0 x=");
  EXPECT_EQ(res[bhttp::field::server], "pizza-api-spatial");
}

// Two requests on one keep-alive connection both get answers.
// A handler that throws costs its request a 500, not the server its life;
// one that answered before throwing keeps its answer (sent once).
TEST_F(HttpServerTest, HandlerExceptionIs500AndServerLivesOn) {
  auto res = Get("/throw");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_NE(res.body().find("internal error"), std::string::npos) << res.body();
  std::string out =
      Raw("GET /answer-then-throw HTTP/1.1\r\nHost: x\r\n\r\n"
          "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("GET /answer-then-throw"), std::string::npos) << out;
  EXPECT_EQ(out.find("500"), std::string::npos) << out;
  EXPECT_NE(out.find("GET /b"), std::string::npos) << out;
  EXPECT_EQ(Get("/after").result_int(), 200);
}

TEST_F(HttpServerTest, KeepsConnectionsAlive) {
  std::string out =
      Raw("GET /a HTTP/1.1\r\nHost: x\r\nX-Test: one\r\n\r\n"
          "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: "
          "close\r\n\r\nabc");
  EXPECT_NE(out.find("GET /a q= len=0 x=one"), std::string::npos) << out;
  EXPECT_NE(out.find("POST /b q= len=3 x="), std::string::npos) << out;
}

// A body over the limit is refused from its Content-Length, before it is read.
TEST_F(HttpServerTest, RefusesOversizedBodyWith413) {
  std::string out =
      Raw("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
  EXPECT_NE(out.find("\"error\""), std::string::npos);
  // A chunked body that grows past the limit is refused too.
  std::string chunk(1500, 'a');
  out =
      Raw("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
          "chunked\r\n\r\n5dc\r\n" +
          chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out.substr(0, 100);
}

TEST_F(HttpServerTest, RefusesHugeHeadersWith431) {
  std::string out =
      Raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(5000, 'h') +
          "\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out.substr(0, 100);
}

TEST_F(HttpServerTest, GarbageIs400) {
  std::string out = Raw("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
}

// curl sends Expect: 100-continue for uploads; the server says continue.
TEST_F(HttpServerTest, HonoursExpectContinue) {
  net::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect({net::ip::make_address("127.0.0.1"),
                static_cast<unsigned short>(server_->port())});
  net::write(sock, net::buffer(std::string(
                       "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: "
                       "4\r\nExpect: 100-continue\r\n\r\n")));
  char buf[256];
  size_t n = sock.read_some(net::buffer(buf));
  EXPECT_EQ(std::string(buf, n).rfind("HTTP/1.1 100 Continue", 0), 0u);
  net::write(sock, net::buffer(std::string("body")));
  std::string rest;
  beast::error_code ec;
  while (rest.find("len=4") == std::string::npos && !ec) {
    n = sock.read_some(net::buffer(buf), ec);
    rest.append(buf, n);
  }
  EXPECT_NE(rest.find("POST /up q= len=4"), std::string::npos) << rest;
}

// A client that sends half a request and stalls is dropped at the timeout.
TEST_F(HttpServerTest, SlowClientTimesOut) {
  server_.reset();
  HttpServer::Options o;
  o.read_timeout = std::chrono::milliseconds(200);
  StartServer(o);
  auto t0 = std::chrono::steady_clock::now();
  std::string out = Raw("GET / HTTP/1.1\r\nHost", 3000);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(out, "");
  EXPECT_LT(took, std::chrono::milliseconds(
                      2500));  // closed, not left to our 3 s limit
}

// Stop lets an in-flight request finish before closing.
TEST_F(HttpServerTest, StopDrainsInFlightRequests) {
  auto pending = std::async(std::launch::async, [&] { return Get("/slow"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server_->Stop(std::chrono::seconds(5));
  auto res = pending.get();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "GET /slow q= len=0 x=");
  EXPECT_FALSE(res.keep_alive());
}

TEST(HttpServerStartTest, PortInUseIsUnavailable) {
  EchoHandler h;
  HttpServer::Options o;
  o.address = "127.0.0.1";
  o.port = 0;
  auto a = HttpServer::Start(o, &h);
  ASSERT_TRUE(a.ok());
  o.port = (*a)->port();
  auto b = HttpServer::Start(o, &h);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kUnavailable);
  o.address = "not-an-ip";
  EXPECT_EQ(HttpServer::Start(o, &h).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spatial::serving::http
