// The I/O half of Worker: connecting, writing a request, reading and parsing
// its answer, and what happens when a request completes or fails.
#include <chrono>
#include <limits>

#include "boost/beast/http/error.hpp"
#include "src/loadtest/http/connection.h"
#include "src/loadtest/http/worker.h"

namespace spatial::loadtest::http {
namespace {

constexpr size_t kReadChunk = size_t{64} * 1024;
constexpr int64_t kConnectRetryNs =
    10'000'000;  // no busy loop on a refused port

bool WouldBlock(const error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

void Worker::Connect(Conn& c) {
  c.socket.async_connect(
      plan_->endpoint, [this, &c, gen = c.gen](error_code ec) {
        if (gen != c.gen || finished_) return;
        if (!ec) {
          c.socket.set_option(tcp::no_delay(true), ec);
          if (!ec) c.socket.non_blocking(true, ec);
        }
        if (ec) {
          if (c.busy) {
            Fail(c, ErrorKind::kConnect);
          } else {
            error_code ignored;
            c.socket.close(ignored);
            ++c.gen;
            idle_.push_back(&c);  // reconnects when it is next used
          }
          return;
        }
        c.connected = true;
        c.buffer.clear();
        if (c.busy) {
          Write(c);
        } else {
          idle_.push_back(&c);
        }
      });
}

void Worker::Write(Conn& c) {
  if (c.written == 0) {
    if (plan_->mode == LoopMode::kOpen) {
      c.late = NowNs() - c.origin_ns > plan_->late_tolerance_ns;
    }
    c.parser.emplace();
    c.parser->eager(true);
    // Not boost::none: Beast 1.74 compares a Content-Length with the optional
    // and an empty optional then fails every response with body_limit.
    c.parser->body_limit(std::numeric_limits<std::uint64_t>::max());
  }
  const std::string& req = *c.request;
  while (c.written < req.size()) {
    error_code ec;
    size_t n = c.socket.write_some(
        asio::buffer(req.data() + c.written, req.size() - c.written), ec);
    if (WouldBlock(ec)) {
      c.socket.async_wait(tcp::socket::wait_write,
                          [this, &c, gen = c.gen](error_code wec) {
                            if (gen != c.gen) return;
                            if (wec) {
                              Fail(c, ErrorKind::kRead);
                            } else {
                              Write(c);
                            }
                          });
      return;
    }
    if (ec) {
      Fail(c, ErrorKind::kRead);
      return;
    }
    c.written += n;
  }
  c.written = 0;
  WaitRead(c);
}

void Worker::WaitRead(Conn& c) {
  // async_read_some rather than async_wait + read: after a read that drained
  // the socket Asio queues the next one without a syscall, while every
  // async_wait re-arms the descriptor with an epoll_ctl.
  c.socket.async_read_some(c.buffer.prepare(kReadChunk),
                           [this, &c, gen = c.gen](error_code ec, size_t n) {
                             if (gen == c.gen) OnRead(c, ec, n);
                           });
}

void Worker::OnRead(Conn& c, error_code ec, size_t n) {
  if (ec == asio::error::eof && c.parser->is_header_done()) {
    // A body delimited by the end of the connection.
    error_code eof_ec;
    c.parser->put_eof(eof_ec);
    if (!eof_ec && c.parser->is_done()) {
      Complete(c, c.parser->status(), false, c.parser->cache());
      return;
    }
  }
  if (ec) {
    Fail(c, ErrorKind::kRead);
    return;
  }
  c.buffer.commit(n);
  while (c.buffer.size() > 0 && !c.parser->is_done()) {
    size_t used = c.parser->put(c.buffer.data(), ec);
    c.buffer.consume(used);
    if (ec == bhttp::error::need_more) break;
    if (ec) {
      Fail(c, ErrorKind::kRead);
      return;
    }
    if (used == 0) break;
  }
  if (c.parser->is_done()) {
    Complete(c, c.parser->status(), c.parser->keep_alive(), c.parser->cache());
  } else {
    WaitRead(c);
  }
}

void Worker::Complete(Conn& c, int status, bool keep_alive, CacheMark cache) {
  Record(c.origin_ns, c.late, status, std::nullopt, NowNs(), cache);
  c.busy = false;
  --busy_;
  if (!keep_alive) {
    error_code ignored;
    c.socket.close(ignored);
    c.connected = false;
    ++c.gen;
  }
  Released(c);
}

void Worker::Fail(Conn& c, ErrorKind kind) {
  if (c.busy) {
    Record(c.origin_ns, c.late, 0, kind, NowNs());
    c.busy = false;
    --busy_;
  }
  error_code ignored;
  c.socket.close(ignored);
  c.connected = false;
  c.written = 0;
  c.buffer.clear();
  ++c.gen;
  if (finished_) return;
  if (kind == ErrorKind::kConnect && plan_->mode == LoopMode::kClosed) {
    c.retry.expires_after(std::chrono::nanoseconds(kConnectRetryNs));
    c.retry.async_wait([this, &c](error_code ec) {
      if (!ec && !finished_) Released(c);
    });
    return;
  }
  Released(c);
}

}  // namespace spatial::loadtest::http
