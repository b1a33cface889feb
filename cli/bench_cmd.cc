// `spatial bench`: flags -> a load-test plan -> the runner -> table and
// reports; the exit code says whether every threshold held.
#include "cli/bench_cmd.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/loadtest/http/bench_runner.h"
#include "src/loadtest/parse.h"
#include "src/loadtest/report.h"
#include "src/loadtest/threshold.h"

namespace spatial::cli {
namespace {

namespace lt = spatial::loadtest;

struct BenchFlags {
  std::string url;
  std::string method, body, content_type, image, image_dir;
  std::vector<std::string> fields, headers, thresholds;
  std::string concurrency = "1";
  double rate = 0;
  std::string distribution = "constant";
  uint64_t seed = 1;
  int max_connections = 512;
  std::string duration = "10s", warmup = "0s", timeout = "10s", late = "1ms",
              window = "1s";
  uint64_t requests = 0;
  double stability_percent = 0;
  int max_windows = 10;
  int threads = 0;
  std::string json_path, csv_path;
  bool quiet = false;
  // Which of the defaulted flags were given.
  bool duration_given = false, concurrency_given = false, rate_given = false;
};

struct Plan {
  lt::http::BenchOptions options;
  std::vector<lt::Threshold> thresholds;
};

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseFields(
    const std::vector<std::string>& in) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& f : in) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--field takes NAME=VALUE (e.g. use_spatial=true), got '", f, "'"));
    }
    out.emplace_back(f.substr(0, eq), f.substr(eq + 1));
  }
  return out;
}

absl::StatusOr<Plan> MakePlan(const BenchFlags& f) {
  Plan plan;
  lt::http::BenchOptions& o = plan.options;
  ASSIGN_OR_RETURN(o.url, lt::ParseUrl(f.url));
  for (const std::string& t : f.thresholds) {
    ASSIGN_OR_RETURN(lt::Threshold threshold, lt::ParseThreshold(t));
    plan.thresholds.push_back(std::move(threshold));
  }
  if (f.rate_given && f.concurrency_given) {
    return absl::InvalidArgumentError(
        "give --concurrency (closed loop) or --rate (open loop), not both");
  }
  if (f.rate_given) {
    o.mode = lt::LoopMode::kOpen;
    o.rate = f.rate;
    ASSIGN_OR_RETURN(o.distribution, lt::ParseDistribution(f.distribution));
  } else {
    ASSIGN_OR_RETURN(o.concurrency, lt::ParseConcurrencyLevels(f.concurrency));
  }
  o.seed = f.seed;
  o.max_connections = f.max_connections;
  o.max_requests = f.requests;
  // --requests alone bounds the run by count; otherwise by time (10s default).
  if (f.duration_given || f.requests == 0) {
    ASSIGN_OR_RETURN(o.duration, lt::ParseDuration(f.duration));
  } else {
    o.duration = absl::ZeroDuration();
  }
  ASSIGN_OR_RETURN(o.warmup, lt::ParseDuration(f.warmup));
  ASSIGN_OR_RETURN(o.timeout, lt::ParseDuration(f.timeout));
  ASSIGN_OR_RETURN(o.late_tolerance, lt::ParseDuration(f.late));
  ASSIGN_OR_RETURN(o.window, lt::ParseDuration(f.window));
  o.stability_percent = f.stability_percent;
  o.max_windows = f.max_windows;
  int cores =
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.threads = f.threads > 0 ? f.threads : std::min(cores, 8);
  ASSIGN_OR_RETURN(auto fields, ParseFields(f.fields));
  auto requests = lt::BuildRequests(o.url, {.method = f.method,
                                            .body_file = f.body,
                                            .content_type = f.content_type,
                                            .image_file = f.image,
                                            .image_dir = f.image_dir,
                                            .fields = fields,
                                            .headers = f.headers});
  if (!requests.ok() && !absl::IsInvalidArgument(requests.status())) {
    // A payload file that cannot be read is a mistake in the command line
    // (exit 2), not a target that cannot be reached (exit 1).
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot build the request payload: ", requests.status().message(),
        " (--body, --image and --image-dir name files that must exist and "
        "be readable); nothing was sent"));
  }
  if (!requests.ok()) return requests.status();
  o.requests = *std::move(requests);
  return plan;
}

// Many open-loop connections need more descriptors than the usual soft limit.
void RaiseDescriptorLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

void ShowProgress(const lt::http::Progress& p) {
  std::cerr
      << absl::StrFormat(
             "\r\033[K%s [%d/%d] %5.1fs %s answered %d failed %d  %.0f req/s",
             p.level_name, p.level + 1, p.levels, p.elapsed_seconds,
             p.warming_up ? "(warm-up)" : "", p.answered, p.failed,
             p.recent_rps)
      << std::flush;
}

absl::Status WriteOutput(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text;
    return absl::OkStatus();
  }
  return base::WriteFileAtomic(path, text);
}

CommandResult Run(const BenchFlags& f) {
  ASSIGN_OR_RETURN(Plan plan, MakePlan(f));
  RaiseDescriptorLimit();
  bool live = !f.quiet && isatty(STDERR_FILENO) != 0;
  lt::http::ProgressFn progress;
  if (live) progress = ShowProgress;
  auto levels = lt::http::RunBench(plan.options, progress);
  if (live) std::cerr << "\r\033[K" << std::flush;
  if (!levels.ok()) return levels.status();
  const lt::http::BenchOptions& o = plan.options;
  lt::Report report{.url = f.url,
                    .method = o.requests.method,
                    .payload = o.requests.description,
                    .threads = o.threads,
                    .warmup_seconds = absl::ToDoubleSeconds(o.warmup),
                    .levels = std::move(*levels)};
  report.thresholds = lt::EvaluateAll(plan.thresholds, report.levels);
  // With a report on stdout, the table goes to stderr.
  bool stdout_taken = f.json_path == "-" || f.csv_path == "-";
  (stdout_taken ? std::cerr : std::cout) << lt::ReportToTable(report);
  // A report that cannot be written fails the run (exit 1), after the other
  // report and the thresholds had their say.
  int rc = kExitOk;
  if (!f.json_path.empty()) {
    absl::Status s =
        WriteOutput(f.json_path, lt::ReportToJson(report).dump(2) + "\n");
    if (!s.ok()) {
      PrintError(WithContext("cannot write --json", s));
      rc = kExitFailed;
    }
  }
  if (!f.csv_path.empty()) {
    absl::Status s = WriteOutput(f.csv_path, lt::ReportToCsv(report));
    if (!s.ok()) {
      PrintError(WithContext("cannot write --csv", s));
      rc = kExitFailed;
    }
  }
  if (!report.passed()) {
    std::cerr << "bench: a threshold failed (exit " << kExitThresholdFailed
              << ")\n";
    return kExitThresholdFailed;
  }
  return rc;
}

}  // namespace

void AddBenchCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand("bench",
                                     "Load-test an HTTP endpoint: closed-loop "
                                     "sweep or open-loop rate, thresholds");
  cmd->footer(
      "Examples:\n"
      "  spatial bench http://127.0.0.1:8001/health --concurrency 64 "
      "--duration 10s\n"
      "  spatial bench http://127.0.0.1:8001/classify --image pizza.jpg \\\n"
      "      --field cache=false --concurrency 1:64:x2 --warmup 2s --duration "
      "10s --csv sweep.csv\n"
      "  (without cache=false the same image is answered from the server's "
      "prediction\n"
      "  cache after the first time; the table says how many answers were "
      "cached)\n"
      "  spatial bench http://127.0.0.1:8001/classify --image-dir var/eval \\\n"
      "      --rate 200 --distribution poisson --duration 30s \\\n"
      "      --threshold 'p95<1500ms' --threshold 'error_rate<0.01' --json "
      "bench.json\n"
      "Exit codes: 0 ok, 1 target unreachable (or a report not written), 2 "
      "usage error\n"
      "(bad flags, or a --body/--image/--image-dir file that cannot be "
      "read),\n"
      "99 a threshold failed. Latency is measured from the send (closed loop) "
      "or from the\n"
      "scheduled send time (open loop: a stalled server shows up, no "
      "coordinated omission).");
  cmd->add_option("url", f->url, "Target, e.g. http://127.0.0.1:8001/health")
      ->required();
  auto* payload = "Payload";
  cmd->add_option("--method", f->method,
                  "GET or POST (default: POST when a body is given)")
      ->group(payload);
  cmd->add_option("--body", f->body,
                  "POST this file as the raw body, e.g. --body req.json")
      ->group(payload);
  cmd->add_option("--content-type", f->content_type,
                  "Content-Type of --body (default application/octet-stream)")
      ->group(payload);
  cmd->add_option("--image", f->image,
                  "POST multipart/form-data with this file in field 'file', "
                  "e.g. --image a.jpg")
      ->group(payload);
  cmd->add_option("--image-dir", f->image_dir,
                  "Like --image, cycling through DIR/labels.csv "
                  "(path,label,class), e.g. "
                  "--image-dir var/eval")
      ->group(payload);
  cmd->add_option("--field", f->fields,
                  "Extra multipart form field NAME=VALUE (repeatable), e.g. "
                  "--field use_spatial=true")
      ->group(payload);
  cmd->add_option("--header", f->headers,
                  "Extra request header (repeatable), e.g. --header "
                  "'Authorization: Bearer T'")
      ->group(payload);
  auto* load = "Load";
  cmd->add_option(
         "--concurrency", f->concurrency,
         "Closed loop: connections each sending when answered; N, or a sweep "
         "START:END:xFACTOR / START:END:STEP, e.g. 1:64:x2 (default 1)")
      ->group(load);
  cmd->add_option("--rate", f->rate,
                  "Open loop: requests per second, e.g. --rate 500")
      ->group(load);
  cmd->add_option("--distribution", f->distribution,
                  "Open loop arrivals: constant or poisson (default constant)")
      ->group(load);
  cmd->add_option("--seed", f->seed, "Seed of the Poisson schedule (default 1)")
      ->group(load);
  cmd->add_option("--max-connections", f->max_connections,
                  "Open loop: connection pool bound; sends beyond it wait and "
                  "count as late "
                  "(default 512)")
      ->group(load);
  cmd->add_option("--threads", f->threads,
                  "Client threads (default: cores, at most 8)")
      ->group(load);
  auto* bounds = "Bounds";
  cmd->add_option("--duration", f->duration,
                  "Measured time per level after warm-up, e.g. 500ms, 10s, 2m "
                  "(default 10s)")
      ->group(bounds);
  cmd->add_option("--requests", f->requests,
                  "Measured requests per level; alone it replaces the 10s "
                  "default, e.g. 10000")
      ->group(bounds);
  cmd->add_option("--warmup", f->warmup,
                  "Excluded from results, e.g. --warmup 2s (default 0s)")
      ->group(bounds);
  cmd->add_option("--timeout", f->timeout,
                  "Per-request timeout, e.g. 2s (default 10s)")
      ->group(bounds);
  cmd->add_option("--late-tolerance", f->late,
                  "Open loop: a send later than this after its scheduled time "
                  "counts as late "
                  "(default 1ms)")
      ->group(bounds);
  cmd->add_option(
         "--stability-percent", f->stability_percent,
         "End a level when the last 3 windows' req/s and p95 agree within this "
         "percentage (perf_analyzer's rule), e.g. 10; 0 = off (default)")
      ->group(bounds);
  cmd->add_option("--window", f->window,
                  "Stability window, e.g. 2s (default 1s)")
      ->group(bounds);
  cmd->add_option("--max-windows", f->max_windows,
                  "Give up on stability after this many windows (default 10)")
      ->group(bounds);
  auto* out = "Output";
  cmd->add_option("--threshold", f->thresholds,
                  "Pass/fail criterion (repeatable), exit 99 when one fails: "
                  "p50..p99.9, max, "
                  "mean with a duration (p95<1500ms, p99<=20ms, max<2s), "
                  "error_rate<0.01, "
                  "rps>100")
      ->group(out);
  cmd->add_option("--json", f->json_path,
                  "Write the full report as JSON (- for stdout)")
      ->group(out);
  cmd->add_option(
         "--csv", f->csv_path,
         "Write one CSV row per level, perf_analyzer's columns (- for stdout)")
      ->group(out);
  cmd->add_flag("--quiet", f->quiet, "No live progress line on a terminal")
      ->group(out);
  cmd->callback([f, cmd, action] {
    f->duration_given = cmd->count("--duration") > 0;
    f->concurrency_given = cmd->count("--concurrency") > 0;
    f->rate_given = cmd->count("--rate") > 0;
    *action = [f] { return Run(*f); };
  });
}

}  // namespace spatial::cli
