// Fleet: the `spatial serve` processes envtest starts, one per environment,
// each on its own loopback port with its own temporary directory, serving
// signed bundles (see FleetOptions::model_dirs). Every
// server is recorded in a state file (JSON: run_dir, and per server its
// environment, pid, port, port file and log) as soon as it is forked, so that
// `--cleanup-only`, a failure or a signal stops exactly those processes.
//
// Stop() signals only recorded pids whose /proc/PID/cmdline is still our
// `serve` with the recorded port file (a pid the kernel reused for something
// else is left alone): SIGTERM, wait, SIGKILL after the timeout.
//
// Thread-safe: Stop() may run on a signal-watching thread while Start() runs;
// after Stop() began, Start() forks nothing more.
#ifndef SPATIAL_ENVTEST_FLEET_H_
#define SPATIAL_ENVTEST_FLEET_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace spatial::envtest {

struct ServerRecord {
  std::string environment;
  int pid = 0;
  int port = 0;  // 0 until the server wrote its port file
  std::string port_file;
  std::string log;     // the server's stdout and stderr
  bool ready = false;  // answered /v2/health/ready (not in the state file)
};

struct FleetOptions {
  std::string binary;      // the `spatial` executable
  std::string state_file;  // where the servers are recorded
  std::string
      temp_parent;  // parent of the run's temp dir; "" = $TMPDIR or /tmp
  std::vector<std::string> serve_args;  // extra flags for `spatial serve`
  // The bundles to serve (--model-dir each). Those without a model.sig are
  // signed into the run's temp dir with a key made for the run, whose public
  // half every server gets as --trusted-key (security/test_bundles.h): the
  // staging and production servers verify signatures as deployed ones do.
  std::vector<std::string> model_dirs;
  std::vector<std::string> trusted_keys;  // more --trusted-key files
  absl::Duration ready_timeout = absl::Seconds(30);
  absl::Duration stop_timeout = absl::Seconds(10);  // then SIGKILL
  bool detach = false;  // survive envtest (--setup-only); else die with it
};

class Fleet {
 public:
  explicit Fleet(FleetOptions options) : options_(std::move(options)) {}
  // Reads a state file a --setup-only run wrote. NotFound when there is none.
  static absl::StatusOr<std::unique_ptr<Fleet>> Load(FleetOptions options);

  // Starts one server per environment (all at once), then waits for each to
  // answer 200 on /v2/health/ready. Returns environment -> why its server is
  // not ready (empty: all ready; the message ends with the server's log
  // tail). An error status when a process could not be started at all. Either
  // way every server started stays recorded until Stop().
  absl::StatusOr<std::map<std::string, std::string>> Start(
      const std::vector<std::string>& environments);

  // For a loaded fleet: marks ready the servers that are still ours and answer
  // /v2/health/ready; returns environment -> why not for the others.
  std::map<std::string, std::string> Probe();

  // Stops every recorded server, removes the temp dir and the state file.
  // Returns a line per server saying what happened; an error if a server
  // could not be stopped.
  absl::StatusOr<std::vector<std::string>> Stop();

  std::vector<ServerRecord> servers() const;
  const std::string& state_file() const { return options_.state_file; }

 private:
  absl::Status WriteStateLocked() const;
  absl::Status WaitReady(size_t index);

  FleetOptions options_;
  mutable std::mutex mu_;  // std::mutex: Debian's absl is not built for TSan
  std::string run_dir_ ABSL_GUARDED_BY(mu_);
  std::vector<ServerRecord> servers_ ABSL_GUARDED_BY(mu_);
  // --model-dir and --trusted-key flags for every server.
  std::vector<std::string> bundle_args_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

// Whether `pid` is (still) a `spatial serve` with this port file, read from
// /proc/PID/cmdline; false for a zombie or a vanished pid.
bool IsOurServer(int pid, const std::string& port_file);
// Whether the process is gone (no /proc entry, or a zombie).
bool ProcessGone(int pid);

}  // namespace spatial::envtest

#endif  // SPATIAL_ENVTEST_FLEET_H_
