// TestPostgres and RunCommand (see test_server.h): initdb and postgres as
// base::Subprocess children, as an unprivileged user when run as root.
// Thread-safe as test_server.h says.
#include "src/registry/postgres/test_server.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
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
#include "absl/time/time.h"
#include "src/base/status_macros.h"

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

// How the server's tools run: base::Subprocess with stdout and stderr to
// `log`, as `run_as` when set, `LC_ALL=C`.
base::SpawnOptions ToolOptions(const std::string& cwd,
                               const std::optional<RunAs>& run_as,
                               const std::string& log) {
  base::SpawnOptions o;
  o.cwd = cwd;
  o.env = {{"LC_ALL", "C"}};
  o.out = base::Redirect::File(log);
  o.err = base::Redirect::SameAsStdout();
  if (run_as) {
    o.uid = static_cast<int>(run_as->uid);
    o.gid = static_cast<int>(run_as->gid);
  }
  return o;
}

// A tool that cannot start is a broken set-up, never a reason to skip
// (NotFound means "skip" to PostgresEnvironment).
absl::Status CannotStart(const absl::Status& s) {
  return absl::InternalError(s.message());
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
  std::unique_ptr<TestPostgres> server(new TestPostgres(dir));

  std::string initdb_log = dir + "/initdb.log";
  auto initdb = base::RunSubprocess(
      {bin + "/initdb", "-D", dir + "/data", "-U", kSuperuser, "-A", "trust",
       "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
      ToolOptions(dir, *user, initdb_log), absl::Minutes(2));
  if (!initdb.ok()) return CannotStart(initdb.status());
  if (initdb->timed_out || initdb->exit.code != 0) {
    return absl::InternalError(absl::StrCat(
        "initdb failed (",
        initdb->timed_out ? "timed out"
                          : absl::StrCat("exit ", initdb->exit.code),
        *user ? absl::StrCat(", run as ", (*user)->name) : "", "):\n",
        Tail(initdb_log)));
  }

  std::string server_log = dir + "/server.log";
  // No TCP at all; durability traded for speed: the data dies with the test.
  std::vector<std::string> argv = {bin + "/postgres",
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
  base::SpawnOptions run = ToolOptions(dir, *user, server_log);
  run.out = base::Redirect::Append(server_log);  // one log across restarts
  run.parent_death_signal = SIGQUIT;  // a crashed test leaves no server
  server->argv_ = std::move(argv);
  server->spawn_ = std::move(run);
  server->start_timeout_ms_ = options.start_timeout_ms;
  RETURN_IF_ERROR(server->Launch());
  return server;
}

absl::Status TestPostgres::Launch() {
  auto postgres = base::Subprocess::Spawn(argv_, spawn_);
  if (!postgres.ok()) return CannotStart(postgres.status());
  server_ = std::move(*postgres);
  const std::string server_log = spawn_.out.path;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(start_timeout_ms_);
  std::string last_error;
  for (;;) {
    if (!server_.Running()) {
      return absl::InternalError(absl::StrCat(
          "the PostgreSQL test server exited at start:\n", Tail(server_log)));
    }
    try {
      pqxx::connection probe(Url("postgres"));
      return absl::OkStatus();
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the PostgreSQL test server did not accept connections within ",
          start_timeout_ms_, " ms (", last_error, "):\n", Tail(server_log)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

absl::Status TestPostgres::Shutdown() {
  if (server_.pid() <= 0) {
    return absl::FailedPreconditionError("the PostgreSQL test server is down");
  }
  server_.Signal(SIGINT);  // fast shutdown
  if (!server_.Wait(absl::Seconds(15)).has_value()) {
    server_.Stop(absl::Seconds(5));
    return absl::DeadlineExceededError(
        "the PostgreSQL test server ignored SIGINT");
  }
  server_ = base::Subprocess();
  return absl::OkStatus();
}

absl::Status TestPostgres::Restart() {
  if (server_.pid() > 0) {
    return absl::FailedPreconditionError(
        "the PostgreSQL test server is running");
  }
  return Launch();
}

TestPostgres::~TestPostgres() { (void)Stop(); }

absl::Status TestPostgres::Stop() {
  absl::Status result;
  if (server_.pid() > 0) {
    // Fast shutdown: disconnect clients, checkpoint, exit.
    server_.Signal(SIGINT);
    if (!server_.Wait(absl::Seconds(15)).has_value()) {
      server_.Stop(absl::Seconds(5));
      result = absl::DeadlineExceededError(
          "the PostgreSQL test server ignored SIGINT");
    }
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
  base::SpawnOptions o;
  o.env = env;
  o.out = base::Redirect::Capture();
  o.err = base::Redirect::SameAsStdout();
  auto run = base::RunSubprocess(argv, o, absl::Milliseconds(timeout_ms));
  if (!run.ok()) return run.status();
  if (run->timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(
        argv[0], " ran longer than ", timeout_ms, " ms; output:\n", run->out));
  }
  return CommandResult{.exit_code = run->exit.code, .output = run->out};
}

}  // namespace spatial::registry::pgtest
