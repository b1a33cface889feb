// Small text helpers shared by the CLI and the registry: identifier checks,
// terminal escaping, "did you mean" suggestions and ISO 8601 time stamps.
// Pure and thread-safe.
#ifndef SPATIAL_BASE_TEXT_H_
#define SPATIAL_BASE_TEXT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace spatial::base {

// OK if `id` matches [A-Za-z0-9][A-Za-z0-9._-]{0,127}; InvalidArgument naming
// `what` (e.g. "version id") otherwise. Rejects "..", "/" and control bytes.
absl::Status CheckIdentifier(absl::string_view id, absl::string_view what);

// `text` made safe to print on a terminal, on one line: C0 controls, DEL,
// the C1 controls (U+0080..U+009F) and the bidirectional overrides
// (U+202A..U+202E, U+2066..U+2069) are written as escapes (\n, \r, \t,
// \x1b, \u009b, \u202e), bytes that are not UTF-8 as \xNN, and a
// backslash as \\ so that an escape in the output always means one in the
// text. Everything else, UTF-8 letters included, is kept. For every string
// a user or an imported file supplied that a CLI printer shows.
std::string EscapeForTerminal(absl::string_view text);

// Levenshtein distance (byte-wise).
size_t EditDistance(absl::string_view a, absl::string_view b);

// Up to `max` candidates closest to `name` (distance <= max(2, |name|/3), or
// sharing a prefix of >= 4 bytes), best first.
std::vector<std::string> ClosestMatches(
    absl::string_view name, const std::vector<std::string>& candidates,
    size_t max = 3);

// " (did you mean: a, b?)" or "" when there is nothing close.
std::string DidYouMean(absl::string_view name,
                       const std::vector<std::string>& candidates);

// RFC 3339 / ISO 8601 in UTC with microseconds, e.g.
// 2026-11-25T22:03:00.123456Z.
std::string FormatIso8601(absl::Time t);

// Parses what FormatIso8601 writes (and any RFC 3339 time); InvalidArgument
// otherwise.
absl::StatusOr<absl::Time> ParseIso8601(absl::string_view s);

}  // namespace spatial::base

#endif  // SPATIAL_BASE_TEXT_H_
