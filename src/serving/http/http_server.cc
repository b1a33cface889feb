// HttpServer's Boost.Beast sessions and acceptor (see http_server.h). The
// answers the adapter gives itself (body over the limit, headers too large,
// malformed request, a handler that threw) go through the one Status -> HTTP
// mapping of status_mapping.h, like every handler's. Thread-safe: each
// Session runs on its strand; Impl's counters are atomics or under its mutex.
#include "src/serving/http/http_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "src/serving/http/status_mapping.h"

namespace spatial::serving::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string HttpRequest::Header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return "";
}

struct HttpServer::Impl {
  Options options;
  RequestHandler* handler = nullptr;
  net::io_context ioc;
  // Keeps run() going while a handler holds a request with no I/O pending.
  net::executor_work_guard<net::io_context::executor_type> work{
      ioc.get_executor()};
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::atomic<int> connections{0};
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  int port = 0;

  void Accept();
  void FinishRequest() {
    if (--in_flight == 0) {
      std::lock_guard<std::mutex> lock(mu);
      cv.notify_all();
    }
  }
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* impl)
      : stream_(std::move(socket)), impl_(impl) {
    ++impl_->connections;
  }
  ~Session() { --impl_->connections; }

  void Start() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->ReadHeader(); });
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(impl_->options.max_header_bytes));
    parser_->body_limit(impl_->options.max_body_bytes);
    stream_.expires_after(first_ ? impl_->options.read_timeout
                                 : impl_->options.idle_timeout);
    first_ = false;
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) {
          self->OnHeader(ec);
        });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    auto& req = parser_->get();
    // Refuse an oversized body before reading it.
    if (auto len = parser_->content_length();
        len && *len > impl_->options.max_body_bytes) {
      return Reply(absl::OutOfRangeError(absl::StrCat(
                       "the request body is ", *len, " bytes; the limit is ",
                       impl_->options.max_body_bytes)),
                   false);
    }
    stream_.expires_after(impl_->options.read_timeout);
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(
          bhttp::status::continue_, req.version());
      bhttp::async_write(stream_, *cont,
                         [self = shared_from_this(), cont](
                             beast::error_code wec, std::size_t) {
                           if (wec) return self->Close();
                           self->ReadBody();
                         });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) {
          self->OnRead(ec);
        });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset ||
        ec == net::error::operation_aborted) {
      return Close();
    }
    // The stream's timer has closed the socket already: nothing can be sent.
    if (ec == beast::error::timeout) return Close();
    if (ec == bhttp::error::body_limit) {
      return Reply(absl::OutOfRangeError(
                       absl::StrCat("the request body is larger than ",
                                    impl_->options.max_body_bytes, " bytes")),
                   false);
    }
    if (ec == bhttp::error::header_limit) {
      return Reply(WithHttpStatus(absl::ResourceExhaustedError(
                                      "the request headers are too large"),
                                  431),
                   false);
    }
    Reply(absl::InvalidArgumentError(
              absl::StrCat("malformed HTTP request: ", ec.message())),
          false);
  }

  void OnRead(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    bhttp::request<bhttp::string_body> req = parser_->release();
    HttpRequest r;
    r.method = std::string(req.method_string());
    std::string target(req.target());
    auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    for (const auto& field : req) {
      r.headers.emplace_back(
          absl::AsciiStrToLower(std::string(field.name_string())),
          std::string(field.value()));
    }
    r.body = std::move(req.body());
    bool keep_alive = req.keep_alive() && !impl_->stopping;
    version_ = req.version();
    ++impl_->in_flight;
    stream_.expires_never();  // the handler may queue; the write sets its own
                              // deadline
    // The handler answers once, now or later from another thread. Should it
    // throw, the connection still gets a 500 (unless it answered already) and
    // the server lives on; a second answer is dropped.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    auto respond = [self = shared_from_this(), keep_alive,
                    answered](HttpResponse resp) {
      if (answered->exchange(true)) return;
      net::post(self->stream_.get_executor(), [self, resp = std::move(resp),
                                               keep_alive]() mutable {
        // A server that began stopping meanwhile closes after this answer.
        self->Write(std::move(resp), keep_alive && !self->impl_->stopping,
                    /*counted=*/true);
      });
    };
    try {
      impl_->handler->Handle(std::move(r), respond);
    } catch (const std::exception& e) {
      std::cerr << "pizza-api-spatial: handler threw: " << e.what() << "\n";
      respond(ErrorResponse(
          absl::InternalError("internal error while handling the request")));
    }
  }

  // The adapter's own refusals: the one error response, then close.
  void Reply(const absl::Status& error, bool keep_alive) {
    Write(ErrorResponse(error), keep_alive, /*counted=*/false);
  }

  void Write(HttpResponse resp, bool keep_alive, bool counted) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(resp.status), version_ ? version_ : 11);
    res->set(bhttp::field::server, "pizza-api-spatial");
    res->set(bhttp::field::content_type, resp.content_type);
    for (const auto& [k, v] : resp.headers) res->set(k, v);
    res->body() = std::move(resp.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(impl_->options.read_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, keep_alive, counted](
                           beast::error_code ec, std::size_t) {
                         if (counted) self->impl_->FinishRequest();
                         if (ec || !keep_alive) return self->Close();
                         self->ReadHeader();
                       });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  HttpServer::Impl* impl_;
  unsigned version_ = 11;
  bool first_ = true;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(
      net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
        if (ec) {
          if (ec == net::error::operation_aborted || stopping) return;
          return Accept();  // e.g. EMFILE: keep serving the connections we have
        }
        if (connections >= options.max_connections) {
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          socket.set_option(tcp::no_delay(true));
          std::make_shared<Session>(std::move(socket), this)->Start();
        }
        Accept();
      });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(std::chrono::milliseconds(0)); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const Options& options, RequestHandler* handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = handler;
  beast::error_code ec;
  auto address = net::ip::make_address(options.address, ec);
  if (ec)
    return absl::InvalidArgumentError(
        absl::StrCat("invalid address '", options.address, "'"));
  tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.address, ":", options.port,
                     ": ", ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->Accept();
  for (int i = 0; i < std::max(1, options.io_threads); ++i) {
    impl->threads.emplace_back([p = impl.get()] { p->ioc.run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::Stop(std::chrono::milliseconds drain) {
  if (impl_->stopping.exchange(true)) {
    Wait();
    return;
  }
  net::post(impl_->ioc, [p = impl_.get()] {
    beast::error_code ignored;
    p->acceptor.close(ignored);
  });
  {
    std::unique_lock<std::mutex> lock(impl_->mu);
    impl_->cv.wait_for(lock, drain,
                       [&] { return impl_->in_flight.load() == 0; });
  }
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->stopped = true;
  impl_->cv.notify_all();
}

void HttpServer::Wait() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return impl_->stopped; });
}

}  // namespace spatial::serving::http
