#include "src/loadtest/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "src/loadtest/parse.h"

namespace spatial::loadtest {
namespace {

using Json = nlohmann::json;

struct Quantile {
  const char* name;
  double q;
};
constexpr Quantile kQuantiles[] = {
    {"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}, {"p99.9", 0.999}};

double Ms(double ns) { return ns / 1e6; }
double Us(int64_t ns) { return static_cast<double>(ns) / 1e3; }

Json LevelToJson(const LevelResult& l) {
  const LatencyHistogram& h = l.stats.latency;
  Json latency = Json::object();
  for (const Quantile& q : kQuantiles) {
    latency[q.name] = Ms(static_cast<double>(h.ValueAtQuantile(q.q)));
  }
  latency["max"] = Ms(static_cast<double>(h.max_ns()));
  latency["min"] = Ms(static_cast<double>(h.min_ns()));
  latency["mean"] = Ms(h.mean_ns());
  Json errors = Json::object();
  for (int k = 0; k < kNumErrorKinds; ++k) {
    errors[ErrorKindName(static_cast<ErrorKind>(k))] = l.stats.errors[k];
  }
  Json codes = Json::object();
  for (const auto& [code, n] : l.stats.StatusCounts())
    codes[std::to_string(code)] = n;
  if (l.stats.other_status != 0) codes["other"] = l.stats.other_status;
  Json j = {
      {"name", LevelName(l)},
      {"mode", l.mode == LoopMode::kOpen ? "open" : "closed"},
      {"seconds", l.seconds},
      {"requests", l.stats.requests()},
      {"responses", l.stats.responses},
      {"failed", l.stats.failed()},
      {"throughput_rps", l.throughput()},
      {"error_rate", l.stats.error_rate()},
      {"latency_ms", latency},
      {"errors", errors},
      {"status_codes", codes},
      {"late_sends", l.stats.late_sends},
      {"warmup_requests", l.warmup_requests},
      {"peak_connections", l.peak_connections},
  };
  if (l.mode == LoopMode::kOpen) {
    j["rate"] = l.rate;
    j["distribution"] = DistributionName(l.distribution);
  } else {
    j["concurrency"] = l.concurrency;
  }
  if (l.windows > 0)
    j["stability"] = {{"windows", l.windows}, {"stable", l.stable}};
  // Only a server that says (pizza-api-spatial's X-Prediction-Cache).
  if (l.stats.cache_marked > 0) {
    j["prediction_cache"] = {{"marked", l.stats.cache_marked},
                             {"hits", l.stats.cache_hits}};
  }
  return j;
}

std::string FormatLimit(const ThresholdOutcome& t, double v) {
  if (t.latency) return FormatLatency(static_cast<int64_t>(v));
  return v >= 100 ? absl::StrFormat("%.0f", v) : absl::StrFormat("%.4g", v);
}

}  // namespace

bool Report::passed() const {
  for (const ThresholdOutcome& t : thresholds) {
    if (!t.passed) return false;
  }
  return true;
}

std::string LevelName(const LevelResult& level) {
  if (level.mode == LoopMode::kClosed)
    return absl::StrCat("c=", level.concurrency);
  return absl::StrFormat("%g/s %s", level.rate,
                         DistributionName(level.distribution));
}

Json ReportToJson(const Report& report) {
  Json levels = Json::array();
  for (const LevelResult& l : report.levels) levels.push_back(LevelToJson(l));
  Json thresholds = Json::array();
  for (const ThresholdOutcome& t : report.thresholds) {
    thresholds.push_back({{"expression", t.expression},
                          {"level", t.level},
                          {"observed", t.latency ? Ms(t.observed) : t.observed},
                          {"limit", t.latency ? Ms(t.limit) : t.limit},
                          {"unit", t.latency ? "ms" : ""},
                          {"passed", t.passed}});
  }
  return {
      {"tool", "spatial bench"},
      {"url", report.url},
      {"method", report.method},
      {"payload", report.payload},
      {"threads", report.threads},
      {"warmup_seconds", report.warmup_seconds},
      {"latency_measured_from",
       "the scheduled send time (open loop) or the send time (closed loop)"},
      {"levels", levels},
      {"thresholds", thresholds},
      {"passed", report.passed()}};
}

std::string ReportToCsv(const Report& report) {
  bool open =
      !report.levels.empty() && report.levels[0].mode == LoopMode::kOpen;
  std::string out = absl::StrCat(
      open ? "Request Rate" : "Concurrency",
      ",Inferences/Second,p50 latency,p90 latency,p95 latency,p99 latency,Avg "
      "latency,"
      "p99.9 latency,Max latency,Requests,Errors,Error Rate,Late Sends\n");
  for (const LevelResult& l : report.levels) {
    const LatencyHistogram& h = l.stats.latency;
    absl::StrAppendFormat(
        &out, "%s,%.1f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%d,%d,%.6f,%d\n",
        open ? absl::StrFormat("%g", l.rate) : absl::StrCat(l.concurrency),
        l.throughput(), Us(h.ValueAtQuantile(0.5)), Us(h.ValueAtQuantile(0.9)),
        Us(h.ValueAtQuantile(0.95)), Us(h.ValueAtQuantile(0.99)),
        h.mean_ns() / 1e3, Us(h.ValueAtQuantile(0.999)), Us(h.max_ns()),
        l.stats.requests(), l.stats.failed(), l.stats.error_rate(),
        l.stats.late_sends);
  }
  return out;
}

std::string ReportToTable(const Report& report) {
  std::string out = absl::StrFormat(
      "%s %s  payload: %s  threads: %d  warm-up: %gs\n", report.method,
      report.url, report.payload, report.threads, report.warmup_seconds);
  absl::StrAppendFormat(&out,
                        "%-18s %9s %8s %9s %9s %9s %9s %9s %9s %9s %8s %6s\n",
                        "level", "requests", "secs", "req/s", "p50", "p90",
                        "p95", "p99", "p99.9", "max", "errors", "late");
  for (const LevelResult& l : report.levels) {
    const LatencyHistogram& h = l.stats.latency;
    std::string name = LevelName(l);
    if (l.windows > 0)
      absl::StrAppend(&name, l.stable ? " (stable)" : " (unstable)");
    absl::StrAppendFormat(
        &out, "%-18s %9d %8.2f %9.1f %9s %9s %9s %9s %9s %9s %8d %6d\n", name,
        l.stats.requests(), l.seconds, l.throughput(),
        FormatLatency(h.ValueAtQuantile(0.5)),
        FormatLatency(h.ValueAtQuantile(0.9)),
        FormatLatency(h.ValueAtQuantile(0.95)),
        FormatLatency(h.ValueAtQuantile(0.99)),
        FormatLatency(h.ValueAtQuantile(0.999)), FormatLatency(h.max_ns()),
        l.stats.failed(), l.stats.late_sends);
  }
  for (const LevelResult& l : report.levels) {
    std::vector<std::string> parts;
    for (const auto& [code, n] : l.stats.StatusCounts())
      parts.push_back(absl::StrCat(code, ": ", n));
    std::vector<std::string> errs;
    for (int k = 0; k < kNumErrorKinds; ++k) {
      if (l.stats.errors[k] != 0) {
        errs.push_back(absl::StrCat(ErrorKindName(static_cast<ErrorKind>(k)),
                                    ": ", l.stats.errors[k]));
      }
    }
    absl::StrAppend(
        &out, LevelName(l), "  status {", absl::StrJoin(parts, ", "), "}",
        errs.empty()
            ? ""
            : absl::StrCat("  errors {", absl::StrJoin(errs, ", "), "}"),
        "  mean ",
        FormatLatency(static_cast<int64_t>(l.stats.latency.mean_ns())),
        "  connections ", l.peak_connections,
        l.stats.cache_marked == 0
            ? ""
            : absl::StrCat("  cached ", l.stats.cache_hits, " of ",
                           l.stats.cache_marked),
        "\n");
  }
  uint64_t hits = 0, marked = 0;
  for (const LevelResult& l : report.levels) {
    hits += l.stats.cache_hits;
    marked += l.stats.cache_marked;
  }
  if (hits > 0) {
    // The same image sent again is answered from the server's cache: say so,
    // or the latency above passes for the model's.
    absl::StrAppendFormat(
        &out,
        "note: %d of %d answers came from the server's prediction cache "
        "(%s: hit), not from the model; --field cache=false measures the "
        "model\n",
        hits, marked, kPredictionCacheHeader);
  }
  if (!report.thresholds.empty()) absl::StrAppend(&out, "thresholds:\n");
  for (const ThresholdOutcome& t : report.thresholds) {
    const LevelResult& l = report.levels[t.level];
    absl::StrAppend(&out, "  ", t.passed ? "PASS" : "FAIL", "  ", t.expression,
                    "  at ", LevelName(l), ": observed ",
                    FormatLimit(t, t.observed), ", limit ",
                    FormatLimit(t, t.limit), "\n");
  }
  return out;
}

}  // namespace spatial::loadtest
