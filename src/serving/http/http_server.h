// HttpServer: the HTTP/1.1 adapter of pizza-api-spatial on Boost.Beast/Asio.
// Keep-alive, TCP_NODELAY, limits on header and body size (413 past the body
// limit), a cap on connections, read timeouts against slow clients, and a
// graceful stop (stop accepting, let in-flight requests finish). Requests go
// to a RequestHandler that answers asynchronously, from any thread, exactly
// once. Thread-safe: Start/Stop from any thread; handlers run on I/O threads.
#ifndef SPATIAL_SERVING_HTTP_HTTP_SERVER_H_
#define SPATIAL_SERVING_HTTP_HTTP_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace spatial::serving::http {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string, percent-decoding not applied
  std::string query;   // after '?', raw
  std::vector<std::pair<std::string, std::string>>
      headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using Responder = std::function<void(HttpResponse)>;

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Must call `respond` exactly once, from any thread, now or later.
  virtual void Handle(HttpRequest request, Responder respond) = 0;
};

class HttpServer {
 public:
  struct Options {
    std::string address = "0.0.0.0";
    int port = 8001;  // 0 = any free port (see port())
    int io_threads = 2;
    size_t max_body_bytes =
        10 * 1024 * 1024 + 64 * 1024;  // 10 MB upload + form overhead
    size_t max_header_bytes = 16 * 1024;
    int max_connections = 4096;
    std::chrono::milliseconds read_timeout{
        30000};  // per request, headers and body
    std::chrono::milliseconds idle_timeout{
        60000};  // between keep-alive requests
  };

  // Binds, listens and starts the I/O threads. Unavailable when the port is
  // taken; InvalidArgument for a bad address.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const Options& options, RequestHandler* handler);
  ~HttpServer();

  int port() const;
  // Stops accepting, waits up to `drain` for in-flight requests, then closes
  // every connection and joins the I/O threads. Idempotent.
  void Stop(std::chrono::milliseconds drain = std::chrono::milliseconds(10000));
  // Blocks until Stop() has finished.
  void Wait();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace spatial::serving::http

#endif  // SPATIAL_SERVING_HTTP_HTTP_SERVER_H_
