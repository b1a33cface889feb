// The one mapping from a Status to the process exit code of `spatial`.
#ifndef SPATIAL_CLI_EXIT_CODES_H_
#define SPATIAL_CLI_EXIT_CODES_H_

#include <iostream>

#include "absl/status/status.h"
#include "src/base/text.h"

namespace spatial::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // a refused operation or a failed check
constexpr int kExitUsage = 2;   // bad flags or arguments

// InvalidArgument is a usage error (2); every other error is a refusal (1).
inline int ExitCodeFor(const absl::Status& s) {
  if (s.ok()) return kExitOk;
  return s.code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                        : kExitFailed;
}

// The one error printer: "error: MESSAGE" on stderr, the message escaped for
// the terminal (it often quotes what a user or a file supplied); returns the
// exit code.
inline int ReportError(const absl::Status& s) {
  std::cerr << "error: " << base::EscapeForTerminal(s.message()) << "\n";
  return ExitCodeFor(s);
}

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_EXIT_CODES_H_
