// The command shell: the one error printer and the one place a command's
// result becomes an exit code.
#include "cli/command.h"

#include <iostream>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "src/base/text.h"

namespace spatial::cli {

CommandResult ResultOf(const absl::Status& s) {
  if (s.ok()) return kExitOk;
  return s;
}

absl::Status WithContext(absl::string_view context, const absl::Status& s) {
  if (s.ok()) return s;
  absl::Status out(s.code(), absl::StrCat(context, ": ", s.message()));
  s.ForEachPayload([&out](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

void PrintError(const absl::Status& s) { PrintError(s.message()); }

void PrintError(absl::string_view message) {
  std::cerr << "error: " << base::EscapeForTerminal(message) << "\n";
}

int Finish(const CommandResult& result) {
  if (result.ok()) return *result;
  PrintError(result.status());
  return ExitCodeFor(result.status());
}

}  // namespace spatial::cli
