#include "src/registry/postgres/test_server.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace spatial::registry::pgtest {
namespace fs = std::filesystem;

namespace {

constexpr const char* kSuperuser = "spatial";
constexpr const char* kDirPrefix = "spatial-pg-";

struct RunAs {
  uid_t uid;
  gid_t gid;
  std::string name;
};

struct SpawnSpec {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to (or replacing in) environ
  std::string cwd;                         // "" = inherit
  std::optional<RunAs> run_as;
  int out_fd = -1;  // stdout and stderr; -1 = inherit
  bool die_with_parent = false;
};

// fork + execve. Everything the child needs is built before fork(): after
// it, only async-signal-safe calls (the test binary has threads).
absl::StatusOr<pid_t> Spawn(const SpawnSpec& spec) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    std::string key = kv.substr(0, kv.find('='));
    if (spec.env.count(key) == 0) env_strings.push_back(std::move(kv));
  }
  for (const auto& [k, v] : spec.env) {
    env_strings.push_back(absl::StrCat(k, "=", v));
  }
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (spec.out_fd >= 0) {
      ::dup2(spec.out_fd, 1);
      ::dup2(spec.out_fd, 2);
    }
    if (spec.run_as) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(spec.run_as->gid) != 0 ||
          ::setuid(spec.run_as->uid) != 0) {
        ::_exit(126);
      }
    }
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) ::_exit(126);
    // Set after setuid, which clears it; checked against a parent that died
    // in between.
    if (spec.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
      if (::getppid() != parent) ::_exit(1);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

// Waits up to `timeout_ms`; nullopt when still running.
std::optional<int> WaitExit(pid_t pid, int timeout_ms) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Tail(const std::string& path, size_t max = 4000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max ? s.substr(s.size() - max) : s;
}

std::string FindBinDir(const std::string& preferred) {
  if (const char* env = std::getenv("SPATIAL_PG_BIN_DIR");
      env != nullptr && *env) {
    return env;
  }
  if (fs::exists(fs::path(preferred) / "initdb")) return preferred;
  // Another major version of Debian's packaging, newest first.
  std::error_code ec;
  std::string best;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    fs::path bin = e.path() / "bin";
    if (fs::exists(bin / "initdb") && bin.string() > best) best = bin.string();
  }
  return best.empty() ? preferred : best;
}

// initdb refuses to run as root: then the server runs as an unprivileged user.
absl::StatusOr<std::optional<RunAs>> ChooseUser() {
  if (::geteuid() != 0) return std::optional<RunAs>();
  for (const char* name : {"postgres", "nobody"}) {
    if (struct passwd* pw = ::getpwnam(name); pw != nullptr) {
      return std::optional<RunAs>(RunAs{pw->pw_uid, pw->pw_gid, name});
    }
  }
  return absl::FailedPreconditionError(
      "running as root and neither a 'postgres' nor a 'nobody' user exists to "
      "run the "
      "PostgreSQL test server as");
}

// A zombie counts as dead: where nothing reaps orphans (some containers) a
// killed test binary stays one.
bool Alive(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ||
         line[paren + 2] != 'Z';
}

// Dirs of earlier runs whose test binary was killed (its server died with it).
void RemoveStaleDirs(const fs::path& tmp) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(tmp, ec)) {
    if (!absl::StartsWith(e.path().filename().string(), kDirPrefix)) continue;
    std::ifstream in(e.path() / "owner.pid");
    pid_t owner = 0;
    if (!(in >> owner) || owner <= 0) continue;
    if (Alive(owner)) continue;
    // Its server got SIGQUIT when the owner died; wait for a later run if it
    // is still shutting down.
    std::ifstream postmaster(e.path() / "data" / "postmaster.pid");
    pid_t server = 0;
    if (postmaster >> server && server > 0 && Alive(server)) continue;
    fs::remove_all(e.path(), ec);
  }
}

TestPostgres* g_shared = nullptr;

}  // namespace

absl::StatusOr<std::unique_ptr<TestPostgres>> TestPostgres::Start(
    const Options& options) {
  std::string bin = FindBinDir(options.bin_dir);
  for (const char* tool : {"initdb", "postgres"}) {
    if (::access((fs::path(bin) / tool).c_str(), X_OK) != 0) {
      return absl::NotFoundError(
          absl::StrCat((fs::path(bin) / tool).string(),
                       " not found; install Debian's postgresql package "
                       "(scripts/install-deps.sh does)"));
    }
  }
  auto user = ChooseUser();
  if (!user.ok()) return user.status();
  // A short path under /tmp: a unix socket path must fit in 107 bytes.
  fs::path tmp = "/tmp";
  RemoveStaleDirs(tmp);
  std::string tmpl = (tmp / absl::StrCat(kDirPrefix, "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", std::strerror(errno)));
  }
  std::string dir = tmpl;
  { std::ofstream(fs::path(dir) / "owner.pid") << ::getpid() << "\n"; }
  if (*user && ::chown(dir.c_str(), (*user)->uid, (*user)->gid) != 0) {
    return absl::InternalError(
        absl::StrCat("chown ", dir, ": ", std::strerror(errno)));
  }
  ::chmod(dir.c_str(), 0700);
  // The server (pid 0 until started) is stopped and the dir removed on error.
  std::unique_ptr<TestPostgres> server(new TestPostgres(dir, 0));

  std::string initdb_log = dir + "/initdb.log";
  int log_fd = ::open(initdb_log.c_str(),
                      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SpawnSpec init;
  init.argv = {
      bin + "/initdb", "-D",         dir + "/data", "-U",
      kSuperuser,      "-A",         "trust",       "-E",
      "UTF8",          "--locale=C", "--no-sync",   "--no-instructions"};
  init.cwd = dir;
  init.run_as = *user;
  init.out_fd = log_fd;
  init.env = {{"LC_ALL", "C"}};
  auto initdb = Spawn(init);
  if (!initdb.ok()) {
    ::close(log_fd);
    return initdb.status();
  }
  std::optional<int> rc = WaitExit(*initdb, 120000);
  ::close(log_fd);
  if (!rc || *rc != 0) {
    if (!rc) {
      ::kill(*initdb, SIGKILL);
      WaitExit(*initdb, 5000);
    }
    return absl::InternalError(absl::StrCat(
        "initdb failed (", rc ? absl::StrCat("exit ", *rc) : "timed out",
        *user ? absl::StrCat(", run as ", (*user)->name) : "", "):\n",
        Tail(initdb_log)));
  }

  std::string server_log = dir + "/server.log";
  log_fd = ::open(server_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0644);
  SpawnSpec run;
  // No TCP at all; durability traded for speed: the data dies with the test.
  run.argv = {bin + "/postgres",
              "-D",
              dir + "/data",
              "-k",
              dir,
              "-p",
              "5432",
              "-c",
              "listen_addresses=",
              "-c",
              "fsync=off",
              "-c",
              "synchronous_commit=off",
              "-c",
              "full_page_writes=off",
              "-c",
              "shared_buffers=16MB",
              "-c",
              "max_connections=60"};
  run.cwd = dir;
  run.run_as = *user;
  run.out_fd = log_fd;
  run.env = {{"LC_ALL", "C"}};
  run.die_with_parent = true;
  auto pid = Spawn(run);
  ::close(log_fd);
  if (!pid.ok()) return pid.status();
  server->pid_ = *pid;

  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(options.start_timeout_ms);
  std::string last_error;
  for (;;) {
    int status = 0;
    if (::waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->pid_ = 0;
      return absl::InternalError(absl::StrCat(
          "the PostgreSQL test server exited at start:\n", Tail(server_log)));
    }
    try {
      pqxx::connection probe(server->Url("postgres"));
      break;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the PostgreSQL test server did not accept connections within ",
          options.start_timeout_ms, " ms (", last_error, "):\n",
          Tail(server_log)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return server;
}

TestPostgres::~TestPostgres() { (void)Stop(); }

absl::Status TestPostgres::Stop() {
  absl::Status result;
  if (pid_ > 0) {
    ::kill(pid_,
           SIGINT);  // fast shutdown: disconnect clients, checkpoint, exit
    std::optional<int> rc = WaitExit(pid_, 15000);
    if (!rc) {
      ::kill(pid_, SIGKILL);
      WaitExit(pid_, 5000);
      result = absl::DeadlineExceededError(
          "the PostgreSQL test server ignored SIGINT");
    }
    pid_ = 0;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
  return result;
}

std::string TestPostgres::Url(const std::string& database) const {
  return absl::StrCat("postgresql://", kSuperuser, "@/", database,
                      "?host=", dir_);
}

std::string TestPostgres::DatabaseName(const std::string& url) {
  size_t start = url.find("@/") + 2;
  return url.substr(start, url.find('?') - start);
}

absl::StatusOr<std::string> TestPostgres::CreateDatabase(
    const std::string& options) {
  std::string name = absl::StrCat("t", ::getpid(), "_", next_db_++);
  try {
    pqxx::connection c(Url("postgres"));
    pqxx::nontransaction tx(c);
    // template0 accepts no connections, so cloning it never finds it busy.
    tx.exec(absl::StrCat("CREATE DATABASE ", name, " TEMPLATE template0 ",
                         options));
    return Url(name);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("CREATE DATABASE ", name, ": ", e.what()));
  }
}

TestPostgres* SharedTestPostgres() { return g_shared; }

void PostgresEnvironment::SetUp() {
  auto server = TestPostgres::Start({});
  if (server.status().code() == absl::StatusCode::kNotFound) {
    std::cout << "PostgreSQL tests skipped: " << server.status().message()
              << std::endl;
    GTEST_SKIP() << "PostgreSQL tests skipped: " << server.status().message();
  }
  ASSERT_TRUE(server.ok()) << server.status();
  g_shared = server->release();
}

void PostgresEnvironment::TearDown() {
  if (g_shared == nullptr) return;
  absl::Status s = g_shared->Stop();
  delete g_shared;
  g_shared = nullptr;
  EXPECT_TRUE(s.ok()) << s;
}

absl::StatusOr<CommandResult> RunCommand(
    const std::vector<std::string>& argv,
    const std::map<std::string, std::string>& env, int timeout_ms) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  SpawnSpec spec;
  spec.argv = argv;
  spec.env = env;
  spec.out_fd = fds[1];
  auto pid = Spawn(spec);
  ::close(fds[1]);
  if (!pid.ok()) {
    ::close(fds[0]);
    return pid.status();
  }
  CommandResult result;
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd p = {fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    result.output.append(buf, static_cast<size_t>(got));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(*pid, SIGKILL);
  std::optional<int> rc = WaitExit(*pid, 10000);
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(argv[0], " ran longer than ", timeout_ms, " ms; output:\n",
                     result.output));
  }
  result.exit_code = rc.value_or(-1);
  return result;
}

}  // namespace spatial::registry::pgtest
