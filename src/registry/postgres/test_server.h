// TestPostgres: a throw-away PostgreSQL server for tests. initdb in a fresh
// temp dir, then `postgres` listening only on a unix socket in that dir (no
// TCP port). When the tests run as root (initdb refuses root) the server runs
// as the `postgres` user, else `nobody`, and owns the temp dir. The server is
// our child with a parent-death signal, so a crashed test binary leaves no
// server behind; Stop() (or the destructor) shuts it down and removes the dir.
// Its processes run through base::Subprocess.
// Thread-safe after Start(): CreateDatabase() may be called from any thread.
#ifndef SPATIAL_REGISTRY_POSTGRES_TEST_SERVER_H_
#define SPATIAL_REGISTRY_POSTGRES_TEST_SERVER_H_

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "src/base/subprocess.h"

namespace spatial::registry::pgtest {

class TestPostgres {
 public:
  struct Options {
    std::string bin_dir = "/usr/lib/postgresql/15/bin";  // initdb, postgres
    int start_timeout_ms = 30000;
  };

  // NotFound (the reason to skip) when the binaries are absent; another code
  // with the server's log when initdb or the server fails.
  static absl::StatusOr<std::unique_ptr<TestPostgres>> Start(
      const Options& options);
  ~TestPostgres();
  TestPostgres(const TestPostgres&) = delete;
  TestPostgres& operator=(const TestPostgres&) = delete;

  // Creates an empty database with a unique name; returns its URL.
  // `options` is appended to CREATE DATABASE (e.g. "LOCALE_PROVIDER icu ...").
  absl::StatusOr<std::string> CreateDatabase(const std::string& options = "");
  // The database name in a URL made by Url().
  static std::string DatabaseName(const std::string& url);
  // "postgresql://spatial@/DB?host=SOCKET_DIR".
  std::string Url(const std::string& database) const;
  const std::string& socket_dir() const { return dir_; }

  // Fast shutdown, then removes the temp dir. Idempotent.
  absl::Status Stop();

  // An outage: Shutdown() stops the server (fast shutdown: clients are
  // disconnected) and keeps its data; Restart() starts it again on the same
  // socket and data and waits until it accepts connections.
  absl::Status Shutdown();
  absl::Status Restart();

 private:
  explicit TestPostgres(std::string dir) : dir_(std::move(dir)) {}
  // Spawns `postgres` (argv_, spawn_) and waits until it accepts connections.
  absl::Status Launch();

  std::string dir_;
  std::vector<std::string> argv_;  // of `postgres`
  base::SpawnOptions spawn_;
  int start_timeout_ms_ = 30000;
  base::Subprocess server_;  // `postgres`; none until started
  std::atomic<int> next_db_{0};
};

// The server of this test binary, or nullptr when PostgresEnvironment could
// not start one.
TestPostgres* SharedTestPostgres();

// Starts the shared server before the first test and stops it after the last.
// When the binaries are absent every test is skipped with the reason printed
// ("PostgreSQL tests skipped: ..."); when they are present but the server
// does not start, the run fails.
class PostgresEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
};

// Runs `argv` (argv[0] a path) with `env` added to this process's
// environment, stdin from /dev/null; returns the exit code (128 + signal when
// killed) and stdout and stderr interleaved. Gives up (kills it) after
// `timeout_ms`.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
absl::StatusOr<CommandResult> RunCommand(
    const std::vector<std::string>& argv,
    const std::map<std::string, std::string>& env, int timeout_ms = 60000);

}  // namespace spatial::registry::pgtest

#endif  // SPATIAL_REGISTRY_POSTGRES_TEST_SERVER_H_
