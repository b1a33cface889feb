// Stage 7, security scanning: checksums of the stored artifacts, a secrets
// scan of config/ and deploy/, permissions of key and registry files, and an
// inventory of the Debian packages in use (those of scripts/install-deps.sh).
// Runs on the pipeline runner's thread; keeps no state between runs.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/base/files.h"
#include "src/pipeline/stages.h"
#include "src/registry/registry_location.h"

namespace spatial::pipeline {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
constexpr const char* kStage = "security-scanning";

struct SecretRule {
  const char* name;
  std::regex re;
};

const std::vector<SecretRule>& SecretRules() {
  static const std::vector<SecretRule> kRules = [] {
    auto icase = std::regex::ECMAScript | std::regex::icase;
    return std::vector<SecretRule>{
        {"private key", std::regex("-----BEGIN [A-Z ]*PRIVATE KEY-----")},
        {"github token", std::regex("gh[pousr]_[A-Za-z0-9]{30,}")},
        {"aws access key", std::regex("AKIA[0-9A-Z]{16}")},
        {"slack token", std::regex("xox[abprs]-[A-Za-z0-9-]{10,}")},
        // key = value with a literal value (not ${VAR}, <placeholder>, a
        // file reference or an empty string).
        {"password or token with a value",
         std::regex("(password|passwd|secret|token|api[_-]?key)[\"']?\\s*[:=]"
                    "\\s*[\"']?([^\\s\"'$<{][^\\s\"']{5,})",
                    icase)},
    };
  }();
  return kRules;
}

bool PlaceholderValue(const std::string& v) {
  static const std::regex kPlaceholder(
      "^(changeme|example|placeholder|none|null|true|false|secretKeyRef|"
      "valueFrom|/.*|[a-z_]+_file|.*\\.(txt|key|pem|json))$",
      std::regex::icase);
  return std::regex_match(v, kPlaceholder);
}

Json ScanSecrets(const std::string& root) {
  Json findings = Json::array();
  for (const char* sub : {"config", "deploy"}) {
    fs::path dir = fs::path(root) / sub;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file() || it->file_size() > (4 << 20)) continue;
      std::ifstream in(it->path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        for (const auto& rule : SecretRules()) {
          std::smatch m;
          if (!std::regex_search(line, m, rule.re)) continue;
          if (m.size() > 2 && PlaceholderValue(m[2].str())) continue;
          findings.push_back(
              {{"file", fs::relative(it->path(), root).string()},
               {"line", n},
               {"rule", rule.name}});  // the value itself is never copied
        }
      }
    }
  }
  return findings;
}

// Key files must not be readable or writable by group/others; the registry
// and config files must not be world-writable.
Json CheckPermissions(const PipelineConfig& c) {
  Json problems = Json::array();
  auto check = [&](const fs::path& p, mode_t forbidden, const char* rule) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) return;
    if (st.st_mode & forbidden) {
      problems.push_back({{"file", p.string()},
                          {"mode", absl::StrCat(absl::Hex(st.st_mode & 07777))},
                          {"rule", rule}});
    }
  };
  std::error_code ec;
  for (const char* sub : {"config", "deploy", "keys"}) {
    fs::path dir = fs::path(c.source_dir) / sub;
    if (!fs::is_directory(dir, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      std::string name = it->path().filename().string();
      bool key = absl::EndsWith(name, ".key") || absl::EndsWith(name, ".pem") ||
                 absl::StrContains(name, "ed25519") ||
                 absl::StrContains(name, "secret") ||
                 absl::StrContains(name, "token");
      if (key && !absl::EndsWith(name, ".pub")) {
        check(it->path(), S_IRWXG | S_IRWXO,
              "key file readable or writable by group/others");
      } else {
        check(it->path(), S_IWOTH, "world-writable");
      }
    }
  }
  // A location the parser refuses is reported by the stages that open it.
  auto reg = registry::ParseRegistryLocation(
      c.registry.empty() ? "var/registry.db" : c.registry);
  if (reg.ok() && reg->is_sqlite()) {
    fs::path p = fs::path(reg->path).is_absolute()
                     ? fs::path(reg->path)
                     : fs::path(c.source_dir) / reg->path;
    check(p, S_IWOTH, "registry world-writable");
  }
  return problems;
}

// The PACKAGES=( ... ) list of scripts/install-deps.sh.
std::vector<std::string> DependencyPackages(const std::string& root) {
  auto text = base::ReadFile(root + "/scripts/install-deps.sh");
  std::vector<std::string> out;
  if (!text.ok()) return out;
  size_t start = text->find("PACKAGES=(");
  size_t end = text->find(')', start);
  if (start == std::string::npos || end == std::string::npos) return out;
  std::string list = text->substr(start + 10, end - start - 10);
  for (absl::string_view w :
       absl::StrSplit(list, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    if (!absl::StartsWith(w, "#")) out.emplace_back(w);
  }
  return out;
}

}  // namespace

StageResult RunSecurityStage(const PipelineConfig& c, PipelineState* s) {
  (void)s;
  const std::string log = LogPath(c, kStage);
  Json report = {{"stage", kStage}};
  std::vector<std::string> problems;

  std::vector<std::string> args = {"model"};
  for (auto& a : RegistryArgs(c)) args.push_back(a);
  args.push_back("test");
  args.push_back("--json");
  std::string checksums = ArtifactPath(c, "security_checksums.json");
  auto t = RunSpatial(c, kStage, args, checksums);
  StageResult tr = FromCommand(t, "spatial model test", log);
  report["checksums"] = {{"status", StatusName(tr.status)},
                         {"reason", tr.reason},
                         {"report", checksums}};
  if (tr.status != StageStatus::kPassed) problems.push_back(tr.reason);

  Json secrets = ScanSecrets(c.source_dir);
  report["secrets"] = secrets;
  if (!secrets.empty()) {
    problems.push_back(absl::StrCat(
        secrets.size(), " possible secret(s) in config/ or deploy/"));
  }
  Json perms = CheckPermissions(c);
  report["permissions"] = perms;
  if (!perms.empty()) {
    problems.push_back(
        absl::StrCat(perms.size(), " file permission problem(s)"));
  }

  std::vector<std::string> pkgs = DependencyPackages(c.source_dir);
  std::string dpkg = FindInPath("dpkg-query");
  Json inventory = Json::array();
  if (!dpkg.empty() && !pkgs.empty()) {
    std::vector<std::string> argv = {dpkg, "-W", "-f",
                                     "${Package}\t${Version}\t${Status}\n"};
    argv.insert(argv.end(), pkgs.begin(), pkgs.end());
    CommandOptions o;
    o.log_path = log;
    o.stdout_path = ArtifactPath(c, "dpkg_query.txt");
    o.timeout = std::chrono::seconds(60);
    auto r = RunCommand(argv, o);  // exit 1 when a package is unknown: fine
    auto text = base::ReadFile(o.stdout_path);
    if (r.ok() && text.ok()) {
      for (absl::string_view line :
           absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
        std::vector<std::string> f = absl::StrSplit(line, '\t');
        if (f.size() < 3) continue;
        inventory.push_back(
            {{"package", f[0]},
             {"version", f[1]},
             {"installed", absl::EndsWith(f[2], " installed")}});
      }
    }
  }
  std::string inv_path = ArtifactPath(c, "package_inventory.json");
  Json inv = {{"source", "scripts/install-deps.sh"},
              {"tool", dpkg.empty() ? "none (dpkg-query not found)" : dpkg},
              {"packages", inventory}};
  (void)base::WriteFileAtomic(inv_path, inv.dump(2) + "\n");
  report["package_inventory"] = {{"file", inv_path},
                                 {"packages", inventory.size()}};

  std::string report_path = ReportPath(c, "security.json");
  report["status"] = problems.empty() ? "passed" : "failed";
  report["problems"] = problems;
  (void)base::WriteFileAtomic(report_path, report.dump(2) + "\n");
  StageResult out = problems.empty()
                        ? StageResult::Passed(absl::StrCat(
                              "checksums ok, no secrets, permissions ok, ",
                              inventory.size(), " packages inventoried"))
                        : StageResult::Failed(absl::StrJoin(problems, "; "));
  out.log_path = log;
  out.report_path = report_path;
  return out;
}

}  // namespace spatial::pipeline
