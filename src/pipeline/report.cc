#include "src/pipeline/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "src/base/files.h"

namespace spatial::pipeline {
namespace {

using Json = nlohmann::json;

std::string Xml(const std::string& s) {
  return absl::StrReplaceAll(s, {{"&", "&amp;"},
                                 {"<", "&lt;"},
                                 {">", "&gt;"},
                                 {"\"", "&quot;"},
                                 {"'", "&apos;"}});
}

}  // namespace

Json PipelineReportJson(const PipelineConfig& c, const PipelineState& s,
                        const std::vector<StageOutcome>& outcomes,
                        double seconds, int exit_code) {
  Json stages = Json::array();
  int counts[4] = {0, 0, 0, 0};
  for (const auto& o : outcomes) {
    counts[static_cast<int>(o.result.status)]++;
    Json stage = {{"position", o.position},
                  {"name", o.name},
                  {"status", StatusName(o.result.status)},
                  {"reason", o.result.reason},
                  {"seconds", o.result.seconds},
                  {"log", o.result.log_path},
                  {"report", o.result.report_path}};
    if (!o.result.details.is_null()) stage["details"] = o.result.details;
    stages.push_back(std::move(stage));
  }
  return {{"tool", "spatial pipeline run"},
          {"run_id", c.run_id},
          {"run_dir", c.run_dir},
          {"environment", c.environment},
          {"version_id", s.version_id},
          {"bundle", s.bundle_dir},
          {"servers", c.servers},
          {"canary_url", c.canary_url},
          // A rehearsal promoted into a throwaway registry: nothing a fleet
          // follows was changed, whatever the deployment stage reports.
          {"deployment_mode", c.rehearsal ? "rehearsal" : "deployment"},
          {"signing", s.signing},
          // Never silent: a GPU requirement waved through says so and why.
          {"cpu_override",
           c.cpu_override.empty() ? Json(nullptr) : Json(c.cpu_override)},
          {"seconds", seconds},
          {"exit_code", exit_code},
          {"status", exit_code == 0 ? "passed" : "failed"},
          {"summary",
           {{"stages", outcomes.size()},
            {"passed", counts[0]},
            {"failed", counts[1]},
            {"skipped", counts[2]},
            {"errors", counts[3]}}},
          {"stages", stages}};
}

std::string PipelineJUnit(const std::vector<StageOutcome>& outcomes,
                          double seconds) {
  int failures = 0, errors = 0, skipped = 0;
  std::string cases;
  for (const auto& o : outcomes) {
    const auto& r = o.result;
    absl::StrAppend(&cases,
                    absl::StrFormat("  <testcase classname=\"pipeline\" "
                                    "name=\"%d-%s\" time=\"%.3f\"",
                                    o.position, Xml(o.name), r.seconds));
    std::string body;
    switch (r.status) {
      case StageStatus::kPassed:
        break;
      case StageStatus::kFailed:
        ++failures;
        body = absl::StrCat("    <failure message=\"", Xml(r.reason), "\"/>\n");
        break;
      case StageStatus::kError:
        ++errors;
        body = absl::StrCat("    <error message=\"", Xml(r.reason), "\"/>\n");
        break;
      case StageStatus::kSkipped:
        ++skipped;
        body = absl::StrCat("    <skipped message=\"", Xml(r.reason), "\"/>\n");
        break;
    }
    if (!r.log_path.empty()) {
      absl::StrAppend(&body, "    <system-out>log: ", Xml(r.log_path),
                      "</system-out>\n");
    }
    absl::StrAppend(&cases,
                    body.empty() ? "/>\n" : ">\n" + body + "  </testcase>\n");
  }
  return absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
      absl::StrFormat("<testsuite name=\"spatial-pipeline\" tests=\"%d\" "
                      "failures=\"%d\" errors=\"%d\" skipped=\"%d\" "
                      "time=\"%.3f\">\n",
                      outcomes.size(), failures, errors, skipped, seconds),
      cases, "</testsuite>\n");
}

absl::StatusOr<std::string> WriteReports(
    const PipelineConfig& c, const PipelineState& s,
    const std::vector<StageOutcome>& outcomes, double seconds, int exit_code) {
  Json report = PipelineReportJson(c, s, outcomes, seconds, exit_code);
  if (auto st = base::WriteFileAtomic(ReportPath(c, "pipeline_report.json"),
                                      report.dump(2) + "\n");
      !st.ok()) {
    return st;
  }
  if (auto st = base::WriteFileAtomic(ReportPath(c, "pipeline_junit.xml"),
                                      PipelineJUnit(outcomes, seconds));
      !st.ok()) {
    return st;
  }
  std::string html = ReportPath(c, "index.html");
  if (auto st = base::WriteFileAtomic(html, PipelineHtml(report)); !st.ok()) {
    return st;
  }
  return html;
}

}  // namespace spatial::pipeline
