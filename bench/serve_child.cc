// ServeChild and the benchmarks' helpers (see serve_child.h): the child is a
// base::Subprocess, requests go through base::HttpFetch. Not thread-safe,
// except Get() and StatusKb().
#include "bench/serve_child.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "src/base/files.h"
#include "src/base/http_client.h"

namespace spatial::bench {

HttpAnswer Get(int port, const std::string& path) {
  HttpAnswer a;
  auto reply = base::HttpFetch(port, path, {.timeout = absl::Seconds(5)});
  if (!reply.ok()) return a;
  a.status = reply->status;
  a.body = std::move(reply->body);
  return a;
}

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

double CpuSeconds(pid_t pid) {
  if (pid < 0) {
    rusage u{};
    getrusage(RUSAGE_CHILDREN, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  if (pid == 0) {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), {});
  auto close = all.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(all.substr(close + 2), ' ');
  // Fields after "(comm) ": state is index 0; utime, stime are 11 and 12.
  if (fields.size() < 13) return 0;
  return static_cast<double>(std::atoll(fields[11].c_str()) +
                             std::atoll(fields[12].c_str())) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Largest value of a Prometheus metric's samples (e.g. a gauge per model).
double MetricMax(const std::string& metrics, const std::string& name) {
  double best = 0;
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::StartsWith(line, name + "{") &&
        !absl::StartsWith(line, name + " "))
      continue;
    double v = 0;
    auto sp = line.rfind(' ');
    if (sp != absl::string_view::npos &&
        absl::SimpleAtod(line.substr(sp + 1), &v))
      best = std::max(best, v);
  }
  return best;
}

// Mean of a Prometheus histogram from its _sum and _count lines.
HistogramTotals Histogram(const std::string& metrics, const std::string& name,
                          const std::string& labels) {
  HistogramTotals t;
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    auto value = [&] {
      double v = 0;
      auto sp = line.rfind(' ');
      if (sp != absl::string_view::npos)
        (void)absl::SimpleAtod(line.substr(sp + 1), &v);
      return v;
    };
    if (!labels.empty() && !absl::StrContains(line, labels)) continue;
    if (absl::StartsWith(line, name + "_sum")) t.sum += value();
    if (absl::StartsWith(line, name + "_count")) t.count += value();
  }
  return t;
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / (prefix + ".XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "%s: cannot make a directory %s: %s\n", prefix.c_str(),
                 tmpl.c_str(), std::strerror(errno));
    std::exit(2);
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

double HistogramMean(const std::string& metrics, const std::string& name) {
  HistogramTotals t = Histogram(metrics, name);
  return t.count > 0 ? t.sum / t.count : 0;
}

namespace {

// stdout and stderr appended to `log`.
base::SpawnOptions ToLog(const std::string& log, const std::string& cwd) {
  base::SpawnOptions o;
  o.cwd = cwd;
  o.out = base::Redirect::Append(log);
  o.err = base::Redirect::SameAsStdout();
  return o;
}

}  // namespace

int RunToLog(const std::vector<std::string>& argv, const std::string& log) {
  auto run =
      base::RunSubprocess(argv, ToLog(log, ""), absl::InfiniteDuration());
  return run.ok() ? run->exit.code : -1;
}

int RunQuiet(const std::vector<std::string>& argv) {
  base::SpawnOptions quiet;
  quiet.out = base::Redirect::Null();
  auto run = base::RunSubprocess(argv, quiet, absl::InfiniteDuration());
  return run.ok() ? run->exit.code : -1;
}

ServeChild::ServeChild(const std::string& binary,
                       const std::vector<std::string>& args,
                       const std::string& cwd, const std::string& log_file)
    : log_file_(log_file) {
  port_file_ = log_file + ".port";
  std::filesystem::remove(port_file_);
  std::vector<std::string> argv = {binary,        "serve",   "--address",
                                   "127.0.0.1",   "--port",  "0",
                                   "--port-file", port_file_};
  argv.insert(argv.end(), args.begin(), args.end());
  started_ = Clock::now();
  auto child = base::Subprocess::Spawn(argv, ToLog(log_file, cwd));
  if (child.ok()) process_ = std::move(*child);
}

ServeChild::~ServeChild() {
  if (process_.pid() > 0) process_.Stop(absl::Seconds(10));
  std::filesystem::remove(port_file_);
}

bool ServeChild::WaitReady(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!process_.Running()) return false;
    if (port_ == 0) {
      std::ifstream f(port_file_);
      if (!(f >> port_)) port_ = 0;
    }
    if (port_ != 0 && Get(port_, "/v2/health/ready").status == 200) {
      ready_ms_ =
          std::chrono::duration<double, std::milli>(Clock::now() - started_)
              .count();
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

double ServeChild::LoggedReadyMs() const {
  static const std::regex kLine(R"(\((\d+) ms after start\))");
  std::smatch m;
  std::string log = Log();
  if (!std::regex_search(log, m, kLine)) return -1;
  return std::stod(m[1].str());
}

int64_t ServeChild::StatusKb(const char* field) const {
  if (process_.pid() <= 0) return -1;
  std::ifstream f("/proc/" + std::to_string(process_.pid()) + "/status");
  std::string line, key = std::string(field) + ":";
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) return std::atoll(line.c_str() + key.size());
  }
  return -1;
}

int ServeChild::Terminate(std::chrono::milliseconds timeout) {
  if (process_.pid() <= 0) return -1;
  process_.Signal(SIGTERM);
  auto exit = process_.Wait(absl::FromChrono(timeout));
  return exit.has_value() ? exit->code : -1;
}

std::string ServeChild::Log() const {
  return base::ReadFile(log_file_).value_or("");
}

}  // namespace spatial::bench
