// RunCommand, Child and the interrupt flag over base::Subprocess: the
// pipeline's policy (log files, process groups, SIGTERM then SIGKILL, stop
// on interrupt), not its own fork/exec. Thread-compatible, as subprocess.h.
#include "src/pipeline/subprocess.h"

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "src/base/files.h"

namespace spatial::pipeline {
namespace {

volatile sig_atomic_t g_interrupted = 0;

void OnSignal(int) { g_interrupted = 1; }

absl::StatusOr<base::Subprocess> Spawn(const std::vector<std::string>& argv,
                                       const CommandOptions& options) {
  base::SpawnOptions spawn;
  spawn.cwd = options.cwd;
  spawn.env = options.env;
  spawn.new_process_group = true;
  if (options.log_path.empty()) {
    spawn.err = base::Redirect::Null();
  } else {
    if (auto s = base::MakeDirs(base::DirName(options.log_path)); !s.ok()) {
      return s;
    }
    spawn.err = base::Redirect::Append(options.log_path);
  }
  if (!options.stdout_path.empty()) {
    spawn.out = base::Redirect::File(options.stdout_path);
  } else {
    spawn.out = options.log_path.empty()
                    ? base::Redirect::Null()
                    : base::Redirect::Append(options.log_path);
  }
  auto child = base::Subprocess::Spawn(argv, spawn);
  if (!child.ok() && base::CouldNotExecute(child.status()) &&
      !options.log_path.empty()) {
    std::ofstream(options.log_path, std::ios::app)
        << "pipeline: " << child.status().message() << "\n";
  }
  return child;
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const CommandOptions& options) {
  CommandResult result;
  const absl::Time started = absl::Now();
  if (g_interrupted) {
    result.interrupted = true;
    return result;
  }
  auto child = Spawn(argv, options);
  if (!child.ok()) {
    // As a shell has it: a program that cannot be executed exits 127.
    if (!base::CouldNotExecute(child.status())) return child.status();
    result.exit_code = 127;
    result.seconds = absl::ToDoubleSeconds(absl::Now() - started);
    return result;
  }
  std::optional<base::ExitInfo> exit = child->Wait(
      absl::FromChrono(options.timeout), [] { return g_interrupted != 0; });
  if (exit.has_value()) {
    result.exit_code = exit->code;
    // Grandchildren left in the group (e.g. a server a test forgot) go too.
    child->Stop(absl::ZeroDuration());
  } else {
    result.interrupted = g_interrupted != 0;
    result.timed_out = !result.interrupted;
    result.exit_code = child->Stop(absl::Seconds(3)).code;
  }
  result.seconds = absl::ToDoubleSeconds(absl::Now() - started);
  return result;
}

absl::StatusOr<Child> Child::Start(const std::vector<std::string>& argv,
                                   const CommandOptions& options) {
  auto process = Spawn(argv, options);
  if (!process.ok()) return process.status();
  Child c;
  c.process_ = std::move(*process);
  return c;
}

Child::~Child() {
  if (process_.pid() > 0) Stop(std::chrono::milliseconds(2000));
}

bool Child::Running() {
  if (process_.Running()) return true;
  // Whatever it left in its group goes with it.
  process_.Stop(absl::ZeroDuration());
  return false;
}

int Child::Stop(std::chrono::milliseconds grace) {
  return process_.Stop(absl::FromChrono(grace)).code;
}

void InstallInterruptHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

bool Interrupted() { return g_interrupted != 0; }

std::string SelfExe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : p.string();
}

}  // namespace spatial::pipeline
