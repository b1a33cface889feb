// Stage 8, deployment: promote in the registry; with --server, wait until the
// server reports the new version and pass a post-deploy check (health, a
// labelled canary batch through /classify, latency); on failure roll back
// automatically with the reason in the history.
#include <algorithm>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "src/base/files.h"
#include "src/pipeline/http_client.h"
#include "src/pipeline/stages.h"

namespace spatial::pipeline {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr const char* kStage = "deployment";

// Polls GET /health until models.spatial is `version`.
absl::Status WaitForVersion(const HttpUrl& server, const std::string& version,
                            std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "no answer";
  while (Clock::now() < deadline && !Interrupted()) {
    auto a = HttpGet(server, "/health", std::chrono::seconds(2));
    if (a.ok() && a->status == 200) {
      Json j = Json::parse(a->body, nullptr, false);
      // The version sits in the "spatial" or the "standard" slot.
      std::string now;
      bool serving = false;
      if (j.is_object() && j.contains("models") && j["models"].is_object()) {
        for (const auto& [slot, v] : j["models"].items()) {
          if (!v.is_string()) continue;
          absl::StrAppend(&now, now.empty() ? "" : ", ", slot, "=",
                          v.get<std::string>());
          serving = serving || v.get<std::string>() == version;
        }
      }
      if (serving && j.value("status", "") == "healthy") {
        return absl::OkStatus();
      }
      last = absl::StrCat("serving '", now, "', status ",
                          j.is_object() ? j.value("status", "?") : "?");
    } else {
      last = a.ok() ? absl::StrCat("HTTP ", a->status)
                    : std::string(a.status().message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("server did not report version ", version, " within ",
                   timeout.count(), " s (last: ", last, ")"));
}

// The canary: rendered pizzas with their labels through /classify.
absl::Status Canary(const PipelineConfig& c, const PipelineState& s,
                    const HttpUrl& server, Json* report) {
  std::string dir = ArtifactPath(c, "canary");
  if (auto st = RenderImages(c, kStage, dir, c.canary_per_class, 4242);
      !st.ok()) {
    return st;
  }
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
  auto p = RunSpatial(
      c, kStage,
      with({"promote", s->version_id, "--environment", c.environment,
            "--reason", absl::StrCat("spatial pipeline run ", c.run_id)}));
  StageResult promoted = FromCommand(p, "spatial model promote", log);
  if (promoted.status != StageStatus::kPassed) return promoted;
  if (c.server.empty()) {
    StageResult ok = StageResult::Passed(
        absl::StrCat("promoted ", s->version_id, " to ", c.environment,
                     "; no --server given, so no post-deploy check"));
    ok.log_path = log;
    return ok;
  }

  Json report = {{"version", s->version_id},
                 {"environment", c.environment},
                 {"server", c.server}};
  absl::Status check = absl::OkStatus();
  auto url = ParseHttpUrl(c.server);
  if (!url.ok()) {
    check = url.status();
  } else {
    check = WaitForVersion(*url, s->version_id,
                           std::chrono::seconds(c.deploy_timeout_s));
    if (check.ok()) {
      auto ready = HttpGet(*url, "/v2/health/ready", std::chrono::seconds(5));
      if (!ready.ok() || ready->status != 200) {
        check = absl::UnavailableError("server not ready after the swap");
      }
    }
    if (check.ok()) {
      Json canary;
      check = Canary(c, *s, *url, &canary);
      report["canary"] = canary;
    }
  }
  report["post_deploy_check"] =
      check.ok() ? "passed" : std::string(check.message());
  StageResult out;
  if (check.ok()) {
    out = StageResult::Passed(absl::StrCat(
        "promoted ", s->version_id, "; server serves it; canary passed"));
  } else {
    std::string why =
        absl::StrCat("post-deploy check failed: ", check.message());
    auto rb = RunSpatial(
        c, kStage,
        with({"rollback", "--environment", c.environment, "--reason",
              absl::StrCat("spatial pipeline run ", c.run_id, ": ", why)}));
    StageResult rolled = FromCommand(rb, "spatial model rollback", log);
    report["rollback"] = {{"status", StatusName(rolled.status)},
                          {"reason", rolled.reason}};
    out = StageResult::Failed(absl::StrCat(
        why, rolled.status == StageStatus::kPassed
                 ? "; rolled back automatically (see spatial model history)"
                 : absl::StrCat("; ROLLBACK FAILED: ", rolled.reason)));
  }
  std::string report_path = ReportPath(c, "deployment.json");
  (void)base::WriteFileAtomic(report_path, report.dump(2) + "\n");
  out.log_path = log;
  out.report_path = report_path;
  return out;
}

}  // namespace spatial::pipeline
