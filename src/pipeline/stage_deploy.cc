// Stage 8, deployment: promote in the registry; with --server (one or a
// fleet), wait until every server reports the new version (each one's time
// from the promotion's commit is measured) and pass a post-deploy check on
// each (health, a labelled canary batch through /classify, latency); on
// failure roll back automatically with the reason in the history and wait
// until every server is back on the version rolled back to.
#include <algorithm>
#include <map>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/pipeline/fleet.h"
#include "src/pipeline/http_client.h"
#include "src/pipeline/stages.h"

namespace spatial::pipeline {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr const char* kStage = "deployment";

// The canary: the rendered pizzas in `dir` with their labels through
// /classify of one server.
absl::Status Canary(const PipelineState& s, const std::string& dir,
                    const HttpUrl& server, Json* report) {
  auto labels = base::ReadFile(dir + "/labels.csv");
  if (!labels.ok()) return labels.status();
  std::vector<std::string> classes;
  std::map<std::string, std::map<std::string, int>> matrix;
  std::vector<double> latencies;
  int correct = 0, total = 0, errors = 0;
  bool header = true;
  for (absl::string_view line :
       absl::StrSplit(*labels, '\n', absl::SkipEmpty())) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() < 3) continue;
    const std::string& truth = f[2];
    if (std::find(classes.begin(), classes.end(), truth) == classes.end()) {
      classes.push_back(truth);
    }
    auto data = base::ReadFile(dir + "/" + f[0]);
    if (!data.ok()) return data.status();
    const auto started = Clock::now();
    auto a = HttpPostFile(server, "/classify", f[0], *data,
                          std::chrono::seconds(10));
    latencies.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - started)
            .count());
    ++total;
    Json j = a.ok() ? Json::parse(a->body, nullptr, false) : Json();
    if (!a.ok() || a->status != 200 || !j.is_object()) {
      ++errors;
      continue;
    }
    std::string pred = j.value("predicted_class", "");
    matrix[truth][pred]++;
    if (pred == truth) ++correct;
  }
  std::vector<double> sorted = latencies;
  std::sort(sorted.begin(), sorted.end());
  double p95 = sorted.empty() ? 0 : sorted[(sorted.size() * 95 - 1) / 100];
  double accuracy = total == 0 ? 0 : static_cast<double>(correct) / total;
  Json cm = Json::array();
  for (const auto& t : classes) {
    Json row = Json::array();
    for (const auto& p : classes) row.push_back(matrix[t][p]);
    cm.push_back(row);
  }
  const double need_acc = EnvRequirement(s, "accuracy", 0.7);
  const double need_p95 = EnvRequirement(s, "inference_time_ms", 3000);
  *report = {{"images", total},
             {"errors", errors},
             {"accuracy", accuracy},
             {"accuracy_threshold", need_acc},
             {"p95_ms", p95},
             {"p95_threshold_ms", need_p95},
             {"latencies_ms", latencies},
             {"classes", classes},
             {"confusion_matrix", cm}};
  if (total == 0) return absl::FailedPreconditionError("canary had no images");
  if (errors > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(errors, " of ", total, " canary requests failed"));
  }
  if (accuracy < need_acc) {
    return absl::FailedPreconditionError(
        absl::StrFormat("canary accuracy %.4f < %.4g required on %d images",
                        accuracy, need_acc, total));
  }
  if (p95 > need_p95) {
    return absl::FailedPreconditionError(
        absl::StrFormat("canary p95 %.1f ms > %.0f ms", p95, need_p95));
  }
  return absl::OkStatus();
}

double MsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Put before a rehearsal's reasons, so that no reader of the report takes it
// for a deployment.
std::string Mode(const PipelineConfig& c) {
  return c.rehearsal ? "REHEARSAL in a throwaway registry (nothing a fleet "
                       "follows was changed): "
                     : "";
}

// The post-deploy check on every server of report["fleet"] (each one serves
// the version): ready, then the canary. Every server is checked; the first
// failure is returned. The first server's canary is also report["canary"]
// (the HTML report's plots).
absl::Status CheckFleet(const PipelineConfig& c, const PipelineState& s,
                        Json* report) {
  const std::string dir = ArtifactPath(c, "canary");
  RETURN_IF_ERROR(RenderImages(c, kStage, dir, c.canary_per_class, 4242));
  absl::Status first = absl::OkStatus();
  Json& fleet = (*report)["fleet"];
  for (size_t i = 0; i < c.servers.size(); ++i) {
    auto url = ParseHttpUrl(c.servers[i]);
    absl::Status st = url.status();
    if (st.ok()) {
      auto ready = HttpGet(*url, "/v2/health/ready", std::chrono::seconds(5));
      if (!ready.ok() || ready->status != 200) {
        st = absl::UnavailableError("not ready after the swap");
      }
    }
    if (st.ok()) {
      Json canary;
      st = Canary(s, dir, *url, &canary);
      fleet[i]["canary"] = canary;
      if (i == 0) (*report)["canary"] = canary;
    }
    fleet[i]["post_deploy_check"] =
        st.ok() ? "passed" : std::string(st.message());
    if (!st.ok() && first.ok()) {
      first = absl::Status(
          st.code(), absl::StrCat("server ", c.servers[i], ": ", st.message()));
    }
  }
  // Through the Service: the canary lands on whichever replicas it picks.
  if (!c.canary_url.empty()) {
    auto url = ParseHttpUrl(c.canary_url);
    absl::Status st = url.status();
    if (st.ok()) {
      Json canary;
      st = Canary(s, dir, *url, &canary);
      (*report)["service"]["canary"] = canary;
      if (c.servers.empty()) (*report)["canary"] = canary;
    }
    (*report)["service"]["post_deploy_check"] =
        st.ok() ? "passed" : std::string(st.message());
    if (!st.ok() && first.ok()) {
      first = absl::Status(
          st.code(),
          absl::StrCat("--canary-url ", c.canary_url, ": ", st.message()));
    }
  }
  return first;
}

// "; through URL: replicas a:1, b:7 serve it (N ms after the commit)".
std::string Behind(const ServiceWait& w) {
  return absl::StrFormat("; through %s: replica(s) %s serve it (%.0f ms)",
                         w.url, ServingReplicas(w), w.after_ms);
}

// "a, b ms": each server's time from the promotion's commit to serving it.
std::string Times(const std::vector<ServerWait>& waits) {
  std::string out;
  for (const auto& w : waits) {
    absl::StrAppend(&out, out.empty() ? "" : ", ",
                    absl::StrFormat("%.0f", w.after_ms));
  }
  return absl::StrCat(out, " ms");
}

}  // namespace

StageResult RunDeploymentStage(const PipelineConfig& c, PipelineState* s) {
  const std::string log = LogPath(c, kStage);
  std::vector<std::string> model = {"model"};
  for (auto& a : RegistryArgs(c)) model.push_back(a);
  auto with = [&](std::vector<std::string> tail) {
    std::vector<std::string> args = model;
    args.insert(args.end(), tail.begin(), tail.end());
    return args;
  };
  const auto started = Clock::now();
  auto p = RunSpatial(
      c, kStage,
      with({"promote", s->version_id, "--environment", c.environment,
            "--reason", absl::StrCat("spatial pipeline run ", c.run_id)}));
  // The command's transaction committed before it exited: times measured
  // from here are from the commit (at most the exit's few ms late).
  const auto committed = Clock::now();
  StageResult promoted = FromCommand(p, "spatial model promote", log);
  if (promoted.status != StageStatus::kPassed) {
    promoted.reason = Mode(c) + promoted.reason;
    return promoted;
  }
  Json report = {
      {"version", s->version_id},
      {"environment", c.environment},
      {"mode", c.rehearsal ? "rehearsal" : "deployment"},
      {"servers", c.servers},
      {"canary_url", c.canary_url},
      {"promotion", {{"command_ms", MsBetween(started, committed)}}}};
  std::string report_path = ReportPath(c, "deployment.json");
  auto finish = [&](StageResult r) {
    r.reason = Mode(c) + r.reason;
    (void)base::WriteFileAtomic(report_path, report.dump(2) + "\n");
    r.log_path = log;
    r.report_path = report_path;
    return r;
  };
  if (c.servers.empty() && c.canary_url.empty()) {
    return finish(StageResult::Passed(
        absl::StrCat("promoted ", s->version_id, " to ", c.environment,
                     "; no --server or --canary-url given, so no post-deploy "
                     "check")));
  }

  const std::chrono::seconds timeout(c.deploy_timeout_s);
  auto waits =
      WaitForVersionOnAll(c.servers, s->version_id, committed, timeout);
  report["fleet"] = WaitsToJson(waits);
  absl::Status check = FirstFailure(waits);
  std::string service_note;
  if (check.ok() && !c.canary_url.empty()) {
    ServiceWait service =
        WaitForVersionBehind(c.canary_url, s->version_id, committed, timeout);
    report["service"] = ServiceWaitToJson(service);
    check = service.status;
    if (check.ok()) service_note = Behind(service);
  }
  if (check.ok()) check = CheckFleet(c, *s, &report);
  report["post_deploy_check"] =
      check.ok() ? "passed" : std::string(check.message());
  if (check.ok()) {
    return finish(StageResult::Passed(absl::StrCat(
        "promoted ", s->version_id, " to ", c.environment,
        c.servers.empty()
            ? std::string()
            : absl::StrCat("; ", c.servers.size(), " server(s) serve it (",
                           Times(waits), " after the commit)"),
        service_note, "; canary passed on each")));
  }

  std::string why = absl::StrCat("post-deploy check failed: ", check.message());
  const std::string rollback_out = ArtifactPath(c, "rollback.out");
  auto rb = RunSpatial(
      c, kStage,
      with({"rollback", "--environment", c.environment, "--reason",
            absl::StrCat("spatial pipeline run ", c.run_id, ": ", why)}),
      rollback_out);
  const auto rolled = Clock::now();
  StageResult done = FromCommand(rb, "spatial model rollback", log);
  report["rollback"] = {{"status", StatusName(done.status)},
                        {"reason", done.reason}};
  if (done.status != StageStatus::kPassed) {
    return finish(StageResult::Failed(
        absl::StrCat(why, "; ROLLBACK FAILED: ", done.reason)));
  }
  // "rolled back E from X to Y": Y is what every server must return to.
  auto out = base::ReadFile(rollback_out);
  std::string target;
  if (out.ok()) {
    auto at = out->rfind(" to ");
    if (at != std::string::npos) {
      target = std::string(absl::StripAsciiWhitespace(out->substr(at + 4)));
    }
  }
  report["rollback"]["version"] = target;
  std::string back = "see spatial model history";
  if (!target.empty()) {
    auto returned = WaitForVersionOnAll(c.servers, target, rolled, timeout);
    report["rollback"]["fleet"] = WaitsToJson(returned);
    absl::Status st = FirstFailure(returned);
    if (st.ok() && !c.canary_url.empty()) {
      ServiceWait service =
          WaitForVersionBehind(c.canary_url, target, rolled, timeout);
      report["rollback"]["service"] = ServiceWaitToJson(service);
      st = service.status;
    }
    back = st.ok() ? absl::StrCat(
                         c.servers.size(), " server(s) serve ", target,
                         " again (", Times(returned), " after it)",
                         c.canary_url.empty()
                             ? ""
                             : absl::StrCat(", and through ", c.canary_url))
                   : absl::StrCat("NOT BACK: ", st.message());
  }
  return finish(StageResult::Failed(absl::StrCat(
      why, "; rolled back automatically to ",
      target.empty() ? "the previous version" : target, " (", back, ")")));
}

}  // namespace spatial::pipeline
