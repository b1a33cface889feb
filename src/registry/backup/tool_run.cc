// RunTool over base::Subprocess: the PostgreSQL client tools with stdout to a
// file and stderr captured for the error message. Thread-safe: no shared
// state.
#include "src/registry/backup/tool_run.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "src/base/subprocess.h"

namespace spatial::registry::backup {

absl::Status RunTool(const std::vector<std::string>& argv,
                     const std::string& stdout_path, const std::string& what) {
  if (argv.empty()) return absl::InvalidArgumentError("no command");
  if (::access(argv[0].c_str(), X_OK) != 0) {
    return absl::UnavailableError(absl::StrCat(
        what, ": ", argv[0],
        " is not installed (Debian: apt-get install postgresql-client)"));
  }
  base::SpawnOptions options;
  // A dump holds the registry: only its owner may read it.
  options.out = stdout_path.empty() ? base::Redirect::Null()
                                    : base::Redirect::File(stdout_path, 0600);
  options.err = base::Redirect::Capture();
  auto run = base::RunSubprocess(argv, options, absl::InfiniteDuration());
  if (!run.ok()) {
    return absl::UnavailableError(
        absl::StrCat(what, ": ", run.status().message()));
  }
  if (run->exit.code == 0) return absl::OkStatus();
  std::string err = run->err;
  if (err.size() > 2000) err = "..." + err.substr(err.size() - 2000);
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) {
    err.pop_back();
  }
  return absl::InternalError(absl::StrCat(what, ": ", argv[0], " exited ",
                                          run->exit.code,
                                          (err.empty() ? "" : ": "), err));
}

}  // namespace spatial::registry::backup
