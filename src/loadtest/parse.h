// Parsers for the load generator's flag values: durations ("500ms", "10s",
// "2m") and concurrency levels ("16", "1:64:x2", "4:16:4"). Pure functions;
// every error is InvalidArgument with a message that shows a valid example.
#ifndef SPATIAL_LOADTEST_PARSE_H_
#define SPATIAL_LOADTEST_PARSE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace spatial::loadtest {

// A non-negative decimal number and a unit: ns, us, ms, s, m or h
// ("1.5s", "250ms", "2m"). A bare number is refused: "10" could mean anything.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// One level ("16"), or a range START:END[:STEP] where STEP is an increment
// ("4:16:4" -> 4 8 12 16; default 1) or a factor ("1:64:x2" -> 1 2 4 ... 64).
// END is always included when the steps land on it; levels are 1..100000.
absl::StatusOr<std::vector<int>> ParseConcurrencyLevels(absl::string_view text);

// A latency for people: "850us", "12.3ms", "1.52s".
std::string FormatLatency(int64_t ns);

}  // namespace spatial::loadtest

#endif  // SPATIAL_LOADTEST_PARSE_H_
