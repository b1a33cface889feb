#include "src/loadtest/threshold.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "src/loadtest/parse.h"

namespace spatial::loadtest {
namespace {

absl::Status Bad(absl::string_view expression, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "bad threshold '", expression, "': ", why,
      " (examples: p95<1500ms, p99<=20ms, error_rate<0.01, rps>100, max<2s)"));
}

bool IsLatency(Metric m) {
  return m == Metric::kQuantile || m == Metric::kMax || m == Metric::kMin ||
         m == Metric::kMean;
}

absl::Status ParseMetric(absl::string_view name, absl::string_view expression,
                         Threshold* t) {
  std::string n = absl::AsciiStrToLower(name);
  if (n == "max") {
    t->metric = Metric::kMax;
  } else if (n == "min") {
    t->metric = Metric::kMin;
  } else if (n == "mean" || n == "avg") {
    t->metric = Metric::kMean;
  } else if (n == "error_rate") {
    t->metric = Metric::kErrorRate;
  } else if (n == "rps") {
    t->metric = Metric::kRps;
  } else if (n == "med") {
    t->quantile = 0.5;
  } else if (absl::ConsumePrefix(&name, "p") ||
             absl::ConsumePrefix(&name, "P")) {
    // p95, p99.9, and k6's p(95)
    if (absl::ConsumePrefix(&name, "(") && !absl::ConsumeSuffix(&name, ")")) {
      return Bad(expression, "unbalanced parenthesis in the percentile");
    }
    double pct = 0;
    if (!absl::SimpleAtod(name, &pct) || !(pct > 0 && pct <= 100)) {
      return Bad(
          expression,
          "a percentile is p followed by a number in (0, 100], like p99.9");
    }
    t->quantile = pct / 100;
  } else {
    return Bad(expression,
               absl::StrCat(
                   "unknown metric '", name,
                   "' (use p50..p99.9, med, max, min, mean, error_rate, rps)"));
  }
  return absl::OkStatus();
}

absl::Status ParseLimit(absl::string_view value, absl::string_view expression,
                        Threshold* t) {
  if (value.empty()) return Bad(expression, "the limit is missing");
  if (IsLatency(t->metric)) {
    double ms = 0;
    if (absl::SimpleAtod(value, &ms)) {  // a bare number: milliseconds, as k6
      if (!std::isfinite(ms) || ms < 0)
        return Bad(expression, "the limit must be >= 0");
      // ParseDuration's bound: a limit in nanoseconds stays finite.
      if (ms > 1e12) return Bad(expression, "the limit is too long");
      t->limit = ms * 1e6;
      return absl::OkStatus();
    }
    auto d = ParseDuration(value);
    if (!d.ok()) return Bad(expression, d.status().message());
    t->limit = static_cast<double>(absl::ToInt64Nanoseconds(*d));
    return absl::OkStatus();
  }
  bool percent = absl::ConsumeSuffix(&value, "%");
  double v = 0;
  if (!absl::SimpleAtod(value, &v) || !std::isfinite(v) || v < 0) {
    return Bad(expression, "the limit must be a number >= 0");
  }
  if (t->metric == Metric::kErrorRate) {
    if (percent) v /= 100;
    if (v > 1)
      return Bad(expression,
                 "error_rate is a fraction in [0, 1] (or a percentage)");
  } else if (percent) {
    return Bad(expression,
               "rps takes a number of requests per second, not a percentage");
  }
  t->limit = v;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Threshold> ParseThreshold(absl::string_view expression) {
  Threshold t;
  t.expression = std::string(absl::StripAsciiWhitespace(expression));
  std::string compact =
      absl::StrReplaceAll(t.expression, {{" ", ""}, {"\t", ""}});
  size_t op_at = compact.find_first_of("<>=!");
  if (op_at == std::string::npos || op_at == 0) {
    return Bad(t.expression,
               "expected METRIC OP LIMIT with OP one of < <= > >=");
  }
  absl::string_view rest = absl::string_view(compact).substr(op_at);
  if (absl::ConsumePrefix(&rest, "<=")) {
    t.op = Comparison::kLessEqual;
  } else if (absl::ConsumePrefix(&rest, ">=")) {
    t.op = Comparison::kGreaterEqual;
  } else if (absl::ConsumePrefix(&rest, "<")) {
    t.op = Comparison::kLess;
  } else if (absl::ConsumePrefix(&rest, ">")) {
    t.op = Comparison::kGreater;
  } else {
    return Bad(t.expression, "the operator must be one of < <= > >=");
  }
  absl::Status s = ParseMetric(absl::string_view(compact).substr(0, op_at),
                               t.expression, &t);
  if (!s.ok()) return s;
  s = ParseLimit(rest, t.expression, &t);
  if (!s.ok()) return s;
  return t;
}

ThresholdOutcome Evaluate(const Threshold& t, const LevelResult& level,
                          int level_index) {
  ThresholdOutcome out{.expression = t.expression,
                       .level = level_index,
                       .limit = t.limit,
                       .latency = IsLatency(t.metric)};
  const LatencyHistogram& h = level.stats.latency;
  switch (t.metric) {
    case Metric::kQuantile:
      out.observed = static_cast<double>(h.ValueAtQuantile(t.quantile));
      break;
    case Metric::kMax:
      out.observed = static_cast<double>(h.max_ns());
      break;
    case Metric::kMin:
      out.observed = static_cast<double>(h.min_ns());
      break;
    case Metric::kMean:
      out.observed = h.mean_ns();
      break;
    case Metric::kErrorRate:
      out.observed = level.stats.error_rate();
      break;
    case Metric::kRps:
      out.observed = level.throughput();
      break;
  }
  switch (t.op) {
    case Comparison::kLess:
      out.passed = out.observed < t.limit;
      break;
    case Comparison::kLessEqual:
      out.passed = out.observed <= t.limit;
      break;
    case Comparison::kGreater:
      out.passed = out.observed > t.limit;
      break;
    case Comparison::kGreaterEqual:
      out.passed = out.observed >= t.limit;
      break;
  }
  if (out.latency && h.count() == 0) out.passed = false;
  return out;
}

std::vector<ThresholdOutcome> EvaluateAll(
    const std::vector<Threshold>& thresholds,
    const std::vector<LevelResult>& levels) {
  std::vector<ThresholdOutcome> out;
  for (const Threshold& t : thresholds) {
    for (size_t i = 0; i < levels.size(); ++i) {
      out.push_back(Evaluate(t, levels[i], static_cast<int>(i)));
    }
  }
  return out;
}

}  // namespace spatial::loadtest
