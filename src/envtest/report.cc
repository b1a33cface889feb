#include "src/envtest/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spatial::envtest {
namespace {

using Json = nlohmann::json;

// A compact one-line rendering of a measured value or threshold:
// "0.9917" for one field, "accuracy=0.9917 samples=120" for several.
std::string Short(const Json& j) {
  auto value = [](const Json& v) {
    if (v.is_number_float()) return absl::StrFormat("%.4g", v.get<double>());
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  if (j.is_null()) return "-";
  if (!j.is_object()) return value(j);
  if (j.size() == 1) return value(j.begin().value());
  std::string out;
  for (const auto& [k, v] : j.items())
    absl::StrAppend(&out, out.empty() ? "" : " ", k, "=", value(v));
  return out;
}

}  // namespace

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\n':
        out += "&#10;";
        break;
      default:
        // Control characters are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

Json ReportJson(const RunResult& run) {
  Json envs = Json::object();
  int passed = 0, failed = 0, errors = 0;
  for (const EnvironmentResult& e : run.environments) {
    Json tests = Json::array();
    for (const TestResult& t : e.tests) {
      passed += t.status == TestStatus::kPassed;
      failed += t.status == TestStatus::kFailed;
      errors += t.status == TestStatus::kError;
      Json jt = {{"category", t.category},
                 {"name", t.name},
                 {"status", StatusName(t.status)},
                 {"reason", t.reason},
                 {"measured", t.measured},
                 {"threshold", t.threshold},
                 {"seconds", t.seconds}};
      if (!t.details.is_null()) jt["details"] = t.details;
      tests.push_back(std::move(jt));
    }
    envs[e.environment] = {
        {"status",
         e.failures() == 0 && e.setup_error.empty() ? "passed" : "failed"},
        {"server", {{"pid", e.pid}, {"port", e.port}}},
        {"setup_error",
         e.setup_error.empty() ? Json(nullptr) : Json(e.setup_error)},
        {"tests", tests}};
  }
  return {
      {"tool", "spatial envtest"},
      {"started_at", run.started_at},
      {"seconds", run.seconds},
      {"interrupted", run.interrupted},
      {"status", run.failures() == 0 && !run.interrupted ? "passed" : "failed"},
      {"summary",
       {{"tests", run.tests()},
        {"passed", passed},
        {"failed", failed},
        {"errors", errors}}},
      {"environments", envs}};
}

std::string JunitXml(const RunResult& run) {
  int failures = 0;
  for (const auto& e : run.environments) failures += e.failures();
  std::string out = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"spatial envtest\" tests=\"%d\" failures=\"%d\" "
      "errors=\"0\" time=\"%.3f\">\n",
      run.tests(), failures, run.seconds);
  for (const EnvironmentResult& e : run.environments) {
    double time = 0;
    for (const TestResult& t : e.tests) time += t.seconds;
    absl::StrAppendFormat(
        &out,
        "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" "
        "time=\"%.3f\" timestamp=\"%s\">\n",
        XmlEscape(e.environment), e.tests.size(), e.failures(), time,
        XmlEscape(run.started_at));
    for (const TestResult& t : e.tests) {
      absl::StrAppendFormat(&out,
                            "    <testcase classname=\"envtest.%s.%s\" "
                            "name=\"%s\" time=\"%.3f\"",
                            XmlEscape(e.environment), XmlEscape(t.category),
                            XmlEscape(t.name), t.seconds);
      if (t.ok()) {
        absl::StrAppend(&out, "/>\n");
        continue;
      }
      // An error is a failure (issue #5): both are <failure>.
      absl::StrAppendFormat(
          &out,
          ">\n      <failure message=\"%s\" type=\"%s\">measured: %s\n"
          "threshold: %s</failure>\n    </testcase>\n",
          XmlEscape(t.reason), StatusName(t.status),
          XmlEscape(t.measured.dump()), XmlEscape(t.threshold.dump()));
    }
    absl::StrAppend(&out, "  </testsuite>\n");
  }
  absl::StrAppend(&out, "</testsuites>\n");
  return out;
}

std::string SummaryTable(const RunResult& run) {
  std::string out =
      absl::StrFormat("%-12s %-15s %-42s %-7s %-12s %-12s\n", "environment",
                      "category", "test", "status", "measured", "threshold");
  for (const EnvironmentResult& e : run.environments) {
    if (!e.setup_error.empty()) {
      absl::StrAppendFormat(&out, "%-12s setup failed: %s\n", e.environment,
                            e.setup_error);
    }
    for (const TestResult& t : e.tests) {
      std::string name =
          t.name.size() > 42 ? t.name.substr(0, 39) + "..." : t.name;
      absl::StrAppendFormat(&out, "%-12s %-15s %-42s %-7s %-12s %-12s\n",
                            e.environment, t.category, name,
                            StatusName(t.status), Short(t.measured),
                            Short(t.threshold));
    }
  }
  int failures = run.failures();
  absl::StrAppendFormat(&out, "\n%d tests, %d passed, %d failed%s in %.1f s\n",
                        run.tests(), run.tests() - failures, failures,
                        run.interrupted ? " (interrupted)" : "", run.seconds);
  for (const EnvironmentResult& e : run.environments) {
    for (const TestResult& t : e.tests) {
      if (!t.ok()) {
        absl::StrAppendFormat(&out, "%s %s %s/%s: %s\n", StatusName(t.status),
                              e.environment, t.category, t.name, t.reason);
      }
    }
  }
  return out;
}

}  // namespace spatial::envtest
