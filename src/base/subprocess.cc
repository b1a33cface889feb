// Subprocess: fork/exec, waiting, signalling (see subprocess.h). Thread-safe
// to spawn from several threads; one Subprocess is used by one thread.
#include "src/base/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "src/base/files.h"

extern char** environ;

namespace spatial::base {
namespace {

// What the child reports on its error pipe before it gives up.
enum class Stage : int { kRedirect = 1, kUser, kChdir, kExec };

struct ChildError {
  int stage = 0;
  int err = 0;
};

using Fd = UniqueFd;

// Opens the parent's end of a redirect; `capture_read` gets the read end of
// a pipe for kCapture. -1 (and OK) for kInherit and kSameAsStdout.
absl::StatusOr<int> OpenTarget(const Redirect& r, Fd* capture_read) {
  switch (r.kind) {
    case Redirect::Kind::kInherit:
    case Redirect::Kind::kSameAsStdout:
      return -1;
    case Redirect::Kind::kNull: {
      int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (fd < 0) return ErrnoStatus(errno, "cannot open /dev/null");
      return fd;
    }
    case Redirect::Kind::kCapture: {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe2");
      capture_read->reset(p[0]);
      return p[1];
    }
    case Redirect::Kind::kFile:
    case Redirect::Kind::kAppend: {
      int flags = O_WRONLY | O_CREAT | O_CLOEXEC |
                  (r.kind == Redirect::Kind::kFile ? O_TRUNC : O_APPEND);
      int fd = ::open(r.path.c_str(), flags, r.mode);
      if (fd < 0) {
        return ErrnoStatus(errno, absl::StrCat("cannot open ", r.path,
                                               " for a child's output"));
      }
      return fd;
    }
  }
  return -1;
}

[[noreturn]] void ChildFail(int report_fd, Stage stage) {
  ChildError e{static_cast<int>(stage), errno};
  (void)!::write(report_fd, &e, sizeof(e));
  ::_exit(127);
}

constexpr char kCouldNotExecute[] = "spatial.base.subprocess/could-not-execute";

// The errno status of a child that could not get to its program.
absl::Status ExecFailure(int err, const std::string& what) {
  absl::Status s = ErrnoStatus(err, what);
  s.SetPayload(kCouldNotExecute, absl::Cord("1"));
  return s;
}

int ToMs(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  if (d > absl::Hours(24)) return 24 * 3600 * 1000;
  return static_cast<int>(absl::ToInt64Milliseconds(d));
}

}  // namespace

std::string ExitInfo::Describe() const {
  if (signal != 0) return absl::StrCat("was killed by signal ", signal);
  return absl::StrCat("exited with code ", code);
}

ExitInfo ExitInfoFromWaitStatus(int wait_status) {
  ExitInfo e;
  if (WIFEXITED(wait_status)) {
    e.code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    e.signal = WTERMSIG(wait_status);
    e.code = 128 + e.signal;
  }
  return e;
}

absl::StatusOr<Subprocess> Subprocess::Spawn(
    const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) {
    return absl::InvalidArgumentError("cannot run an empty command");
  }
  // Everything the child needs is built before fork(): after it, in a
  // process with threads, only async-signal-safe calls are allowed.
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    if (options.env.count(kv.substr(0, kv.find('='))) == 0) {
      env_strings.push_back(std::move(kv));
    }
  }
  for (const auto& [k, v] : options.env) {
    env_strings.push_back(absl::StrCat(k, "=", v));
  }
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  Fd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return ErrnoStatus(errno, "cannot open /dev/null");
  Fd out_read, err_read;
  absl::StatusOr<int> out_fd = OpenTarget(options.out, &out_read);
  if (!out_fd.ok()) return out_fd.status();
  Fd out(*out_fd);
  absl::StatusOr<int> err_fd = OpenTarget(options.err, &err_read);
  if (!err_fd.ok()) return err_fd.status();
  Fd err(*err_fd);
  const bool err_as_out = options.err.kind == Redirect::Kind::kSameAsStdout;
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe2");
  Fd report_read(report[0]), report_write(report[1]);
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  const bool group = options.new_process_group || options.new_session;
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus(errno, "fork");
  if (pid == 0) {
    const int rfd = report_write.get();
    if (options.new_session) {
      ::setsid();
    } else if (options.new_process_group) {
      ::setpgid(0, 0);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    // dup2 clears close-on-exec on the copies; the originals close at exec.
    if (::dup2(in.get(), 0) < 0) ChildFail(rfd, Stage::kRedirect);
    if (out.get() >= 0 && ::dup2(out.get(), 1) < 0) {
      ChildFail(rfd, Stage::kRedirect);
    }
    if (err_as_out) {
      if (::dup2(1, 2) < 0) ChildFail(rfd, Stage::kRedirect);
    } else if (err.get() >= 0 && ::dup2(err.get(), 2) < 0) {
      ChildFail(rfd, Stage::kRedirect);
    }
    if (options.gid >= 0 &&
        (::setgroups(0, nullptr) != 0 || ::setgid(options.gid) != 0)) {
      ChildFail(rfd, Stage::kUser);
    }
    if (options.uid >= 0 && ::setuid(options.uid) != 0) {
      ChildFail(rfd, Stage::kUser);
    }
    if (cwd != nullptr && ::chdir(cwd) != 0) ChildFail(rfd, Stage::kChdir);
    // After setuid, which clears it; a parent that died already is caught
    // by the getppid check.
    if (options.parent_death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
      if (::getppid() != parent) ::_exit(126);
    }
    ::execve(cargv[0], cargv.data(), envp.data());
    ChildFail(rfd, Stage::kExec);
  }
  // Also here, so that a signal to the group right away reaches it.
  if (options.new_process_group && !options.new_session) ::setpgid(pid, pid);
  report_write.Close();
  in.Close();
  out.Close();
  err.Close();

  Subprocess child;
  child.pid_ = pid;
  child.group_leader_ = group ? pid : -1;
  child.out_fd_ = out_read.release();
  child.err_fd_ = err_read.release();
  // The error pipe closes at exec; before that the child may report why it
  // could not get there.
  ChildError e;
  ssize_t n;
  do {
    n = ::read(report_read.get(), &e, sizeof(e));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(e))) {
    child.Reap(/*block=*/true);
    switch (static_cast<Stage>(e.stage)) {
      case Stage::kExec:
        return ExecFailure(e.err, absl::StrCat("cannot run ", argv[0]));
      case Stage::kChdir:
        return ExecFailure(
            e.err, absl::StrCat("cannot run ", argv[0], " in ", options.cwd));
      case Stage::kUser:
        return ExecFailure(e.err, absl::StrCat("cannot run ", argv[0], " as ",
                                               options.uid, ":", options.gid));
      case Stage::kRedirect:
        return ExecFailure(e.err, absl::StrCat("cannot run ", argv[0],
                                               ": redirecting its streams"));
    }
  }
  return child;
}

Subprocess::Subprocess(Subprocess&& other) noexcept {
  *this = std::move(other);
}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    Signal(SIGKILL);
    Stop(absl::ZeroDuration());
    pid_ = std::exchange(other.pid_, -1);
    group_leader_ = std::exchange(other.group_leader_, -1);
    out_fd_ = std::exchange(other.out_fd_, -1);
    err_fd_ = std::exchange(other.err_fd_, -1);
    out_ = std::move(other.out_);
    err_ = std::move(other.err_);
    exit_ = std::move(other.exit_);
  }
  return *this;
}

Subprocess::~Subprocess() {
  Signal(SIGKILL);
  Stop(absl::ZeroDuration());  // reaps it, and clears its group
}

bool Subprocess::Reap(bool block) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  // r < 0: not our child any more (reaped elsewhere): nothing to wait for.
  exit_ = r == pid_ ? ExitInfoFromWaitStatus(status) : ExitInfo{};
  pid_ = -1;
  return true;
}

void Subprocess::ReadPipes(int timeout_ms) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  if (out_fd_ < 0 && err_fd_ < 0) {
    if (timeout_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    }
    return;
  }
  if (::poll(fds, 2, timeout_ms) <= 0) return;
  int* owners[2] = {&out_fd_, &err_fd_};
  std::string* sinks[2] = {&out_, &err_};
  char buf[1 << 16];
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || fds[i].revents == 0) continue;
    ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
    if (got > 0) {
      sinks[i]->append(buf, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      ::close(*owners[i]);
      *owners[i] = -1;
    }
  }
}

void Subprocess::ClosePipes() {
  for (int* fd : {&out_fd_, &err_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

bool Subprocess::Running() {
  if (pid_ <= 0) return false;
  return !Reap(/*block=*/false);
}

std::optional<ExitInfo> Subprocess::Wait(absl::Duration timeout,
                                         const std::function<bool()>& stop) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    // The streams first: a child blocked on a full pipe never exits.
    if (pid_ > 0) Reap(/*block=*/false);
    if (pid_ <= 0 && out_fd_ < 0 && err_fd_ < 0) return exit_;
    if (stop && stop()) return std::nullopt;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return std::nullopt;
    ReadPipes(ToMs(std::min(left, absl::Milliseconds(10))));
  }
}

void Subprocess::Signal(int sig) {
  if (pid_ <= 0) return;
  ::kill(group_leader_ > 0 ? -pid_ : pid_, sig);
}

ExitInfo Subprocess::Stop(absl::Duration grace) {
  if (pid_ > 0) {
    Signal(SIGTERM);
    const absl::Time deadline = absl::Now() + grace;
    while (!Reap(/*block=*/false) && absl::Now() < deadline) {
      ReadPipes(10);
    }
    if (pid_ > 0) {
      Signal(SIGKILL);
      Reap(/*block=*/true);
    }
  }
  // Whatever the child left behind in its group goes too.
  if (group_leader_ > 0) ::kill(-std::exchange(group_leader_, -1), SIGKILL);
  ClosePipes();
  return exit_.value_or(ExitInfo{});
}

pid_t Subprocess::Release() {
  ClosePipes();
  group_leader_ = -1;
  return std::exchange(pid_, -1);
}

absl::StatusOr<RunResult> RunSubprocess(const std::vector<std::string>& argv,
                                        const SpawnOptions& options,
                                        absl::Duration timeout,
                                        const std::function<bool()>& stop) {
  const absl::Time started = absl::Now();
  absl::StatusOr<Subprocess> child = Subprocess::Spawn(argv, options);
  if (!child.ok()) return child.status();
  RunResult result;
  std::optional<ExitInfo> exit = child->Wait(timeout, stop);
  if (!exit.has_value()) {
    result.timed_out = true;
    child->Signal(SIGKILL);
  }
  // Reaps it; with a group, also what it left there (e.g. a forgotten
  // server).
  exit = child->Stop(absl::ZeroDuration());
  result.exit = *exit;
  result.out = child->out();
  result.err = child->err();
  result.seconds = absl::ToDoubleSeconds(absl::Now() - started);
  return result;
}

bool CouldNotExecute(const absl::Status& status) {
  return status.GetPayload(kCouldNotExecute).has_value();
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

}  // namespace spatial::base
