#include "src/loadtest/http/fixture_server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http.hpp"
#include "src/loadtest/http/worker.h"

namespace spatial::loadtest::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class FixtureServer::Impl {
 public:
  explicit Impl(FixtureServer* server) : server_(server), acceptor_(ctx_) {}

  absl::Status Listen() {
    error_code ec;
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return absl::InternalError(
          absl::StrCat("fixture listen: ", ec.message()));
    server_->port_ = acceptor_.local_endpoint().port();
    Accept();
    return absl::OkStatus();
  }
  void Run() { ctx_.run(); }
  void Stop() { ctx_.stop(); }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(Impl* owner, tcp::socket s)
        : impl(owner), socket(std::move(s)), timer(socket.get_executor()) {}
    Impl* impl;
    tcp::socket socket;
    asio::steady_timer timer;
    boost::beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> request;
    bhttp::response<bhttp::string_body> response;
    int64_t read_ns = 0;

    void Read() {
      request = {};
      bhttp::async_read(socket, buffer, request,
                        [self = shared_from_this()](error_code ec, size_t) {
                          if (!ec) self->OnRequest();
                        });
    }
    void OnRequest() {
      FixtureServer* s = impl->server_;
      read_ns = NowNs();
      uint64_t seq = s->seq_.fetch_add(1);
      int64_t due = read_ns;
      if (s->options_.delay)
        due += absl::ToInt64Nanoseconds(s->options_.delay(seq));
      int64_t stall_start = s->stall_start_ns_.load();
      int64_t stall_end = s->stall_end_ns_.load();
      if (due >= stall_start && due < stall_end) due = stall_end;
      {
        std::lock_guard<std::mutex> lock(s->mu_);
        s->last_type_ = std::string(request[bhttp::field::content_type]);
        s->last_body_size_ = request.body().size();
      }
      timer.expires_at(
          asio::steady_timer::time_point(std::chrono::nanoseconds(due)));
      timer.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->Answer();
      });
    }
    void Answer() {
      FixtureServer* s = impl->server_;
      {
        std::lock_guard<std::mutex> lock(s->mu_);
        s->held_ns_.push_back(NowNs() - read_ns);
      }
      response = {};
      response.result(static_cast<unsigned>(s->options_.status));
      response.version(11);
      response.set(bhttp::field::content_type, "text/plain");
      response.body() = "ok\n";
      response.keep_alive(request.keep_alive() && !s->options_.close_each);
      response.prepare_payload();
      bhttp::async_write(
          socket, response, [self = shared_from_this()](error_code ec, size_t) {
            if (ec) return;
            if (!self->response.keep_alive()) {
              error_code ignored;
              self->socket.shutdown(tcp::socket::shutdown_send, ignored);
              return;
            }
            self->Read();
          });
    }
  };

  void Accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec) return;
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(this, std::move(socket))->Read();
      Accept();
    });
  }

  FixtureServer* server_;
  asio::io_context ctx_;
  tcp::acceptor acceptor_;
};

absl::StatusOr<std::unique_ptr<FixtureServer>> FixtureServer::Start(
    FixtureOptions options) {
  std::unique_ptr<FixtureServer> server(new FixtureServer());
  server->options_ = std::move(options);
  server->impl_ = std::make_unique<Impl>(server.get());
  absl::Status s = server->impl_->Listen();
  if (!s.ok()) return s;
  for (int i = 0; i < std::max(1, server->options_.threads); ++i) {
    server->threads_.emplace_back(
        [impl = server->impl_.get()] { impl->Run(); });
  }
  return server;
}

FixtureServer::~FixtureServer() {
  impl_->Stop();
  for (std::thread& t : threads_) t.join();
}

std::string FixtureServer::Url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

void FixtureServer::ScheduleStall(absl::Duration after, absl::Duration length) {
  int64_t start = NowNs() + absl::ToInt64Nanoseconds(after);
  stall_end_ns_.store(0);
  stall_start_ns_.store(start);
  stall_end_ns_.store(start + absl::ToInt64Nanoseconds(length));
}

std::vector<int64_t> FixtureServer::HeldNs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_ns_;
}

std::pair<std::string, size_t> FixtureServer::LastRequestBody() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {last_type_, last_body_size_};
}

}  // namespace spatial::loadtest::http
