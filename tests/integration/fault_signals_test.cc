// Faults: the signals a server gets from its supervisor. SIGTERM under load
// (a rolling update): every request the server accepted is answered, none
// is cut, also one whose upload was half-way when the signal came; clients
// that come after are refused, not accepted and dropped. A SIGHUP storm (a
// config tool gone wrong): one or a few registry reloads, not one per
// signal, and no failed request; a signal that lands on a thread the
// server did not start (OpenBLAS's pool) must not kill it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"
#include "src/vision/renderer.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/fault_support.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A connection that sent the first half of a /classify request.
struct HalfSent {
  int fd = -1;
  std::string rest;
};

HalfSent SendHalf(int port, const std::string& request) {
  HalfSent h;
  h.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(h.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "connect: " << errno;
    return h;
  }
  const size_t half = request.size() / 2;
  EXPECT_EQ(::send(h.fd, request.data(), half, MSG_NOSIGNAL),
            static_cast<ssize_t>(half));
  h.rest = request.substr(half);
  return h;
}

// Sends the rest and reads the answer's status line ("" when none).
std::string Finish(HalfSent& h) {
  std::string answer;
  if (::send(h.fd, h.rest.data(), h.rest.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(h.rest.size())) {
    timeval tv{30, 0};
    ::setsockopt(h.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    for (ssize_t n; (n = ::recv(h.fd, buf, sizeof buf, 0)) > 0;) {
      answer.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(h.fd);
  return answer.substr(0, answer.find("\r\n"));
}

TEST(FaultSignalsTest, SigtermUnderLoadAnswersEveryAcceptedRequest) {
  Sandbox box;
  ServerProcess server({"--workers", "1", "--cache-mb", "0"}, SourceDir(),
                       box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  const int port = server.port();
  const std::string request =
      ClassifyRequest(vision::RenderPizza(3, 11, 0, 96).jpeg);

  std::atomic<bool> no_new{false};
  std::atomic<int> ok{0}, refused{0}, cut{0}, after_term{0};
  std::atomic<int64_t> term_at_ns{0};
  std::mutex mu;
  std::string first_cut;
  std::vector<std::thread> clients;
  for (int i = 0; i < 6; ++i) {
    clients.emplace_back([&] {
      for (int n = 0; n < 5000 && !no_new; ++n) {
        RawExchange x = RawRequest(port, request, seconds(30));
        if (x.refused) {
          ++refused;
        } else if (x.status == 200) {
          ++ok;
          const int64_t t = term_at_ns.load();
          if (t != 0 && Clock::now().time_since_epoch().count() > t) {
            ++after_term;
          }
        } else {
          std::lock_guard<std::mutex> lock(mu);
          if (cut++ == 0) first_cut = x.answer.empty() ? "(nothing)" : x.answer;
        }
      }
    });
  }
  // Two uploads half-way when the signal comes.
  HalfSent half[2] = {SendHalf(port, request), SendHalf(port, request)};
  const auto deadline = Clock::now() + seconds(20);
  while (ok < 60 && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  no_new = true;  // clients finish the request they are in, start none
  term_at_ns = Clock::now().time_since_epoch().count();
  ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
  std::this_thread::sleep_for(milliseconds(200));
  const std::string late0 = Finish(half[0]);
  const std::string late1 = Finish(half[1]);
  for (auto& t : clients) t.join();
  const int code = server.Terminate(seconds(30));
  // After the stop, a new client is refused.
  RawExchange after = RawRequest(port, request, seconds(5));

  std::cout << "fault sigterm-under-load: " << ok << " answered (" << after_term
            << " of them after SIGTERM), " << cut << " cut, " << refused
            << " refused; the 2 uploads half-way at SIGTERM: '" << late0
            << "', '" << late1 << "'" << std::endl;
  EXPECT_EQ(cut.load(), 0) << first_cut << "\n" << server.Log();
  EXPECT_EQ(late0, "HTTP/1.1 200 OK") << server.Log();
  EXPECT_EQ(late1, "HTTP/1.1 200 OK") << server.Log();
  EXPECT_EQ(code, 0) << server.Log();
  EXPECT_TRUE(after.refused);
  EXPECT_NE(server.Log().find("stopped"), std::string::npos) << server.Log();
}

TEST(FaultSignalsTest, SighupStormReloadsOnceAndFailsNoRequest) {
  Sandbox box;
  box.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "s1");
  // No polling: only SIGHUP makes it look at the registry.
  ServerProcess server(
      {"--registry", box.registry(), "--environment", "development",
       "--workers", "1", "--poll-registry-s", "0"},
      box.dir(), box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  const int port = server.port();
  Load load({port}, 2, vision::RenderPizza(1, 4, 0, 96).jpeg);
  box.RegisterAndPromote(box.VariantBundle("s2"), "s2");

  // Half at once, half 5 ms apart, so that some arrive while the server
  // loads s2 (its signal loop is busy then).
  constexpr int kSignals = 50;
  for (int i = 0; i < kSignals; ++i) {
    ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
    if (i >= kSignals / 2) std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_TRUE(WaitForLog(server, "serving s2", seconds(20))) << server.Log();
  // The storm is over once /health reports s2 and a SIGHUP sent now is
  // answered ("nothing new"): every earlier one has been handled by then.
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitForLog(server, "nothing new to serve", seconds(20)))
      << server.Log();
  std::this_thread::sleep_for(milliseconds(300));
  load.Stop();
  const std::string log = server.Log();
  const int checks = CountLines(log, "received SIGHUP");
  const int loads = CountLines(log, "serving s2");
  std::cout << "fault sighup-storm: " << kSignals + 1 << " SIGHUPs, " << checks
            << " registry check(s), " << loads << " load(s) of s2; "
            << load.ok() << " requests answered, " << load.failed()
            << " failed, p99 " << load.P99Ms() << " ms" << std::endl;
  EXPECT_EQ(load.failed(), 0) << load.first_failure();
  // One reload: the signals that came during it ask for one check more,
  // which finds nothing new; none is lost (s2 serves) and none kills.
  EXPECT_EQ(loads, 1) << log;
  EXPECT_GE(checks, 2) << log;
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << log;
}

}  // namespace
}  // namespace spatial::integration
