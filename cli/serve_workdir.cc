#include "cli/serve_workdir.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "src/serving/bundle_copy.h"

namespace spatial::cli {
namespace {

namespace fs = std::filesystem;
constexpr char kPrefix[] = "spatial-serve-";

bool ProcessGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// The PID in "spatial-serve-PID" or "spatial-serve-PID-SUFFIX"; 0 if none.
int PidOf(const std::string& name) {
  if (!absl::StartsWith(name, kPrefix)) return 0;
  std::string rest = name.substr(sizeof(kPrefix) - 1);
  rest = rest.substr(0, rest.find('-'));
  int pid = 0;
  return absl::SimpleAtoi(rest, &pid) && pid > 0 ? pid : 0;
}

}  // namespace

std::vector<std::string> SweepStaleServeDirs(const std::string& parent) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end;
       it.increment(ec)) {
    const int pid = PidOf(it->path().filename().string());
    if (pid == 0) continue;
    // lstat: a link is never followed; another user's directory is theirs.
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != ::geteuid() || !ProcessGone(pid)) {
      continue;
    }
    std::error_code dir_ec;
    // remove_all deletes links inside, never what they point to.
    if (fs::remove_all(it->path(), dir_ec) != static_cast<std::uintmax_t>(-1) &&
        !dir_ec) {
      removed.push_back(it->path().string());
    }
  }
  return removed;
}

absl::StatusOr<std::string> MakeServeWorkDir(const std::string& parent) {
  std::string where = parent;
  if (where.empty()) {
    std::error_code ec;
    fs::path tmp = fs::temp_directory_path(ec);
    where = ec ? "/tmp" : tmp.string();
  }
  SweepStaleServeDirs(where);
  return serving::MakePrivateDir(where, absl::StrCat(kPrefix, ::getpid(), "-"));
}

}  // namespace spatial::cli
