#include "src/checks/check_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spatial::checks {

const char* StatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPassed:
      return "passed";
    case CheckStatus::kFailed:
      return "failed";
    case CheckStatus::kError:
      return "error";
    case CheckStatus::kSkipped:
      return "skipped";
  }
  return "error";
}

CheckResult Passed(nlohmann::json value, nlohmann::json threshold,
                   std::string reason) {
  return {CheckStatus::kPassed, std::move(value), std::move(threshold),
          std::move(reason)};
}

CheckResult Failed(nlohmann::json value, nlohmann::json threshold,
                   std::string reason) {
  return {CheckStatus::kFailed, std::move(value), std::move(threshold),
          std::move(reason)};
}

CheckResult Error(std::string reason) {
  return {CheckStatus::kError, nullptr, nullptr, std::move(reason)};
}

CheckResult Skipped(std::string reason, bool required) {
  return {CheckStatus::kSkipped, nullptr, nullptr, std::move(reason), required};
}

CheckResult Judge(bool ok, nlohmann::json value, nlohmann::json threshold,
                  std::string reason) {
  return ok ? Passed(std::move(value), std::move(threshold), std::move(reason))
            : Failed(std::move(value), std::move(threshold), std::move(reason));
}

void CheckReport::Add(const std::string& category, const std::string& test,
                      CheckResult result) {
  for (auto& [name, tests] : categories_) {
    if (name == category) {
      tests.emplace_back(test, std::move(result));
      return;
    }
  }
  categories_.push_back({category, {{test, std::move(result)}}});
}

CheckReport::Summary CheckReport::summary() const {
  Summary s;
  for (const auto& [category, tests] : categories_) {
    for (const auto& [name, r] : tests) {
      ++s.total;
      switch (r.status) {
        case CheckStatus::kPassed:
          ++s.passed;
          break;
        case CheckStatus::kFailed:
          ++s.failed;
          break;
        case CheckStatus::kError:
          ++s.errors;
          break;
        case CheckStatus::kSkipped:
          ++s.skipped;
          if (r.required) ++s.required_skipped;
          break;
      }
    }
  }
  return s;
}

nlohmann::json CheckReport::ToJson(const std::string& timestamp,
                                   double duration_seconds,
                                   const nlohmann::json& environment) const {
  nlohmann::json results = nlohmann::json::object();
  for (const auto& [category, tests] : categories_) {
    nlohmann::json c = nlohmann::json::object();
    for (const auto& [name, r] : tests) {
      c[name] = {{"status", StatusName(r.status)},
                 {"value", r.value},
                 {"threshold", r.threshold},
                 {"reason", r.reason},
                 {"required", r.required}};
    }
    results[category] = c;
  }
  Summary s = summary();
  return {{"timestamp", timestamp},
          {"duration", duration_seconds},
          {"environment", environment},
          {"results", results},
          {"summary",
           {{"total", s.total},
            {"passed", s.passed},
            {"failed", s.failed},
            {"errors", s.errors},
            {"skipped", s.skipped},
            {"required_skipped", s.required_skipped},
            {"deployment_ready", s.deployment_ready()}}}};
}

std::string CheckReport::ToText() const {
  std::string out;
  for (const auto& [category, tests] : categories_) {
    absl::StrAppend(&out, category, "\n");
    for (const auto& [name, r] : tests) {
      const char* mark = r.status == CheckStatus::kPassed   ? "PASS"
                         : r.status == CheckStatus::kFailed ? "FAIL"
                         : r.status == CheckStatus::kError  ? "ERROR"
                         : r.required                       ? "SKIP!"
                                                            : "skip";
      absl::StrAppend(
          &out, absl::StrFormat("  %-6s %-36s %s\n", mark, name, r.reason));
    }
  }
  Summary s = summary();
  absl::StrAppend(
      &out, "\n", s.total, " checks: ", s.passed, " passed, ", s.failed,
      " failed, ", s.errors, " errors, ", s.skipped, " skipped",
      s.required_skipped ? " (required: " : "",
      s.required_skipped ? absl::StrCat(s.required_skipped, ")") : "",
      "; deployment ready: ", s.deployment_ready() ? "yes" : "NO", "\n");
  return out;
}

}  // namespace spatial::checks
