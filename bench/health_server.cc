// health_server: a minimal Boost.Beast HTTP/1.1 server answering
// GET /health with {"status":"healthy"} (keep-alive, TCP_NODELAY), the fixed
// target of bench/loadgen_vs_wrk.sh: it lets wrk and `spatial bench` be
// compared on a server that costs as little as possible.
//
//   health_server [--port N] [--threads N]   (port 0: any free port)
//
// Prints "listening on 127.0.0.1:PORT" once ready; stops on SIGINT/SIGTERM.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/signal_set.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http.hpp"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : socket_(std::move(socket)) {}

  void Read() {
    request_ = {};
    http::async_read(socket_, buffer_, request_,
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (!ec) self->Answer();
                     });
  }

 private:
  void Answer() {
    response_ = {};
    response_.version(11);
    response_.keep_alive(request_.keep_alive());
    if (request_.target() == "/health") {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "application/json");
      response_.body() = "{\"status\":\"healthy\"}";
    } else {
      response_.result(http::status::not_found);
      response_.set(http::field::content_type, "application/json");
      response_.body() = "{\"error\":\"not found\"}";
    }
    response_.prepare_payload();
    http::async_write(
        socket_, response_, [self = shared_from_this()](error_code ec, size_t) {
          if (ec) return;
          if (!self->response_.keep_alive()) {
            self->socket_.shutdown(tcp::socket::shutdown_send, ec);
            return;
          }
          self->Read();
        });
  }

  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void Accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(socket))->Read();
    }
    Accept(acceptor);
  });
}

int Main(int argc, char** argv) {
  int port = 0;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--port" || a == "--threads") && i + 1 < argc) {
      (a == "--port" ? port : threads) = std::atoi(argv[++i]);
    } else {
      std::cerr << "usage: health_server [--port N] [--threads N]\n";
      return 2;
    }
  }
  if (port < 0 || port > 65535 || threads < 1 || threads > 64) {
    std::cerr << "health_server: --port must be 0..65535 and --threads 1..64\n";
    return 2;
  }
  asio::io_context ctx(threads);
  tcp::acceptor acceptor(ctx);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"),
                   static_cast<uint16_t>(port));
  error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::cerr << "health_server: cannot listen on 127.0.0.1:" << port << ": "
              << ec.message() << "\n";
    return 1;
  }
  asio::signal_set signals(ctx, SIGINT, SIGTERM);
  signals.async_wait([&](error_code, int) { ctx.stop(); });
  Accept(acceptor);
  std::cout << "listening on 127.0.0.1:" << acceptor.local_endpoint().port()
            << std::endl;
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&ctx] { ctx.run(); });
  ctx.run();
  for (std::thread& t : pool) t.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "health_server: " << e.what() << "\n";
    return 1;
  }
}
