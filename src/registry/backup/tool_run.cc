#include "src/registry/backup/tool_run.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/base/files.h"

namespace spatial::registry::backup {

absl::Status RunTool(const std::vector<std::string>& argv,
                     const std::string& stdout_path, const std::string& what) {
  if (argv.empty()) return absl::InvalidArgumentError("no command");
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return absl::UnavailableError(absl::StrCat(
        what, ": ", argv[0],
        " is not installed (Debian: apt-get install postgresql-client)"));
  }
  FILE* err_file = std::tmpfile();
  if (err_file == nullptr) return base::ErrnoStatus(errno, "tmpfile");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const char* out = stdout_path.empty() ? "/dev/null" : stdout_path.c_str();
  int err_fd = ::fileno(err_file);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::fclose(err_file);
    return base::ErrnoStatus(errno, "fork");
  }
  if (pid == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    int o = ::open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || o < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(o, 1);
    ::dup2(err_fd, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string err;
  std::rewind(err_file);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, err_file)) > 0) err.append(buf, n);
  std::fclose(err_file);
  int code = WIFEXITED(status)
                 ? WEXITSTATUS(status)
                 : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (code == 0) return absl::OkStatus();
  if (err.size() > 2000) err = "..." + err.substr(err.size() - 2000);
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) {
    err.pop_back();
  }
  return absl::InternalError(absl::StrCat(what, ": ", argv[0], " exited ", code,
                                          (err.empty() ? "" : ": "), err));
}

}  // namespace spatial::registry::backup
