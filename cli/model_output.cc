#include "cli/model_output.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "src/base/text.h"

namespace spatial::cli {

using registry::Json;

std::string FormatTable(std::vector<std::vector<std::string>> rows) {
  // Cells hold what users and imported files wrote: one line each, no
  // terminal controls.
  std::vector<size_t> width;
  size_t total = 0;
  for (auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) {
      r[i] = base::EscapeForTerminal(r[i]);
      width[i] = std::max(width[i], r[i].size());
    }
  }
  for (size_t w : width) total += w + 2;
  std::string out;
  out.reserve(total * rows.size());
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out.append(width[i] - r[i].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

std::string FormatVersionList(
    const std::vector<registry::ModelVersion>& versions,
    const std::map<std::string, std::string>& active,
    const std::map<std::string, std::vector<std::string>>& imported) {
  std::vector<std::vector<std::string>> rows = {
      {"VERSION", "TYPE", "ARCHITECTURE", "STATUS", "VALIDATED FOR",
       "ACTIVE IN", "SIZE MB", "CREATED"}};
  rows.reserve(versions.size() + 1);
  for (const auto& v : versions) {
    std::vector<std::string> active_in;
    for (const auto& [env, id] : active) {
      if (id == v.version_id) active_in.push_back(env);
    }
    std::string validated_for =
        v.deployment_environments.empty()
            ? "-"
            : absl::StrJoin(v.deployment_environments, ",");
    if (auto it = imported.find(v.version_id); it != imported.end()) {
      absl::StrAppend(&validated_for,
                      " (imported: ", absl::StrJoin(it->second, ","), ")");
    }
    rows.push_back({v.version_id, v.model_type, v.architecture,
                    std::string(ToString(v.validation_status)), validated_for,
                    active_in.empty() ? "-" : absl::StrJoin(active_in, ","),
                    absl::StrFormat("%.3f", v.size_mb()), v.creation_date});
  }
  return FormatTable(std::move(rows));
}

std::string FormatVersionInfo(
    const registry::ModelVersion& v,
    const std::vector<registry::ValidationRecord>& validations) {
  std::string out;
  auto line = [&](absl::string_view k, absl::string_view val) {
    absl::StrAppend(
        &out, absl::StrFormat("%-22s %s\n", k, base::EscapeForTerminal(val)));
  };
  auto esc = [](absl::string_view t) { return base::EscapeForTerminal(t); };
  line("version_id", v.version_id);
  line("model_type", v.model_type);
  line("architecture", v.architecture);
  line("file_path", v.file_path);
  line("creation_date", v.creation_date);
  line("registered_by", v.actor);
  line("checksum", absl::StrCat("sha256:", v.checksum));
  line("size",
       absl::StrFormat("%d bytes (%.3f MB)", v.size_bytes, v.size_mb()));
  line("validation_status", ToString(v.validation_status));
  line("tags", v.tags.empty() ? "-" : absl::StrJoin(v.tags, ", "));
  std::vector<std::string> metrics;
  for (const auto& [k, val] : v.performance_metrics)
    metrics.push_back(absl::StrCat(k, "=", val));
  line("performance_metrics",
       metrics.empty() ? "-" : absl::StrJoin(metrics, ", "));
  line("compatibility_info", v.compatibility_info.dump());
  absl::StrAppend(&out, "files:\n");
  for (const auto& f : v.files) {
    absl::StrAppend(&out, absl::StrFormat("  %-30s %12d  %s\n", esc(f.path),
                                          f.size, f.sha256));
  }
  absl::StrAppend(&out, "validations:\n");
  if (validations.empty()) absl::StrAppend(&out, "  (none)\n");
  for (const auto& r : validations) {
    const bool imported = registry::IsImportedValidation(r.result);
    absl::StrAppend(
        &out, absl::StrFormat(
                  "  %-12s %-8s %s by %s%s\n", esc(r.environment),
                  imported ? "imported" : (r.valid ? "valid" : "invalid"),
                  esc(r.validated_at), esc(r.actor),
                  r.override_reason.empty()
                      ? ""
                      : absl::StrCat(" (CPU override: ", esc(r.override_reason),
                                     ")")));
    absl::StrAppend(&out, FormatValidationDetail(v, r));
  }
  return out;
}

std::string FormatValidationDetail(const registry::ModelVersion& v,
                                   const registry::ValidationRecord& r) {
  const std::string pad = "      ";
  if (registry::IsImportedValidation(r.result)) {
    const Json& c = r.result.value("claimed", Json::object());
    // Every claimed value came from an imported file: shown escaped, and a
    // value of another JSON type shown as "?".
    auto text = [&c](const char* key) {
      auto it = c.find(key);
      return base::EscapeForTerminal(
          it != c.end() && it->is_string() ? it->get<std::string>() : "?");
    };
    auto from = r.result.find("imported_from");
    const bool claimed_valid = c.contains("valid") && c["valid"].is_boolean() &&
                               c["valid"].get<bool>();
    return absl::StrCat(
        pad, "from ",
        base::EscapeForTerminal(from != r.result.end() && from->is_string()
                                    ? from->get<std::string>()
                                    : "?"),
        ": claimed ", claimed_valid ? "valid" : "invalid", " by ",
        text("actor"), " at ", text("at"),
        "; history only, counts for no promotion\n");
  }
  registry::MeasureResult mr = registry::MeasureResultOf(r.result);
  if (!mr.measurement) {
    return absl::StrCat(pad, "not measured",
                        mr.why.empty() ? "" : absl::StrCat(": ", mr.why), "\n");
  }
  const registry::Measurement& m = *mr.measurement;
  auto declared = [&v](const char* name, const char* unit) {
    auto it = v.performance_metrics.find(name);
    return it == v.performance_metrics.end()
               ? std::string(", nothing declared")
               : absl::StrFormat(", declared %.4g%s", it->second, unit);
  };
  std::vector<std::string> recall;
  for (const auto& [cls, val] : m.per_class_recall)
    recall.push_back(absl::StrFormat("%s %.2f", cls, val));
  return absl::StrCat(
      absl::StrFormat("%smeasured accuracy %.4f%s\n", pad, m.accuracy,
                      declared("accuracy", "")),
      absl::StrFormat("%slatency p50 %.3f ms, p95 %.3f ms (batch 1%s)\n", pad,
                      m.latency_p50_ms, m.latency_p95_ms,
                      declared("inference_time_ms", " ms")),
      pad, "recall ", absl::StrJoin(recall, ", "), "\n",
      absl::StrFormat("%son %d images of %s (sha256 %s)\n", pad, m.n, m.set,
                      m.set_digest),
      absl::StrFormat("%sby %s on %s in %.1f s\n", pad, m.engine, m.host,
                      m.seconds));
}

Json EventToJson(const registry::DeploymentEvent& e) {
  return {{"seq", e.seq},
          {"environment", e.environment},
          {"version_id", e.version_id},
          {"previous_version_id", e.previous_version_id},
          {"kind", ToString(e.kind)},
          {"actor", e.actor},
          {"reason", e.reason},
          {"created_at", e.created_at}};
}

std::string FormatHistory(
    const std::vector<registry::DeploymentEvent>& events) {
  std::vector<std::vector<std::string>> rows = {{"SEQ", "TIME", "ENVIRONMENT",
                                                 "KIND", "VERSION", "PREVIOUS",
                                                 "BY", "REASON"}};
  for (const auto& e : events) {
    rows.push_back({absl::StrCat(e.seq), e.created_at, e.environment,
                    std::string(ToString(e.kind)), e.version_id,
                    e.previous_version_id.empty() ? "-" : e.previous_version_id,
                    e.actor, e.reason.empty() ? "-" : e.reason});
  }
  return FormatTable(rows);
}

std::string FormatRollbackPlan(const registry::RollbackPlan& plan) {
  std::string out =
      absl::StrCat("environment: ", base::EscapeForTerminal(plan.environment),
                   "\nactive:      ",
                   plan.active_version.empty()
                       ? "(none)"
                       : base::EscapeForTerminal(plan.active_version),
                   "\n");
  if (plan.candidates.empty()) {
    absl::StrAppend(
        &out,
        "no rollback candidates: no previously active version is still "
        "validated for this environment\n");
    return out;
  }
  absl::StrAppend(&out,
                  "candidates (newest first; the first is recommended):\n");
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    rows.push_back(
        {i == 0 ? "  * " : "    ", plan.candidates[i].version_id,
         absl::StrCat("last active from ", plan.candidates[i].last_active_at)});
  }
  absl::StrAppend(&out, FormatTable(rows));
  absl::StrAppend(
      &out, "nothing changed (--plan); run without --plan to roll back\n");
  return out;
}

}  // namespace spatial::cli
