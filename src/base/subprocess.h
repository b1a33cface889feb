// Subprocess: the one place that forks and execs a program. Owns a child
// started from an argv (argv[0] a path, no shell, no PATH search) with its
// environment, working directory and standard streams as SpawnOptions say,
// and waits for it with a timeout, signals it (or its process group) and
// kills it. A program that cannot be executed (missing, not executable, bad
// working directory) is an error from Spawn naming it, not an exit code.
//
// Thread-safety: Spawn and Run may be called from several threads at once
// (everything the child needs is built before fork(), the child makes only
// async-signal-safe calls, and every descriptor opened here is close-on-exec).
// One Subprocess object is thread-compatible: one thread at a time.
#ifndef SPATIAL_BASE_SUBPROCESS_H_
#define SPATIAL_BASE_SUBPROCESS_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace spatial::base {

// Where one of a child's output streams goes.
struct Redirect {
  enum class Kind {
    kInherit,       // the caller's stream
    kNull,          // /dev/null
    kCapture,       // a pipe read into Subprocess::out() / err()
    kFile,          // `path`, created or truncated
    kAppend,        // `path`, created or appended to
    kSameAsStdout,  // stderr only: wherever stdout goes
  };
  Kind kind = Kind::kInherit;
  std::string path;  // kFile and kAppend
  int mode = 0644;   // of a file kFile or kAppend creates

  static Redirect Inherit() { return {}; }
  static Redirect Null() { return {Kind::kNull, ""}; }
  static Redirect Capture() { return {Kind::kCapture, ""}; }
  static Redirect File(std::string p, int mode = 0644) {
    return {Kind::kFile, std::move(p), mode};
  }
  static Redirect Append(std::string p) {
    return {Kind::kAppend, std::move(p)};
  }
  static Redirect SameAsStdout() { return {Kind::kSameAsStdout, ""}; }
};

struct SpawnOptions {
  std::string cwd;  // the child's working directory; "" = the caller's
  // Set in (or replacing in) the caller's environment for the child.
  std::map<std::string, std::string> env;
  Redirect out;  // stdout; default: the caller's. stdin is always /dev/null.
  Redirect err;  // stderr; default: the caller's
  // The child leads a new process group (Signal, Stop and the destructor
  // then reach the whole group). Default false.
  bool new_process_group = false;
  // The child leads a new session (so a new group as well): a terminal's
  // Ctrl-C reaches only the caller. Default false.
  bool new_session = false;
  // Sent to the child when the thread that spawned it exits (Linux
  // PR_SET_PDEATHSIG); 0 = none (the default).
  int parent_death_signal = 0;
  // Run as this uid/gid (setgroups, setgid, setuid); -1 = unchanged.
  int uid = -1;
  int gid = -1;
};

// How a child ended.
struct ExitInfo {
  int code = -1;   // the exit status, or 128 + signal when killed by one
  int signal = 0;  // the signal that killed it; 0 when it exited
  // "exited with code 3" / "was killed by signal 9".
  std::string Describe() const;
};
ExitInfo ExitInfoFromWaitStatus(int wait_status);

class Subprocess {
 public:
  // Starts argv. InvalidArgument for an empty argv; NotFound /
  // PermissionDenied / ... (the errno's code) naming the program when it
  // cannot be executed or `cwd` cannot be entered (CouldNotExecute is true
  // of those), and naming the file when an output file cannot be opened.
  static absl::StatusOr<Subprocess> Spawn(const std::vector<std::string>& argv,
                                          const SpawnOptions& options = {});

  Subprocess() = default;
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // SIGKILL (to the group when it leads one) and reap, if still running.
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // True while the child runs; reaps it when it has exited.
  bool Running();
  // Waits until the child has exited and the captured streams are closed,
  // reading them meanwhile. nullopt when that did not happen within
  // `timeout` or `stop` (polled every 10 ms) returned true; the child is
  // then still running. absl::InfiniteDuration() waits for ever.
  std::optional<ExitInfo> Wait(absl::Duration timeout,
                               const std::function<bool()>& stop = nullptr);
  // Sends `sig` to the child, or to its group when it leads one.
  void Signal(int sig);
  // SIGTERM, up to `grace` for it to exit, then SIGKILL; then (also when it
  // had exited already) SIGKILL to what is left of its group. How it ended
  // (code -1 when there was no child).
  ExitInfo Stop(absl::Duration grace);
  // How the child ended, once Wait/Running/Stop saw it end.
  const std::optional<ExitInfo>& exit() const { return exit_; }
  // What the child wrote to captured streams so far.
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  // Hands the child over to the caller: no kill at destruction.
  pid_t Release();

 private:
  bool Reap(bool block);
  void ReadPipes(int timeout_ms);
  void ClosePipes();

  pid_t pid_ = -1;
  pid_t group_leader_ = -1;  // the child's pid while its group may live
  int out_fd_ = -1;          // read ends of captured streams; -1 when none
  int err_fd_ = -1;
  std::string out_, err_;
  std::optional<ExitInfo> exit_;
};

// RunSubprocess: Spawn, then Wait up to `timeout`; past it (or when `stop` says
// so) SIGKILL (the group when it leads one) and timed_out. When the child leads
// a group, what it left running in the group is killed once it exits. The
// errors of Spawn.
struct RunResult {
  ExitInfo exit;
  bool timed_out = false;  // killed because `timeout` passed or `stop`
  std::string out, err;    // the captured streams
  double seconds = 0;      // wall time from spawn to exit
};
absl::StatusOr<RunResult> RunSubprocess(
    const std::vector<std::string>& argv, const SpawnOptions& options,
    absl::Duration timeout, const std::function<bool()>& stop = nullptr);

// Whether a Spawn error says the child started but could not execute the
// program (missing, not executable, bad cwd or user): what a shell reports
// as exit code 127.
bool CouldNotExecute(const absl::Status& status);

// A PATH lookup for a program ("" when not found).
std::string FindInPath(const std::string& name);

}  // namespace spatial::base

#endif  // SPATIAL_BASE_SUBPROCESS_H_
