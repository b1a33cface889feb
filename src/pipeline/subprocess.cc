#include "src/pipeline/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "src/base/files.h"

namespace spatial::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_interrupted = 0;

void OnSignal(int) { g_interrupted = 1; }

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Forks and execs argv in a new process group with stdout/stderr on the log.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const CommandOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const std::string log =
      options.log_path.empty() ? "/dev/null" : options.log_path;
  if (!options.log_path.empty()) {
    if (auto s = base::MakeDirs(base::DirName(log)); !s.ok()) return s;
  }
  int log_fd =
      ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return base::ErrnoStatus(errno, absl::StrCat("open ", log));
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    ::close(log_fd);
    return base::ErrnoStatus(errno, "open /dev/null");
  }
  int out_fd = log_fd;
  if (!options.stdout_path.empty()) {
    out_fd = ::open(options.stdout_path.c_str(),
                    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      int err = errno;
      ::close(log_fd);
      ::close(null_fd);
      return base::ErrnoStatus(err, absl::StrCat("open ", options.stdout_path));
    }
  }
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(log_fd);
    ::close(null_fd);
    if (out_fd != log_fd) ::close(out_fd);
    return base::ErrnoStatus(err, "fork");
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 ||
        ::dup2(log_fd, 2) < 0) {
      ::_exit(126);
    }
    if (cwd != nullptr && ::chdir(cwd) != 0) {
      static const char kMsg[] = "pipeline: chdir failed\n";
      (void)!::write(2, kMsg, sizeof(kMsg) - 1);
      ::_exit(126);
    }
    ::execv(cargv[0], cargv.data());
    static const char kMsg[] = "pipeline: execv failed\n";
    (void)!::write(2, kMsg, sizeof(kMsg) - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so that a kill right away hits the group
  if (out_fd != log_fd) ::close(out_fd);
  ::close(log_fd);
  ::close(null_fd);
  return pid;
}

// Waits for pid until `deadline`; true and the status when it exited.
bool WaitUntil(pid_t pid, Clock::time_point deadline, int* status,
               bool stop_on_interrupt) {
  while (true) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) {
      *status = -1;
      return true;  // not our child any more: nothing to wait for
    }
    if (Clock::now() >= deadline) return false;
    if (stop_on_interrupt && g_interrupted) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// SIGTERM to the group, `grace` to exit, then SIGKILL; the exit status.
int KillGroup(pid_t pid, std::chrono::milliseconds grace) {
  int status = -1;
  ::kill(-pid, SIGTERM);
  if (!WaitUntil(pid, Clock::now() + grace, &status, false)) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  ::kill(-pid, SIGKILL);  // whatever the child left behind in its group
  return status;
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const CommandOptions& options) {
  CommandResult result;
  const auto started = Clock::now();
  if (g_interrupted) {
    result.interrupted = true;
    return result;
  }
  auto pid = Spawn(argv, options);
  if (!pid.ok()) return pid.status();
  int status = -1;
  if (WaitUntil(*pid, started + options.timeout, &status, true)) {
    result.exit_code = ExitCodeOf(status);
    // Grandchildren left in the group (e.g. a server a test forgot) go too.
    ::kill(-*pid, SIGKILL);
  } else {
    result.interrupted = g_interrupted != 0;
    result.timed_out = !result.interrupted;
    result.exit_code = ExitCodeOf(KillGroup(*pid, std::chrono::seconds(3)));
  }
  result.seconds =
      std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

absl::StatusOr<Child> Child::Start(const std::vector<std::string>& argv,
                                   const CommandOptions& options) {
  auto pid = Spawn(argv, options);
  if (!pid.ok()) return pid.status();
  Child c;
  c.pid_ = *pid;
  return c;
}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0) KillGroup(pid_, std::chrono::milliseconds(0));
    pid_ = o.pid_;
    o.pid_ = -1;
  }
  return *this;
}

Child::~Child() {
  if (pid_ > 0) Stop(std::chrono::milliseconds(2000));
}

bool Child::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) status_ = status;
  ::kill(-pid_, SIGKILL);
  pid_ = -1;
  return false;
}

int Child::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return status_ < 0 ? -1 : ExitCodeOf(status_);
  int status = KillGroup(pid_, grace);
  pid_ = -1;
  status_ = status;
  return ExitCodeOf(status);
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

std::string FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace spatial::pipeline
