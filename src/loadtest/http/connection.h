// Worker::Conn: one keep-alive client connection of a Worker, and the
// response parser it uses. Internal to worker.cc and worker_io.cc; a Conn is
// only touched on its worker's thread.
#ifndef SPATIAL_LOADTEST_HTTP_CONNECTION_H_
#define SPATIAL_LOADTEST_HTTP_CONNECTION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/string.hpp"
#include "boost/beast/http/basic_parser.hpp"
#include "src/loadtest/http/worker.h"

namespace spatial::loadtest::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Parses a response and keeps only its status and the prediction cache
// header: the body is counted and dropped, so that a large answer costs no
// allocation.
class Worker::ResponseParser : public bhttp::basic_parser<false> {
 public:
  int status() const { return status_; }
  // The kPredictionCacheHeader's value: none, "hit" or anything else.
  CacheMark cache() const { return cache_; }

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, beast::string_view, int,
                        error_code&) override {
    status_ = code;
  }
  void on_field_impl(bhttp::field, beast::string_view name,
                     beast::string_view value, error_code&) override {
    if (beast::iequals(name, kPredictionCacheHeader)) {
      cache_ = value == "hit" ? CacheMark::kHit : CacheMark::kMiss;
    }
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&,
                         error_code&) override {}
  size_t on_body_impl(beast::string_view body, error_code&) override {
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view,
                            error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                            error_code&) override {
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  int status_ = 0;
  CacheMark cache_ = CacheMark::kNone;
};

struct Worker::Conn {
  explicit Conn(asio::io_context& ctx) : socket(ctx), retry(ctx) {}
  tcp::socket socket;
  asio::steady_timer retry;
  beast::flat_buffer buffer;
  std::optional<ResponseParser> parser;
  bool connected = false;
  bool busy = false;  // a request is in flight (or being connected for)
  uint64_t gen = 0;  // bumped on close: handlers of older I/O ignore themselves
  const std::string* request = nullptr;
  size_t written = 0;
  int64_t origin_ns = 0;  // latency is measured from here
  int64_t deadline_ns = 0;
  bool late = false;
};

}  // namespace spatial::loadtest::http

#endif  // SPATIAL_LOADTEST_HTTP_CONNECTION_H_
