// Helpers shared by the stage implementations: paths inside the run, running
// `spatial` with the stage's log, probing subcommands, rendering images and
// reading the environment's rules.
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/base/files.h"
#include "src/base/secrets.h"
#include "src/pipeline/stages.h"

namespace spatial::pipeline {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string LogPath(const PipelineConfig& c, const std::string& stage) {
  return c.run_dir + "/logs/" + stage + ".log";
}
std::string ReportPath(const PipelineConfig& c, const std::string& file) {
  return c.run_dir + "/reports/" + file;
}
std::string ArtifactPath(const PipelineConfig& c, const std::string& file) {
  return c.run_dir + "/artifacts/" + file;
}

std::vector<std::string> RegistryArgs(const PipelineConfig& c) {
  std::vector<std::string> a;
  if (!c.store.empty()) a.insert(a.end(), {"--store", c.store});
  if (!c.config.empty()) a.insert(a.end(), {"--config", c.config});
  return a;
}

absl::StatusOr<CommandResult> RunSpatial(const PipelineConfig& c,
                                         const std::string& stage,
                                         const std::vector<std::string>& args,
                                         const std::string& stdout_path,
                                         int timeout_s) {
  std::vector<std::string> argv = {c.spatial};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions o;
  o.log_path = LogPath(c, stage);
  o.stdout_path = stdout_path;
  o.cwd = c.source_dir;
  o.timeout = std::chrono::seconds(timeout_s);
  // The registry travels in the environment, which only this user can read,
  // not on the command line, which `ps` shows to every user of the host
  // (a postgresql:// URL may hold a password).
  if (!c.registry.empty() && !args.empty() && args.front() == "model") {
    o.env["SPATIAL_REGISTRY"] = c.registry;
  }
  if (auto st = base::MakeDirs(base::DirName(o.log_path)); !st.ok()) return st;
  {
    std::ofstream log(o.log_path, std::ios::app);
    // The log is kept with the run's reports: no registry password in it.
    log << "$ " << base::RedactSecrets(absl::StrJoin(argv, " "), c.registry)
        << (stdout_path.empty() ? "" : absl::StrCat(" > ", stdout_path))
        << "\n";
  }
  return RunCommand(argv, o);
}

absl::Status RenderImages(const PipelineConfig& c, const std::string& stage,
                          const std::string& dir, int per_class, int seed) {
  auto r =
      RunSpatial(c, stage,
                 {"data", "render", "--out", dir, "--per-class",
                  std::to_string(per_class), "--seed", std::to_string(seed)});
  if (!r.ok()) return r.status();
  if (r->exit_code != 0 || !fs::exists(dir + "/labels.csv")) {
    return absl::InternalError(absl::StrCat("spatial data render exited with ",
                                            r->exit_code, " (see ",
                                            LogPath(c, stage), ")"));
  }
  return absl::OkStatus();
}

double EnvRequirement(const PipelineState& s, const std::string& key,
                      double fallback) {
  const Json& e = s.environment;
  if (!e.is_object() || !e.contains("performance_requirements")) {
    return fallback;
  }
  const Json& p = e["performance_requirements"];
  return p.is_object() && p.contains(key) && p[key].is_number()
             ? p[key].get<double>()
             : fallback;
}

// Reads the environment's rules once (`spatial model environments --json`).
void LoadEnvironment(const PipelineConfig& c, PipelineState* s,
                     const std::string& stage) {
  if (!s->environment.is_null()) return;
  std::string out = ArtifactPath(c, "environments.json");
  std::vector<std::string> args = {"model"};
  for (auto& a : RegistryArgs(c)) args.push_back(a);
  args.push_back("environments");
  args.push_back("--json");
  auto r = RunSpatial(c, stage, args, out);
  if (!r.ok() || r->exit_code != 0) return;
  auto text = base::ReadFile(out);
  if (!text.ok()) return;
  Json j = Json::parse(*text, nullptr, false);
  auto match = [&](const Json& e) {
    return e.is_object() && e.value("name", "") == c.environment;
  };
  if (j.is_array()) {
    for (const auto& e : j) {
      if (match(e)) s->environment = e;
    }
  } else if (j.is_object()) {
    if (j.contains(c.environment)) s->environment = j[c.environment];
    if (j.contains("environments")) {
      for (const auto& e : j["environments"]) {
        if (match(e)) s->environment = e;
      }
    }
  }
}

}  // namespace spatial::pipeline
