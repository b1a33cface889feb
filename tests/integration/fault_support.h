// Helpers of the fault tests (tests/integration/fault_*_test.cc): a bounded
// /classify load on one or more servers that counts what failed and keeps
// every latency, waiting for a server's log, and a raw one-request client
// that tells a refused connection from one cut after it was accepted.
// Load is thread-safe; the free functions share nothing.
#ifndef SPATIAL_TESTS_INTEGRATION_FAULT_SUPPORT_H_
#define SPATIAL_TESTS_INTEGRATION_FAULT_SUPPORT_H_

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/server_process.h"

namespace spatial::integration {

// `threads` clients, each sending POST /classify (the image `jpeg`, spatial)
// to `ports` in turn, one request per connection, pausing `pause` between
// requests, until Stop() or `max_requests` in all. A request fails unless it
// is answered 200 with JSON.
class Load {
 public:
  Load(std::vector<int> ports, int threads, std::string jpeg,
       std::chrono::milliseconds pause = std::chrono::milliseconds(10),
       int max_requests = 20000);
  ~Load();  // Stop()
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;

  void Stop();  // joins the clients; idempotent

  int ok() const { return ok_.load(); }
  int failed() const { return failed_.load(); }
  std::string first_failure() const;
  // The 99th percentile of the answered requests' latencies, ms.
  double P99Ms() const;

 private:
  void Client(int index);

  const std::vector<int> ports_;
  const std::string jpeg_;
  const std::chrono::milliseconds pause_;
  const int max_requests_;
  std::atomic<bool> stop_{false};
  std::atomic<int> started_{0}, ok_{0}, failed_{0};
  mutable std::mutex mu_;
  std::string first_failure_;         // guarded by mu_
  std::vector<double> latencies_ms_;  // guarded by mu_
  std::vector<std::thread> threads_;
};

// The p-th percentile (0..100) of `values` (0 when empty).
double Percentile(std::vector<double> values, double p);

// Waits until `server`'s log contains `text` (true) or `timeout` passes.
bool WaitForLog(const ServerProcess& server, const std::string& text,
                std::chrono::milliseconds timeout);

// How many lines of `log` contain `text`.
int CountLines(const std::string& log, const std::string& text);

// A multipart /classify body for `jpeg` (spatial model).
std::string ClassifyBody(const std::string& jpeg);

// One request written on a raw socket: what became of it.
struct RawExchange {
  bool refused = false;  // connect() failed: the server took no request
  int status = 0;        // of a complete answer; 0 when none came
  std::string answer;    // everything read
};
// Connects to 127.0.0.1:port, writes `request` (a whole HTTP message)
// and reads until the server closes, up to `timeout`.
RawExchange RawRequest(int port, const std::string& request,
                       std::chrono::milliseconds timeout);
// "POST /classify" with ClassifyBody(jpeg), Connection: close.
std::string ClassifyRequest(const std::string& jpeg);

}  // namespace spatial::integration

#endif  // SPATIAL_TESTS_INTEGRATION_FAULT_SUPPORT_H_
