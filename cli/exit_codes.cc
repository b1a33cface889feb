// The Status -> exit code mapping, and pinning a code on a Status.
#include "cli/exit_codes.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"

namespace spatial::cli {
namespace {

// A Status payload rather than a code of our own: the message and the
// canonical code stay what the library said.
constexpr char kExitCodePayload[] = "type.spatial-deploy/cli.exit_code";

}  // namespace

int ExitCodeFor(const absl::Status& s) {
  if (s.ok()) return kExitOk;
  if (auto pinned = s.GetPayload(kExitCodePayload)) {
    int code = 0;
    if (absl::SimpleAtoi(std::string(*pinned), &code)) return code;
  }
  return s.code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                        : kExitFailed;
}

absl::Status WithExitCode(absl::Status s, int code) {
  if (!s.ok()) s.SetPayload(kExitCodePayload, absl::Cord(std::to_string(code)));
  return s;
}

}  // namespace spatial::cli
