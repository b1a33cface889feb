// Fleet (see fleet.h): starts, probes and stops the envtest servers through
// base::Subprocess and base::HttpFetch. Thread-safe as fleet.h says.
#include "src/envtest/fleet.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "src/base/files.h"
#include "src/base/http_client.h"
#include "src/base/status_macros.h"
#include "src/base/subprocess.h"
#include "src/base/text.h"
#include "src/security/test_bundles.h"

namespace spatial::envtest {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string LogTail(const std::string& path, size_t max = 1500) {
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  if (all.size() > max) all = "..." + all.substr(all.size() - max);
  while (!all.empty() && (all.back() == '\n' || all.back() == ' '))
    all.pop_back();
  return all.empty() ? "(empty)" : all;
}

// Reaps `pid` if it is our child and has exited; true when it is gone.
bool ReapOrGone(int pid) {
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) return true;
  return ProcessGone(pid);
}

bool WaitGone(int pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (ReapOrGone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ReapOrGone(pid);
}

}  // namespace

bool ProcessGone(int pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text;
  if (!std::getline(stat, text)) return true;
  // "PID (comm) S ...": the state follows the last ')'.
  size_t close = text.rfind(')');
  return close == std::string::npos || close + 2 >= text.size() ||
         text[close + 2] == 'Z' || text[close + 2] == 'X';
}

bool IsOurServer(int pid, const std::string& port_file) {
  if (pid <= 1 || ProcessGone(pid)) return false;
  std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"), std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  std::vector<std::string> argv = absl::StrSplit(all, '\0');
  if (argv.size() < 2 || argv[1] != "serve") return false;
  for (size_t i = 2; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--port-file" && argv[i + 1] == port_file) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<Fleet>> Fleet::Load(FleetOptions options) {
  std::error_code ec;
  if (!fs::exists(options.state_file, ec)) {
    return absl::NotFoundError(absl::StrCat(
        "no envtest state at ", options.state_file,
        " (nothing was set up with --setup-only, or it was cleaned up)"));
  }
  ASSIGN_OR_RETURN(std::string text,
                   base::ReadFile(options.state_file, 1 << 20));
  Json j = Json::parse(text, nullptr, false);
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.state_file, " is not an envtest state file: ", why));
  };
  if (!j.is_object() || !j.contains("servers") || !j["servers"].is_array())
    return bad("no servers array");
  auto fleet = std::make_unique<Fleet>(std::move(options));
  fleet->run_dir_ = j.value("run_dir", "");
  for (const Json& s : j["servers"]) {
    if (!s.is_object() || !s.contains("pid") || !s["pid"].is_number_integer() ||
        !s.contains("port_file") || !s["port_file"].is_string())
      return bad("a server without pid and port_file");
    fleet->servers_.push_back({.environment = s.value("environment", ""),
                               .pid = s["pid"].get<int>(),
                               .port = s.value("port", 0),
                               .port_file = s["port_file"],
                               .log = s.value("log", "")});
  }
  return fleet;
}

absl::Status Fleet::WriteStateLocked() const {
  Json servers = Json::array();
  for (const ServerRecord& s : servers_) {
    servers.push_back(
        {{"environment", s.environment},
         {"pid", s.pid},
         {"port", s.port},
         {"url", s.port ? absl::StrCat("http://127.0.0.1:", s.port) : ""},
         {"port_file", s.port_file},
         {"log", s.log}});
  }
  Json j = {{"tool", "spatial envtest"},
            {"owner_pid", ::getpid()},
            {"run_dir", run_dir_},
            {"written_at", base::FormatIso8601(absl::Now())},
            {"servers", servers}};
  RETURN_IF_ERROR(base::MakeDirs(base::DirName(options_.state_file)));
  return base::WriteFileAtomic(options_.state_file, j.dump(2) + "\n");
}

absl::StatusOr<std::map<std::string, std::string>> Fleet::Start(
    const std::vector<std::string>& environments) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::CancelledError("stopping");
    std::string parent = options_.temp_parent;
    if (parent.empty()) {
      const char* t = std::getenv("TMPDIR");
      parent = t && *t ? t : "/tmp";
    }
    std::string tmpl = parent + "/spatial-envtest-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
      return base::ErrnoStatus(errno, absl::StrCat("mkdtemp in ", parent));
    run_dir_ = tmpl;
    RETURN_IF_ERROR(WriteStateLocked());
    ASSIGN_OR_RETURN(auto bundles,
                     security::SignUnsignedBundles(options_.model_dirs,
                                                   run_dir_ + "/signed"));
    for (const auto& d : bundles.dirs) {
      bundle_args_.push_back("--model-dir");
      bundle_args_.push_back(d);
    }
    std::vector<std::string> keys = options_.trusted_keys;
    if (!bundles.public_key_file.empty())
      keys.push_back(bundles.public_key_file);
    for (const auto& k : keys) {
      bundle_args_.push_back("--trusted-key");
      bundle_args_.push_back(k);
    }
  }
  for (const std::string& env : environments) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::CancelledError("stopping");
    const std::string dir = absl::StrCat(run_dir_, "/", env);
    RETURN_IF_ERROR(base::MakeDirs(dir));
    ServerRecord rec{.environment = env,
                     .port_file = dir + "/port",
                     .log = dir + "/server.log"};
    // The servers run the given bundles, never a registry: a
    // $SPATIAL_REGISTRY in our environment must not make them wait for a
    // promotion (and a registry's keys would refuse --trusted-key).
    std::vector<std::string> args = {
        options_.binary, "serve",       "--environment", env,
        "--address",     "127.0.0.1",   "--port",        "0",
        "--port-file",   rec.port_file, "--no-registry"};
    args.insert(args.end(), options_.serve_args.begin(),
                options_.serve_args.end());
    args.insert(args.end(), bundle_args_.begin(), bundle_args_.end());
    base::SpawnOptions spawn;
    spawn.env = {{"TMPDIR", dir}};  // each server its own temp directory
    spawn.out = base::Redirect::File(rec.log);
    spawn.err = base::Redirect::SameAsStdout();
    // A terminal's Ctrl-C reaches envtest, which stops us.
    spawn.new_session = true;
    if (!options_.detach) spawn.parent_death_signal = SIGTERM;
    ASSIGN_OR_RETURN(base::Subprocess child,
                     base::Subprocess::Spawn(args, spawn));
    // Recorded and stopped by pid (Stop() also serves a loaded fleet).
    const pid_t pid = child.Release();
    rec.pid = pid;
    servers_.push_back(rec);
    RETURN_IF_ERROR(WriteStateLocked());
  }
  std::map<std::string, std::string> not_ready;
  size_t n = servers().size();
  for (size_t i = 0; i < n; ++i) {
    absl::Status s = WaitReady(i);
    if (absl::IsCancelled(s)) return s;
    std::lock_guard<std::mutex> lock(mu_);
    servers_[i].ready = s.ok();
    if (!s.ok()) not_ready[servers_[i].environment] = std::string(s.message());
  }
  return not_ready;
}

absl::Status Fleet::WaitReady(size_t index) {
  ServerRecord rec;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rec = servers_[index];
  }
  const absl::Time deadline = absl::Now() + options_.ready_timeout;
  auto failure = [&](absl::string_view what) {
    return absl::UnavailableError(
        absl::StrCat("the ", rec.environment, " server (pid ", rec.pid, ") ",
                     what, "; its output ends with:\n", LogTail(rec.log)));
  };
  std::string last = "no answer yet";
  while (absl::Now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return absl::CancelledError("stopping");
    }
    int status = 0;
    if (::waitpid(rec.pid, &status, WNOHANG) == rec.pid) {
      std::string how = base::ExitInfoFromWaitStatus(status).Describe();
      std::lock_guard<std::mutex> lock(mu_);
      servers_[index].pid = 0;  // reaped: nothing to stop
      (void)WriteStateLocked();
      return failure(absl::StrCat(how, " before it was ready"));
    }
    if (rec.port == 0) {
      std::ifstream in(rec.port_file);
      int port = 0;
      if (in >> port && port > 0) {
        rec.port = port;
        std::lock_guard<std::mutex> lock(mu_);
        servers_[index].port = port;
        RETURN_IF_ERROR(WriteStateLocked());
      }
    }
    if (rec.port > 0) {
      auto r = base::HttpFetch(rec.port, "/v2/health/ready",
                               {.timeout = absl::Seconds(2)});
      if (r.ok() && r->status == 200) return absl::OkStatus();
      last = r.ok()
                 ? absl::StrCat("HTTP ", r->status, " ", r->body.substr(0, 100))
                 : std::string(r.status().message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return failure(absl::StrCat("was not ready within ",
                              absl::FormatDuration(options_.ready_timeout),
                              " (GET /v2/health/ready: ", last, ")"));
}

std::map<std::string, std::string> Fleet::Probe() {
  std::map<std::string, std::string> not_ready;
  std::lock_guard<std::mutex> lock(mu_);
  for (ServerRecord& s : servers_) {
    s.ready = false;
    if (!IsOurServer(s.pid, s.port_file)) {
      not_ready[s.environment] =
          absl::StrCat("pid ", s.pid, " is no longer a running spatial serve");
      continue;
    }
    auto r = base::HttpFetch(s.port, "/v2/health/ready",
                             {.timeout = absl::Seconds(2)});
    s.ready = r.ok() && r->status == 200;
    if (!s.ready) {
      not_ready[s.environment] =
          r.ok() ? absl::StrCat("/v2/health/ready answered HTTP ", r->status)
                 : std::string(r.status().message());
    }
  }
  return not_ready;
}

absl::StatusOr<std::vector<std::string>> Fleet::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  std::vector<std::string> lines;
  std::vector<std::string> stuck;
  // SIGTERM to all first, so that they stop in parallel.
  std::vector<const ServerRecord*> signalled;
  for (const ServerRecord& s : servers_) {
    if (s.pid <= 0) continue;
    if (!IsOurServer(s.pid, s.port_file)) {
      ReapOrGone(s.pid);
      lines.push_back(absl::StrCat(s.environment, ": pid ", s.pid,
                                   " is no longer our server; not signalled"));
      continue;
    }
    ::kill(s.pid, SIGTERM);
    signalled.push_back(&s);
  }
  for (const ServerRecord* s : signalled) {
    if (WaitGone(s->pid, options_.stop_timeout)) {
      lines.push_back(
          absl::StrCat(s->environment, ": stopped pid ", s->pid, " (SIGTERM)"));
      continue;
    }
    if (IsOurServer(s->pid, s->port_file)) ::kill(s->pid, SIGKILL);
    if (WaitGone(s->pid, absl::Seconds(5))) {
      lines.push_back(absl::StrCat(
          s->environment, ": killed pid ", s->pid, " (SIGKILL after ",
          absl::FormatDuration(options_.stop_timeout), ")"));
    } else {
      stuck.push_back(absl::StrCat(s->pid));
    }
  }
  if (!stuck.empty()) {
    return absl::InternalError(
        absl::StrCat("could not stop pid ", absl::StrJoin(stuck, ", "),
                     "; state kept in ", options_.state_file));
  }
  std::error_code ec;
  if (!run_dir_.empty() && fs::path(run_dir_).filename().string().rfind(
                               "spatial-envtest-", 0) == 0) {
    fs::remove_all(run_dir_, ec);
  }
  fs::remove(options_.state_file, ec);
  servers_.clear();
  return lines;
}

std::vector<ServerRecord> Fleet::servers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return servers_;
}

}  // namespace spatial::envtest
