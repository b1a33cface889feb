// ServeChild: a real `spatial serve` child process for the serving benchmarks
// (bench/serve_vs_engine.cc, bench/swap_under_load.cc): a base::Subprocess
// on 127.0.0.1 port 0, its port read from --port-file, its readiness
// polled every millisecond so that the ready time is measured from the fork,
// and its memory read from /proc/PID/status. Plus the small helpers both
// benchmarks share (a blocking HTTP GET over base::HttpFetch, the machine's
// load). Not thread-safe, except Get() and StatusKb(), which any thread may
// call.
#ifndef SPATIAL_BENCH_SERVE_CHILD_H_
#define SPATIAL_BENCH_SERVE_CHILD_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "src/base/subprocess.h"

namespace spatial::bench {

using Clock = std::chrono::steady_clock;

struct HttpAnswer {
  int status = 0;  // 0: no answer
  std::string body;
};

// GET http://127.0.0.1:PORT/PATH on a fresh connection, 5 s timeout.
HttpAnswer Get(int port, const std::string& path);

// utime + stime in seconds of process `pid`; 0: this process; -1: its
// waited-for children (getrusage RUSAGE_CHILDREN).
double CpuSeconds(pid_t pid);

// From a Prometheus text exposition (/metrics): the largest sample of
// `name` (e.g. a gauge per model), and a histogram's mean (_sum / _count).
double MetricMax(const std::string& metrics, const std::string& name);
double HistogramMean(const std::string& metrics, const std::string& name);
// A histogram's _sum and _count over the series whose labels contain
// `labels` (e.g. `endpoint="/classify"`; "" for all of them).
struct HistogramTotals {
  double sum = 0, count = 0;
};
HistogramTotals Histogram(const std::string& metrics, const std::string& name,
                          const std::string& labels = "");

// A fresh directory $TMPDIR/PREFIX.XXXXXX, removed with all it holds when
// this object goes. Exits 2 (the benchmarks' "could not run") when it cannot
// be made.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// "2.31 2.10 1.95" from /proc/loadavg.
std::string LoadAverage();

// Runs argv (argv[0] a path) to completion with stdout and stderr appended to
// `log`; its exit code (128 + signal if killed, -1 if it could not start).
int RunToLog(const std::vector<std::string>& argv, const std::string& log);
// The same with stdout to /dev/null and stderr left on the caller's.
int RunQuiet(const std::vector<std::string>& argv);

class ServeChild {
 public:
  // Starts `binary serve --address 127.0.0.1 --port 0 --port-file F ARGS...`
  // in `cwd`, stdout and stderr to `log_file`. started() is taken just
  // before the fork.
  ServeChild(const std::string& binary, const std::vector<std::string>& args,
             const std::string& cwd, const std::string& log_file);
  ~ServeChild();  // SIGTERM, then SIGKILL after 10 s
  ServeChild(const ServeChild&) = delete;
  ServeChild& operator=(const ServeChild&) = delete;

  // Polls /v2/health/ready every millisecond until it answers 200; false on
  // timeout or if the child exited. ready_ms() is then fork -> first 200.
  bool WaitReady(std::chrono::milliseconds timeout);
  double ready_ms() const { return ready_ms_; }
  // The server's own figure: N in its "(N ms after start)" line; -1 if none.
  double LoggedReadyMs() const;

  // A field of /proc/PID/status in kB (VmRSS, VmHWM); -1 if unavailable.
  int64_t StatusKb(const char* field) const;
  // SIGTERM and wait; the exit code, -1 on timeout.
  int Terminate(std::chrono::milliseconds timeout);

  int port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  std::string Log() const;

 private:
  base::Subprocess process_;
  int port_ = 0;
  Clock::time_point started_;
  double ready_ms_ = -1;
  std::string port_file_, log_file_;
};

}  // namespace spatial::bench

#endif  // SPATIAL_BENCH_SERVE_CHILD_H_
