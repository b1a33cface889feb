// RunProcess over base::RunSubprocess: both streams captured, a time limit,
// and a program that cannot be executed reported as exit code 127 with the
// reason on stderr. Thread-safe, as base::RunSubprocess.
#include "tests/integration/process.h"

#include "absl/time/time.h"
#include "src/base/subprocess.h"

namespace spatial::integration {
namespace {

std::string Join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a.empty() ? "''" : a;
  }
  return out;
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const ProcessOptions& options) {
  ProcessResult result;
  result.command = Join(argv);
  base::SpawnOptions spawn;
  spawn.cwd = options.cwd;
  spawn.out = base::Redirect::Capture();
  spawn.err = base::Redirect::Capture();
  auto run =
      base::RunSubprocess(argv, spawn, absl::FromChrono(options.timeout));
  if (!run.ok()) {
    // As a shell has it: a program that cannot be executed exits 127.
    if (base::CouldNotExecute(run.status())) result.exit_code = 127;
    result.err = std::string(run.status().message()) + "\n";
    return result;
  }
  result.exit_code = run->exit.code;
  result.timed_out = run->timed_out;
  result.out = std::move(run->out);
  result.err = std::move(run->err);
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
