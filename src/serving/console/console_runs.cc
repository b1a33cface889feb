// ConsoleApi's pipeline runs (console_api.h): the runs `spatial pipeline run`
// left under the runs directory, newest first, and the files of one run.
// Only names found by listing the directory are ever opened: a request names
// a run and a path inside it, both checked to stay inside. Thread-safe.
#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "src/base/files.h"
#include "src/serving/console/console_api.h"
#include "src/serving/responses.h"

namespace spatial::serving {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr size_t kRunsShown = 50;
constexpr uint64_t kMaxRunFile = 16ull << 20;

// A name a run directory may have (what the pipeline writes: a timestamp).
bool PlainName(const std::string& s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
           c == '_' || c == '.';
  });
}

std::string RunContentType(const std::string& path) {
  if (absl::EndsWith(path, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(path, ".json")) return "application/json";
  if (absl::EndsWith(path, ".xml")) return "application/xml";
  if (absl::EndsWith(path, ".png")) return "image/png";
  if (absl::EndsWith(path, ".svg")) return "image/svg+xml";
  return "text/plain; charset=utf-8";
}

// The summary of one run from its reports/pipeline_report.json (null fields
// when it has none yet: a run in progress, or one that was killed).
Json RunSummary(const fs::path& dir) {
  Json run = {{"run", dir.filename().string()},
              {"status", nullptr},
              {"environment", nullptr},
              {"version_id", nullptr},
              {"seconds", nullptr},
              {"summary", nullptr},
              {"stages", Json::array()},
              {"report", nullptr}};
  const fs::path report = dir / "reports" / "pipeline_report.json";
  auto text = base::ReadFile(report.string(), 4u << 20);
  if (!text.ok()) return run;
  Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return run;
  for (const char* k : {"status", "environment", "version_id", "seconds",
                        "summary", "deployment_mode"}) {
    if (j.contains(k)) run[k] = j[k];
  }
  const std::string run_dir = j.value("run_dir", "") + "/";
  // Log paths relative to the run, so that the console can fetch them.
  auto relative = [&run_dir](const Json& p) -> Json {
    if (!p.is_string()) return nullptr;
    std::string s = p.get<std::string>();
    if (s.empty() || run_dir == "/" || !absl::StartsWith(s, run_dir))
      return nullptr;
    return s.substr(run_dir.size());
  };
  if (j.contains("stages") && j["stages"].is_array()) {
    for (const auto& s : j["stages"]) {
      if (!s.is_object()) continue;
      run["stages"].push_back(
          {{"name", s.value("name", "")},
           {"status", s.value("status", "")},
           {"reason", s.value("reason", "")},
           {"seconds", s.value("seconds", 0.0)},
           {"log", relative(s.value("log", Json()))},
           {"report", relative(s.value("report", Json()))}});
    }
  }
  if (fs::exists(dir / "reports" / "index.html"))
    run["report"] = "reports/index.html";
  return run;
}

}  // namespace

void ConsoleApi::Runs(const RouteCall&, http::Responder respond) {
  const fs::path root = options_.runs_dir;
  Json j = {{"runs_dir", fs::absolute(root).lexically_normal().string()},
            {"runs", Json::array()}};
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    j["note"] = "no pipeline runs yet (spatial pipeline run writes them here)";
    return respond(JsonResponse(200, j));
  }
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (PlainName(name) && entry.is_directory(ec) && !entry.is_symlink(ec))
      names.push_back(name);
  }
  std::sort(names.rbegin(), names.rend());  // timestamps: newest first
  j["total"] = names.size();
  for (size_t i = 0; i < names.size() && i < kRunsShown; ++i)
    j["runs"].push_back(RunSummary(root / names[i]));
  respond(JsonResponse(200, j));
}

void ConsoleApi::RunFile(const RouteCall& call, http::Responder respond) {
  const std::string run = call.Param("run");
  // The rest of the path after /console/api/runs/{run}/.
  const std::string prefix = absl::StrCat("/console/api/runs/", run, "/");
  const std::string& path = call.request.path;
  std::string rest =
      absl::StartsWith(path, prefix) ? path.substr(prefix.size()) : "";
  std::vector<std::string> parts = absl::StrSplit(rest, '/');
  bool plain = PlainName(run) && !rest.empty();
  for (const auto& p : parts) plain = plain && PlainName(p);
  auto not_found = [&] {
    respond(Error(absl::NotFoundError(absl::StrCat(
        "no file '", rest.substr(0, 200), "' in pipeline run '",
        run.substr(0, 64), "' (GET /console/api/runs lists them)"))));
  };
  if (!plain) return not_found();
  const fs::path root = fs::path(options_.runs_dir) / run;
  const fs::path file = root / absl::StrJoin(parts, "/");
  // No symlink may lead out of the run: compare the resolved paths.
  std::error_code ec;
  const fs::path real_root = fs::canonical(root, ec);
  if (ec) return not_found();
  const fs::path real_file = fs::canonical(file, ec);
  if (ec || !fs::is_regular_file(real_file, ec)) return not_found();
  const std::string r = real_root.string() + "/";
  if (!absl::StartsWith(real_file.string(), r)) return not_found();
  auto body = base::ReadFile(real_file.string(), kMaxRunFile);
  if (!body.ok()) return respond(Error(body.status()));
  http::HttpResponse out;
  out.content_type = RunContentType(rest);
  out.body = *std::move(body);
  // A report is shown in a sandboxed frame: it runs no script of its own.
  out.headers = {{"Content-Security-Policy", "sandbox"},
                 {"X-Content-Type-Options", "nosniff"}};
  respond(std::move(out));
}

}  // namespace spatial::serving
