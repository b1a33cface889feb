// HttpServer's Boost.Beast sessions and acceptor (see http_server.h). The
// answers the adapter gives itself (body over the limit, headers too large,
// malformed request, a handler that threw) go through the one Status -> HTTP
// mapping of status_mapping.h, like every handler's. Thread-safe: each
// Session runs on its strand; Impl's counters are atomics or under its mutex.
#include "src/serving/http/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cerrno>
#include <condition_variable>
#include <iostream>
#include <map>
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

namespace {
class Session;
// Descriptors kept for what is not a connection (model files, the
// registry, logs) when the connection cap is fitted to RLIMIT_NOFILE.
constexpr int kReservedFds = 64;
// How long a connection that has not sent its first request is waited for
// once the server stops.
constexpr std::chrono::milliseconds kStopGrace{1000};
// Pause before accepting again when the process is out of descriptors.
constexpr std::chrono::milliseconds kAcceptRetry{50};
}  // namespace

struct HttpServer::Impl {
  Options options;
  RequestHandler* handler = nullptr;
  std::atomic<int> connections{0};
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
  int max_connections = 0;  // options' cap, lowered to fit RLIMIT_NOFILE
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  bool listener_closed = false;  // guarded by mu
  int port = 0;
  // Sessions waiting for their client's bytes (a request's header or body),
  // by when they began to wait: the oldest is closed first when descriptors
  // run short, and Stop() closes the idle ones.
  std::mutex waiting_mu;
  uint64_t next_wait = 1;                              // waiting_mu
  std::map<uint64_t, std::weak_ptr<Session>> waiting;  // waiting_mu
  // Declared after everything a session touches when it is destroyed
  // (SessionGone, StopWaiting): ~io_context destroys the handlers still
  // queued, and with them the last sessions, so it must run first.
  net::io_context ioc;
  // Keeps run() going while a handler holds a request with no I/O pending.
  net::executor_work_guard<net::io_context::executor_type> work{
      ioc.get_executor()};
  // On a strand: Stop() drains the backlog there while accepts complete.
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer accept_retry{acceptor.get_executor()};
  std::vector<std::thread> threads;

  void Accept();
  void StartSession(tcp::socket socket);
  // Closes the session that has waited longest for its client; false when
  // none waits.
  bool EvictOldestWaiting();
  void DrainBacklogAndClose();
  void SessionGone() {
    if (--connections == 0 && stopping) {
      std::lock_guard<std::mutex> lock(mu);
      cv.notify_all();
    }
  }
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
  ~Session() {
    StopWaiting();
    impl_->SessionGone();
  }

  void Start() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->ReadHeader(); });
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

  // On the session's strand, from EvictOldestWaiting: closes it if it still
  // waits for its client.
  void Evict() {
    if (wait_key_ != 0) Close();
  }

  // On the session's strand, from Stop(): a keep-alive connection between
  // requests is closed (unless its next request has begun to arrive); one
  // that has not sent its first request gets kStopGrace to do so; one in
  // the middle of a request finishes it.
  void OnStop() {
    if (wait_key_ == 0 || !in_header_) return;
    beast::error_code ec;
    const bool has_bytes =
        buffer_.size() > 0 || stream_.socket().available(ec) > 0;
    if (!first_request_ && !has_bytes) return Close();
    stream_.expires_after(std::min<std::chrono::milliseconds>(
        kStopGrace, impl_->options.read_timeout));
  }

 private:
  void StartWaiting() {
    if (wait_key_ != 0) return;
    std::lock_guard<std::mutex> lock(impl_->waiting_mu);
    wait_key_ = impl_->next_wait++;
    impl_->waiting.emplace(wait_key_, weak_from_this());
  }
  void StopWaiting() {
    if (wait_key_ == 0) return;
    std::lock_guard<std::mutex> lock(impl_->waiting_mu);
    impl_->waiting.erase(wait_key_);
    wait_key_ = 0;
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(
        static_cast<std::uint32_t>(impl_->options.max_header_bytes));
    parser_->body_limit(impl_->options.max_body_bytes);
    first_request_ = first_;
    stream_.expires_after(first_ ? impl_->options.read_timeout
                                 : impl_->options.idle_timeout);
    first_ = false;
    in_header_ = true;
    StartWaiting();
    if (impl_->stopping) {
      OnStop();
      if (!stream_.socket().is_open()) return;
    }
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) {
          self->OnHeader(ec);
        });
  }

  void OnHeader(beast::error_code ec) {
    in_header_ = false;
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
    StopWaiting();
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
    StopWaiting();
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
    StopWaiting();
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
  bool first_request_ = true;  // the request being read is the first
  bool in_header_ = false;     // reading a request's header
  uint64_t wait_key_ = 0;      // in impl_->waiting while waiting for bytes
};

}  // namespace

void HttpServer::Impl::StartSession(tcp::socket socket) {
  // Past the cap, the connection that has waited longest for its client
  // makes room (idle and stalled clients go before a new one is refused).
  if (connections >= max_connections && !EvictOldestWaiting()) {
    beast::error_code ignored;
    socket.close(ignored);
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::make_shared<Session>(std::move(socket), this)->Start();
}

bool HttpServer::Impl::EvictOldestWaiting() {
  for (;;) {
    std::shared_ptr<Session> oldest;
    {
      std::lock_guard<std::mutex> lock(waiting_mu);
      if (waiting.empty()) return false;
      oldest = waiting.begin()->second.lock();
      waiting.erase(waiting.begin());
    }
    if (!oldest) continue;
    net::post(oldest->executor(), [oldest] { oldest->Evict(); });
    return true;
  }
}

void HttpServer::Impl::Accept() {
  acceptor.async_accept(
      net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
        // Accepted before the listener closed: still a client to answer.
        if (!ec) StartSession(std::move(socket));
        if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
        if (ec == net::error::no_descriptors || ec.value() == ENFILE ||
            ec == net::error::no_buffer_space || ec == net::error::no_memory) {
          // Out of descriptors: free one and pause, rather than spin on a
          // backlog that cannot be accepted.
          EvictOldestWaiting();
          accept_retry.expires_after(kAcceptRetry);
          accept_retry.async_wait([this](beast::error_code wec) {
            if (!wec && acceptor.is_open()) Accept();
          });
          return;
        }
        Accept();
      });
}

void HttpServer::Impl::DrainBacklogAndClose() {
  // Connections the kernel completed before the stop are the clients'
  // accepted requests: take them (each session reads its request and
  // answers with Connection: close) before closing the listener, which
  // would reset them.
  beast::error_code ec;
  acceptor.non_blocking(true, ec);
  while (!ec) {
    tcp::socket socket(net::make_strand(ioc));
    acceptor.accept(socket, ec);
    if (!ec) StartSession(std::move(socket));
  }
  accept_retry.cancel();
  acceptor.close(ec);
  std::lock_guard<std::mutex> lock(mu);
  listener_closed = true;
  cv.notify_all();
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
  impl->max_connections = options.max_connections;
  if (struct rlimit fds;
      ::getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur != RLIM_INFINITY) {
    const int limit = static_cast<int>(fds.rlim_cur);
    impl->max_connections =
        std::max(1, std::min(impl->max_connections,
                             std::max(limit - kReservedFds, limit / 2)));
  }
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
  Impl* p = impl_.get();
  net::post(p->acceptor.get_executor(), [p] { p->DrainBacklogAndClose(); });
  {
    std::vector<std::shared_ptr<Session>> waiting;
    {
      std::lock_guard<std::mutex> lock(p->waiting_mu);
      for (const auto& [key, weak] : p->waiting) {
        if (auto s = weak.lock()) waiting.push_back(std::move(s));
      }
    }
    for (auto& s : waiting) net::post(s->executor(), [s] { s->OnStop(); });
  }
  // Every connection ends once its request is answered (answers say
  // Connection: close now); the listener's end is awaited too.
  {
    std::unique_lock<std::mutex> lock(p->mu);
    p->cv.wait_for(lock, drain, [&] {
      return p->listener_closed && p->connections.load() == 0 &&
             p->in_flight.load() == 0;
    });
  }
  p->work.reset();
  p->ioc.stop();
  for (auto& t : p->threads) {
    if (t.joinable()) t.join();
  }
  std::lock_guard<std::mutex> lock(p->mu);
  p->stopped = true;
  p->cv.notify_all();
}

void HttpServer::Wait() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [&] { return impl_->stopped; });
}

}  // namespace spatial::serving::http
