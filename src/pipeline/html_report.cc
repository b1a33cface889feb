// reports/index.html: the stage table and plots drawn as inline SVG from the
// stage reports (bench JSON, envtest JSON, the deployment canary).
#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "src/base/files.h"
#include "src/pipeline/report.h"

namespace spatial::pipeline {
namespace {

using Json = nlohmann::json;

std::string Esc(const std::string& s) {
  return absl::StrReplaceAll(
      s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

Json LoadJson(const std::string& path) {
  if (path.empty()) return nullptr;
  auto text = base::ReadFile(path);
  return text.ok() ? Json::parse(*text, nullptr, false) : Json();
}

// The report of the stage `name` (null when absent or unreadable).
Json StageReport(const Json& report, const std::string& name) {
  for (const auto& s : report["stages"]) {
    if (s.value("name", "") == name) return LoadJson(s.value("report", ""));
  }
  return nullptr;
}

// The first object under `j` holding "confusion_matrix" and "classes".
const Json* FindConfusion(const Json& j) {
  if (j.is_object() && j.contains("confusion_matrix") &&
      j.contains("classes") && j["confusion_matrix"].is_array() &&
      j["classes"].is_array()) {
    return &j;
  }
  if (j.is_structured()) {
    for (const auto& v : j) {
      if (const Json* f = FindConfusion(v)) return f;
    }
  }
  return nullptr;
}

constexpr int kW = 520, kH = 260, kL = 56, kB = 40, kT = 16, kR = 16;

std::string Axes(const std::string& xlabel, const std::string& ylabel,
                 double ymax) {
  std::string out = absl::StrFormat(
      "<line x1='%d' y1='%d' x2='%d' y2='%d' class='ax'/>"
      "<line x1='%d' y1='%d' x2='%d' y2='%d' class='ax'/>",
      kL, kH - kB, kW - kR, kH - kB, kL, kT, kL, kH - kB);
  for (int i = 0; i <= 4; ++i) {
    double y = kH - kB - (kH - kB - kT) * i / 4.0;
    absl::StrAppend(&out, absl::StrFormat("<text x='%d' y='%.0f' class='tk' "
                                          "text-anchor='end'>%.3g</text>",
                                          kL - 4, y + 4, ymax * i / 4));
  }
  absl::StrAppend(
      &out,
      absl::StrFormat("<text x='%d' y='%d' class='lb' "
                      "text-anchor='middle'>%s</text>",
                      (kL + kW - kR) / 2, kH - 4, Esc(xlabel)),
      absl::StrFormat("<text x='12' y='%d' class='lb' "
                      "transform='rotate(-90 12 %d)' "
                      "text-anchor='middle'>%s</text>",
                      (kT + kH - kB) / 2, (kT + kH - kB) / 2, Esc(ylabel)));
  return out;
}

std::string Svg(const std::string& body) {
  return absl::StrFormat(
      "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
      "viewBox='0 0 %d %d'>%s</svg>",
      kW, kH, kW, kH, body);
}

// Histogram of the canary latencies, else the bench's percentiles.
std::string LatencyPlot(const Json& deploy, const Json& bench) {
  std::vector<double> lat;
  if (deploy.is_object() && deploy.contains("canary") &&
      deploy["canary"].contains("latencies_ms")) {
    for (const auto& v : deploy["canary"]["latencies_ms"]) {
      lat.push_back(v.get<double>());
    }
  }
  if (!lat.empty()) {
    const int bins = 12;
    double lo = *std::min_element(lat.begin(), lat.end());
    double hi = *std::max_element(lat.begin(), lat.end());
    double width = std::max((hi - lo) / bins, 1e-3);
    std::vector<int> n(bins, 0);
    for (double v : lat) {
      n[std::min(bins - 1, static_cast<int>((v - lo) / width))]++;
    }
    int top = *std::max_element(n.begin(), n.end());
    std::string body = Axes("latency (ms)", "requests", top);
    double bw = (kW - kL - kR) / static_cast<double>(bins);
    for (int i = 0; i < bins; ++i) {
      double h = (kH - kB - kT) * n[i] / static_cast<double>(top);
      absl::StrAppend(
          &body,
          absl::StrFormat("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' "
                          "class='bar'><title>%.1f-%.1f ms: %d</title></rect>",
                          kL + i * bw + 1, kH - kB - h, bw - 2, h,
                          lo + i * width, lo + (i + 1) * width, n[i]));
      if (i % 3 == 0) {
        absl::StrAppend(
            &body,
            absl::StrFormat("<text x='%.1f' y='%d' class='tk'>%.1f</text>",
                            kL + i * bw, kH - kB + 14, lo + i * width));
      }
    }
    return absl::StrCat("<h2>Latency histogram (deployment canary, ",
                        lat.size(), " requests)</h2>", Svg(body));
  }
  if (!bench.is_object() || !bench.contains("levels") ||
      bench["levels"].empty()) {
    return "<h2>Latency</h2><p class='na'>No latency data in this run (the "
           "performance and deployment stages wrote no report).</p>";
  }
  // Percentiles of the highest concurrency level.
  const Json& l = bench["levels"].back();
  const char* qs[] = {"p50", "p90", "p95", "p99", "p99.9", "max"};
  double top = 1e-3;
  for (const char* q : qs) top = std::max(top, l["latency_ms"].value(q, 0.0));
  std::string body = Axes("percentile", "latency (ms)", top);
  double bw = (kW - kL - kR) / 6.0;
  for (int i = 0; i < 6; ++i) {
    double v = l["latency_ms"].value(qs[i], 0.0);
    double h = (kH - kB - kT) * v / top;
    absl::StrAppend(
        &body,
        absl::StrFormat("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' "
                        "class='bar'><title>%s %.2f ms</title></rect>"
                        "<text x='%.1f' y='%d' class='tk' "
                        "text-anchor='middle'>%s</text>",
                        kL + i * bw + 4, kH - kB - h, bw - 8, h, qs[i], v,
                        kL + (i + 0.5) * bw, kH - kB + 14, qs[i]));
  }
  return absl::StrCat("<h2>Latency distribution (bench, ",
                      Esc(l.value("name", "")), ")</h2>", Svg(body));
}

std::string ThroughputPlot(const Json& bench) {
  if (!bench.is_object() || !bench.contains("levels") ||
      bench["levels"].empty()) {
    return "<h2>Throughput vs concurrency</h2><p class='na'>No bench report "
           "in this run.</p>";
  }
  std::vector<std::pair<double, double>> pts;
  for (const auto& l : bench["levels"]) {
    pts.push_back(
        {l.value("concurrency", 0.0), l.value("throughput_rps", 0.0)});
  }
  double xmax = 1, ymax = 1e-3;
  for (auto [x, y] : pts) {
    xmax = std::max(xmax, x);
    ymax = std::max(ymax, y);
  }
  ymax *= 1.1;
  std::string body = Axes("concurrency (connections)", "requests/s", ymax);
  std::string path;
  auto X = [&](double x) { return kL + (kW - kL - kR) * x / xmax; };
  auto Y = [&](double y) { return kH - kB - (kH - kB - kT) * y / ymax; };
  for (auto [x, y] : pts) {
    absl::StrAppend(&path, path.empty() ? "M" : "L",
                    absl::StrFormat("%.1f %.1f ", X(x), Y(y)));
    absl::StrAppend(
        &body, absl::StrFormat("<circle cx='%.1f' cy='%.1f' r='4' class='pt'>"
                               "<title>%g: %.1f req/s</title></circle>"
                               "<text x='%.1f' y='%d' class='tk' "
                               "text-anchor='middle'>%g</text>",
                               X(x), Y(y), x, y, X(x), kH - kB + 14, x));
  }
  absl::StrAppend(&body, "<path d='", path, "' class='ln'/>");
  return absl::StrCat("<h2>Throughput vs concurrency (spatial bench)</h2>",
                      Svg(body));
}

std::string ConfusionTable(const Json* cm, const std::string& source) {
  if (cm == nullptr) {
    return "<h2>Confusion matrix</h2><p class='na'>No classification report "
           "in this run.</p>";
  }
  const Json& classes = (*cm)["classes"];
  const Json& m = (*cm)["confusion_matrix"];
  int top = 1;
  for (const auto& row : m) {
    for (const auto& v : row) top = std::max(top, v.get<int>());
  }
  std::string t = "<table class='cm'><tr><th>truth \\ predicted</th>";
  for (const auto& c : classes) {
    absl::StrAppend(&t, "<th>", Esc(c.get<std::string>()), "</th>");
  }
  absl::StrAppend(&t, "</tr>");
  for (size_t i = 0; i < m.size() && i < classes.size(); ++i) {
    absl::StrAppend(&t, "<tr><th>", Esc(classes[i].get<std::string>()),
                    "</th>");
    for (size_t j = 0; j < m[i].size(); ++j) {
      int v = m[i][j].get<int>();
      double a = 0.08 + 0.85 * v / top;
      absl::StrAppend(
          &t, absl::StrFormat("<td style='background:rgba(%s,%.2f)'>%d</td>",
                              i == j ? "40,140,70" : "200,60,50",
                              v == 0 ? 0.0 : a, v));
    }
    absl::StrAppend(&t, "</tr>");
  }
  return absl::StrCat("<h2>Confusion matrix (", Esc(source), ")</h2>", t,
                      "</table>");
}

// A number with `digits` significant digits, "-" for anything else.
std::string Num(const Json& v, int digits = 4) {
  return v.is_number() ? absl::StrFormat("%.*g", digits, v.get<double>())
                       : std::string("-");
}

// What model-validation measured, beside what the version declares.
std::string ValidationSection(const Json& report) {
  const Json* details = nullptr;
  for (const auto& s : report["stages"]) {
    if (s.value("name", "") == "model-validation" && s.contains("details"))
      details = &s["details"];
  }
  if (details == nullptr || !details->is_object()) {
    return "<h2>Model validation</h2><p class='na'>No validation in this "
           "run.</p>";
  }
  const Json& m = (*details)["measurement"];
  const Json& rules = (*details)["rules"];
  if (!m.is_object() || m.value("status", "") != "measured") {
    return absl::StrCat(
        "<h2>Model validation</h2><p>Not measured: ",
        Esc(m.is_object() ? m.value("why", "") : std::string("no record")),
        "</p>");
  }
  std::string rows;
  for (const char* rule : {"accuracy", "latency", "declared"}) {
    if (!rules.contains(rule)) continue;
    const Json& r = rules[rule];
    std::string outcome = r.value("outcome", "");
    std::string css = outcome == "pass"   ? "passed"
                      : outcome == "warn" ? "skipped"
                                          : "failed";
    absl::StrAppend(&rows, "<tr><td>", rule, "</td><td>", Num(r["measured"]),
                    "</td><td>", Num(r["declared"]), "</td><td>",
                    Num(r["required"]), "</td><td class='", css, "'>",
                    Esc(outcome), "</td><td>", Esc(r.value("message", "")),
                    "</td></tr>");
  }
  std::string recall;
  const Json per_class = m.value("per_class_recall", Json::object());
  for (const auto& [cls, v] : per_class.items())
    absl::StrAppend(&recall, "<td>", Esc(cls), " ", Num(v, 2), "</td>");
  return absl::StrCat(
      "<h2>Model validation (measured by spatial model validate)</h2>"
      "<p>",
      m.value("n", 0), " images of ", Esc(m.value("set", "")), " (sha256 ",
      Esc(m.value("set_digest", "")), ") with ", Esc(m.value("engine", "")),
      " on ", Esc(m.value("host", "")), " in ",
      absl::StrFormat("%.1f", m.value("seconds", 0.0)), " s; latency p50 ",
      Num(m["latency_ms"]["p50"]), " ms, p95 ", Num(m["latency_ms"]["p95"]),
      " ms at batch 1 (decode + preprocess + inference).</p>"
      "<table><tr><th>rule</th><th>measured</th><th>declared</th>"
      "<th>required</th><th>outcome</th><th>message</th></tr>",
      rows, "</table><table><tr><th>recall</th>", recall, "</tr></table>");
}

}  // namespace

std::string PipelineHtml(const Json& report) {
  std::string rows;
  for (const auto& s : report["stages"]) {
    std::string status = s.value("status", "");
    // Relative to reports/ inside the run, so that a downloaded CI
    // artifact keeps working links.
    const std::string run_dir = report.value("run_dir", "") + "/";
    auto link = [&run_dir](const std::string& p, const char* label) {
      if (p.empty()) return std::string("");
      std::string href = absl::StartsWith(p, run_dir)
                             ? "../" + p.substr(run_dir.size())
                             : "file://" + p;
      return absl::StrCat("<a href='", Esc(href), "'>", label, "</a> ");
    };
    absl::StrAppend(
        &rows, absl::StrFormat(
                   "<tr><td>%d</td><td>%s</td><td class='%s'>%s</td>"
                   "<td>%.1f</td><td>%s</td><td>%s%s</td></tr>",
                   s.value("position", 0), Esc(s.value("name", "")), status,
                   status, s.value("seconds", 0.0), Esc(s.value("reason", "")),
                   link(s.value("log", ""), "log"),
                   link(s.value("report", ""), "report")));
  }
  Json bench = StageReport(report, "performance-testing");
  Json deploy = StageReport(report, "deployment");
  Json envtest = StageReport(report, "multi-environment-testing");
  const Json* cm = FindConfusion(envtest);
  std::string cm_source = "spatial envtest, held-out images via /classify";
  if (cm == nullptr && deploy.is_object() && deploy.contains("canary")) {
    cm = FindConfusion(deploy["canary"]);
    cm_source = "deployment canary";
  }
  Json checks = StageReport(report, "spatial-tests");
  if (cm == nullptr) {
    cm = FindConfusion(checks);
    cm_source = "spatial check";
  }
  const Json& sum = report["summary"];
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
      "<title>spatial pipeline ",
      Esc(report.value("run_id", "")),
      "</title><style>"
      "body{font:14px/1.4 sans-serif;margin:24px;color:#222}"
      "table{border-collapse:collapse;margin:8px 0}"
      "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
      ".passed{background:#d7f0dc}.failed{background:#f6d3d0}"
      ".error{background:#f6d3d0}.skipped{background:#eee}"
      ".cm td{text-align:right;min-width:48px}"
      ".ax{stroke:#444}.tk{font-size:11px;fill:#444}.lb{font-size:12px}"
      ".bar{fill:#4a78b5}.pt{fill:#c0392b}.ln{fill:none;stroke:#c0392b;"
      "stroke-width:2}.na{color:#777}"
      "</style></head><body><h1>spatial pipeline run ",
      Esc(report.value("run_id", "")), "</h1><p>environment <b>",
      Esc(report.value("environment", "")), "</b>, version <b>",
      Esc(report.value("version_id", "")), "</b>: <b class='",
      report.value("status", ""), "'>", report.value("status", ""),
      "</b> (exit ", report.value("exit_code", -1), ") in ",
      absl::StrFormat("%.1f", report.value("seconds", 0.0)), " s; ",
      sum.value("passed", 0), " passed, ", sum.value("failed", 0), " failed, ",
      sum.value("errors", 0), " errors, ", sum.value("skipped", 0),
      " skipped</p><table><tr><th>#</th><th>stage</th><th>status</th>"
      "<th>s</th><th>reason</th><th>files</th></tr>",
      rows, "</table>", ValidationSection(report), LatencyPlot(deploy, bench),
      ThroughputPlot(bench), ConfusionTable(cm, cm_source), "</body></html>\n");
}

}  // namespace spatial::pipeline
