#include "cli/serve_workdir.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace spatial::cli {
namespace {

namespace fs = std::filesystem;
constexpr char kPrefix[] = "spatial-serve-";

bool ProcessGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

std::vector<std::string> SweepStaleServeDirs(const std::string& parent) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    int pid = 0;
    if (!absl::StartsWith(name, kPrefix) ||
        !absl::SimpleAtoi(name.substr(sizeof(kPrefix) - 1), &pid) || pid <= 0)
      continue;
    std::error_code dir_ec;
    if (!it->is_directory(dir_ec) || !ProcessGone(pid)) continue;
    if (fs::remove_all(it->path(), dir_ec) != static_cast<std::uintmax_t>(-1) &&
        !dir_ec) {
      removed.push_back(it->path().string());
    }
  }
  return removed;
}

std::string ServeWorkDir() {
  std::error_code ec;
  fs::path tmp = fs::temp_directory_path(ec);
  if (ec) tmp = "/tmp";
  SweepStaleServeDirs(tmp.string());
  return (tmp / absl::StrCat(kPrefix, ::getpid())).string();
}

}  // namespace spatial::cli
