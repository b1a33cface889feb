#include "tests/integration/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace spatial::integration {
namespace {

// Closes a descriptor on scope exit.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

std::string Join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a.empty() ? "''" : a;
  }
  return out;
}

ProcessResult SetupFailure(ProcessResult r, const char* what) {
  r.err = std::string(what) + ": " + std::strerror(errno);
  return r;
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const ProcessOptions& options) {
  ProcessResult result;
  result.command = Join(argv);
  if (argv.empty()) {
    result.err = "empty argv";
    return result;
  }
  // Everything the child needs is prepared before fork: after fork in a
  // threaded process only async-signal-safe calls are allowed.
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return SetupFailure(result, "pipe2");
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return SetupFailure(result, "pipe2");
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  Fd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_in.fd < 0) return SetupFailure(result, "open /dev/null");

  pid_t pid = ::fork();
  if (pid < 0) return SetupFailure(result, "fork");
  if (pid == 0) {
    // dup2 clears close-on-exec on the copies; the originals close at exec.
    if (::dup2(null_in.fd, 0) < 0 || ::dup2(out_w.fd, 1) < 0 ||
        ::dup2(err_w.fd, 2) < 0) {
      ::_exit(126);
    }
    if (cwd != nullptr && ::chdir(cwd) != 0) {
      static const char kMsg[] = "RunProcess: chdir failed\n";
      (void)!::write(2, kMsg, sizeof(kMsg) - 1);
      ::_exit(126);
    }
    ::execv(cargv[0], cargv.data());
    static const char kMsg[] = "RunProcess: execv failed\n";
    (void)!::write(2, kMsg, sizeof(kMsg) - 1);
    ::_exit(127);
  }
  out_w.Close();
  err_w.Close();
  null_in.Close();

  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  char buf[1 << 16];
  while (out_r.fd >= 0 || err_r.fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      ::kill(pid, SIGKILL);
      break;
    }
    Fd* owners[2] = {&out_r, &err_r};
    std::string* sinks[2] = {&result.out, &result.err};
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        owners[i]->Close();
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  return result;
}

std::ostream& operator<<(std::ostream& os, const ProcessResult& r) {
  os << "\n$ " << r.command << "\nexit code: " << r.exit_code
     << (r.timed_out ? " (timed out)" : "") << "\n--- stdout ---\n"
     << r.out << "--- stderr ---\n"
     << r.err << "--------------\n";
  return os;
}

}  // namespace spatial::integration
