#include "src/loadtest/parse.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace spatial::loadtest {
namespace {

constexpr int kMaxConcurrency = 100000;

absl::Status DurationError(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "bad duration '", text, "': ", why, " (examples: 500ms, 10s, 1.5s, 2m)"));
}

absl::StatusOr<int> ParseLevel(absl::string_view text,
                               absl::string_view whole) {
  int v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < 1 || v > kMaxConcurrency) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad concurrency '", whole, "': '", text,
                     "' is not a whole number in 1..", kMaxConcurrency,
                     " (examples: 16, 1:64:x2, 4:16:4)"));
  }
  return v;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  absl::string_view t = absl::StripAsciiWhitespace(text);
  size_t unit_at = 0;
  while (unit_at < t.size() &&
         (absl::ascii_isdigit(t[unit_at]) || t[unit_at] == '.')) {
    ++unit_at;
  }
  if (unit_at == 0) return DurationError(text, "it must start with a number");
  absl::string_view unit = t.substr(unit_at);
  if (unit.empty())
    return DurationError(text, "it needs a unit (ns, us, ms, s, m or h)");
  double value = 0;
  if (!absl::SimpleAtod(t.substr(0, unit_at), &value) ||
      !std::isfinite(value)) {
    return DurationError(text, "the number is not valid");
  }
  double unit_ns = 0;
  if (unit == "ns") {
    unit_ns = 1;
  } else if (unit == "us" || unit == "µs") {
    unit_ns = 1e3;
  } else if (unit == "ms") {
    unit_ns = 1e6;
  } else if (unit == "s") {
    unit_ns = 1e9;
  } else if (unit == "m") {
    unit_ns = 60e9;
  } else if (unit == "h") {
    unit_ns = 3600e9;
  } else {
    return DurationError(text, absl::StrCat("unknown unit '", unit, "'"));
  }
  double ns = value * unit_ns;
  if (ns > 1e18) return DurationError(text, "it is too long");
  return absl::Nanoseconds(std::llround(ns));
}

absl::StatusOr<std::vector<int>> ParseConcurrencyLevels(
    absl::string_view text) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::StripAsciiWhitespace(text), ':');
  if (parts.size() == 1) {
    auto one = ParseLevel(parts[0], text);
    if (!one.ok()) return one.status();
    return std::vector<int>{*one};
  }
  if (parts.size() > 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad concurrency '", text,
                     "': use N or START:END[:STEP] (examples: 16, 1:64:x2)"));
  }
  auto start = ParseLevel(parts[0], text);
  if (!start.ok()) return start.status();
  auto end = ParseLevel(parts[1], text);
  if (!end.ok()) return end.status();
  if (*end < *start) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad concurrency '", text, "': END is smaller than START"));
  }
  bool multiply = false;
  int step = 1;
  if (parts.size() == 3) {
    absl::string_view s = parts[2];
    multiply = !s.empty() && (s[0] == 'x' || s[0] == '*');
    if (multiply) s.remove_prefix(1);
    auto parsed = ParseLevel(s, text);
    if (!parsed.ok()) return parsed.status();
    step = *parsed;
    if (multiply && step < 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad concurrency '", text, "': a factor must be at least x2"));
    }
  }
  std::vector<int> levels;
  for (int64_t v = *start; v <= *end; v = multiply ? v * step : v + step) {
    levels.push_back(static_cast<int>(v));
  }
  return levels;
}

std::string FormatLatency(int64_t ns) {
  double v = static_cast<double>(ns);
  if (ns < 1000) return absl::StrCat(ns, "ns");
  if (ns < 1000000) return absl::StrFormat("%.0fus", v / 1e3);
  if (ns < 10000000) return absl::StrFormat("%.2fms", v / 1e6);
  if (ns < 1000000000) return absl::StrFormat("%.1fms", v / 1e6);
  return absl::StrFormat("%.2fs", v / 1e9);
}

}  // namespace spatial::loadtest
