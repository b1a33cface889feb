// Child processes for pipeline stages, over base::Subprocess: argv (no
// shell) in a new process group, stdout and stderr appended to a log file, a
// time limit, and the whole group killed on timeout or when the pipeline is
// interrupted (Ctrl-C, SIGTERM). Thread-compatible: one pipeline runs its
// children one at a time.
#ifndef SPATIAL_PIPELINE_SUBPROCESS_H_
#define SPATIAL_PIPELINE_SUBPROCESS_H_

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/base/subprocess.h"

namespace spatial::pipeline {

struct CommandResult {
  int exit_code = -1;        // exit status; 128 + signal when killed
  bool timed_out = false;    // killed because the time limit passed
  bool interrupted = false;  // killed because the pipeline was interrupted
  double seconds = 0;
};

struct CommandOptions {
  std::string log_path;     // stdout+stderr appended here ("" = /dev/null)
  std::string stdout_path;  // non-empty: stdout written (truncated) here
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  std::string cwd;  // "" = the caller's
  // Set in (or replacing in) the caller's environment for the child.
  std::map<std::string, std::string> env;
};

// Runs argv (argv[0] is a path, no PATH search) and waits for it. Errors only
// when the child cannot be started (log not writable, fork failed); a child
// that exits non-zero is an OK result with that exit code, and a program
// that cannot be executed exits 127 (why is in the log).
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const CommandOptions& options);

// A background child (e.g. a server for the performance stage). The
// destructor kills its process group if it is still running.
class Child {
 public:
  static absl::StatusOr<Child> Start(const std::vector<std::string>& argv,
                                     const CommandOptions& options);
  Child() = default;
  Child(Child&& o) noexcept = default;
  Child& operator=(Child&& o) noexcept = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();  // Stop with 2 s of grace, if still running

  pid_t pid() const { return process_.pid(); }
  // True while the child has not exited (reaps it when it has).
  bool Running();
  // SIGTERM to the group, waits up to `grace`, then SIGKILL. Exit code as
  // in CommandResult; -1 when there was no child.
  int Stop(std::chrono::milliseconds grace);

 private:
  base::Subprocess process_;
};

// Installs SIGINT/SIGTERM handlers that mark the pipeline interrupted (the
// running child's group is then killed and no further stage starts).
void InstallInterruptHandlers();
bool Interrupted();

// The path of the running executable (/proc/self/exe resolved).
std::string SelfExe();

// A PATH lookup for a tool ("" when not found).
using base::FindInPath;

}  // namespace spatial::pipeline

#endif  // SPATIAL_PIPELINE_SUBPROCESS_H_
