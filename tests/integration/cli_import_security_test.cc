// Black-box tests of what `spatial model import` may read (issue 20, item 1),
// of user text reaching the terminal (item 4) and of passwords in errors
// (item 5), against the real binary.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kZeros(64, '0');

// What an import must leave alone: the versions, the history, the audit log
// and every file of the store.
struct State {
  Json versions, history;
  std::vector<std::string> store;
  bool operator==(const State&) const = default;
};

State Snapshot(const Sandbox& box) {
  return {box.ListJson(), box.JsonAt(box.registry(), {"history"}),
          ListTree(box.store())};
}

// An entry of model_versions.json in the original tool's shape (no
// spatial_deploy block) for `file_path` with `checksum`.
Json LegacyEntry(const std::string& id, const std::string& file_path,
                 const std::string& checksum) {
  return {{"version_id", id},
          {"model_type", "spatial-mllm"},
          {"architecture", "dual-encoder"},
          {"file_path", file_path},
          {"creation_date", "2025-01-01T00:00:00"},
          {"checksum", checksum},
          {"size_mb", 0.001},
          {"performance_metrics", {{"accuracy", 0.9}}},
          {"compatibility_info", Json::object()},
          {"deployment_environments", Json::array()},
          {"training_config", Json::object()},
          {"validation_status", "pending"},
          {"tags", Json::array()}};
}

// DIR/name/model_versions.json holding one entry; returns DIR/name.
std::string ImportDir(const Sandbox& box, const std::string& name,
                      const std::string& file_path,
                      const std::string& checksum) {
  Json versions = {{"evil", LegacyEntry("evil", file_path, checksum)}};
  box.WriteFile(name + "/model_versions.json", versions.dump(2));
  return box.Path(name);
}

class ImportSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Canary in the environment the binary inherits: /proc/self/environ of
    // the import holds it.
    ::setenv("SPATIAL_IMPORT_CANARY", "canary-7f3a9e", 1);
    box_.Register(box_.WriteRandomFile("own.onnx", 256), "own");
    before_ = Snapshot(box_);
    ASSERT_FALSE(before_.store.empty());
  }

  // Runs the import and expects a refusal (exit 2) naming `message`, with
  // nothing printed on stdout and nothing changed.
  void ExpectRefused(const std::vector<std::string>& args,
                     const std::string& message) {
    ProcessResult r = box_.Model(args);
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_FALSE(r.timed_out) << r;
    EXPECT_THAT(r.err, HasSubstr("import refused: version 'evil'")) << r;
    EXPECT_THAT(r.err, HasSubstr(message)) << r;
    EXPECT_THAT(r.err, HasSubstr("nothing was imported")) << r;
    EXPECT_EQ(r.out, "") << r;
    EXPECT_TRUE(Snapshot(box_) == before_) << r;
    // No blob anywhere holds the canary.
    for (const auto& f : ListTree(box_.store())) {
      EXPECT_THAT(ReadBytes(box_.store() + "/" + f),
                  Not(HasSubstr("canary-7f3a9e")))
          << f;
    }
  }

  Sandbox box_;
  State before_;
};

// file_path /proc/self/environ with a zero checksum: refused before anything
// is read (it lies outside the import directory), so no blob of the
// environment appears, and the registry is as it was.
TEST_F(ImportSecurityTest, RefusesProcEnvironWithoutStoringIt) {
  ExpectRefused(
      {"import", ImportDir(box_, "imp", "/proc/self/environ", kZeros)},
      "file_path '/proc/self/environ' lies outside the import directory");
  // Even where /proc is named as an artifacts root, a kernel pseudo-file is
  // not an artifact.
  ExpectRefused(
      {"import", ImportDir(box_, "imp2", "/proc/self/environ", kZeros),
       "--artifacts-root", "/proc"},
      "is a kernel pseudo-file");
}

// A symbolic link inside the import directory that leads out of it (to
// /proc/self/environ) is refused by where it resolves.
TEST_F(ImportSecurityTest, RefusesSymlinkLeavingImportDirectory) {
  const std::string dir = ImportDir(box_, "imp", "env", kZeros);
  fs::create_symlink("/proc/self/environ", dir + "/env");
  ExpectRefused({"import", dir},
                "lies outside the directories an import may read");
}

// A 0600 secret beside, not inside, the import directory is refused even
// with its true checksum.
TEST_F(ImportSecurityTest, RefusesPrivateFileOutsideImportDirectory) {
  const std::string secret =
      box_.WriteFile("secret.txt", "PGPASSWORD=canary-7f3a9e\n");
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  ExpectRefused(
      {"import", ImportDir(box_, "imp", secret, Sha256OfFile(secret))},
      "lies outside the import directory " + box_.Path("imp"));
  ExpectRefused({"import", ImportDir(box_, "imp2", "../secret.txt",
                                     Sha256OfFile(secret))},
                "lies outside the import directory");
}

// A directory or a file larger than --max-artifact-mb is refused unread.
TEST_F(ImportSecurityTest, RefusesArtifactsOverTheSizeBound) {
  box_.WriteRandomFile("imp/big/a.bin", 700 * 1024);
  box_.WriteRandomFile("imp/big/b.bin", 700 * 1024);
  ExpectRefused({"import", ImportDir(box_, "imp", "big", kZeros),
                 "--max-artifact-mb", "1"},
                "is a directory of more than 1048576 bytes; it was not read");
  const std::string huge = box_.WriteRandomFile("imp2/huge.onnx", 1536 * 1024);
  ExpectRefused({"import", ImportDir(box_, "imp2", "huge.onnx", kZeros),
                 "--max-artifact-mb", "1"},
                "is larger than the bound of 1048576 bytes");
  EXPECT_TRUE(fs::exists(huge));
}

// A fifo is refused at once (the import neither blocks on it nor reads it).
TEST_F(ImportSecurityTest, RefusesFifo) {
  const std::string dir = ImportDir(box_, "imp", "pipe", kZeros);
  ASSERT_EQ(::mkfifo((dir + "/pipe").c_str(), 0600), 0);
  ExpectRefused({"import", dir}, "is a fifo; an artifact is a regular file");
}

// A file whose content does not match the declared checksum is refused and
// leaves no blob (it used to be copied first and compared after).
TEST_F(ImportSecurityTest, RefusesChecksumMismatchLeavingNoBlob) {
  const std::string file = box_.WriteRandomFile("imp/m.onnx", 4096);
  ExpectRefused({"import", ImportDir(box_, "imp", "m.onnx", kZeros)},
                "hashes to " + Sha256OfFile(file) +
                    ", the entry declares checksum " + kZeros);
}

// A matching artifact inside the import directory is imported; its blob is
// readable by owner and group only, and so is the store's directory.
TEST_F(ImportSecurityTest, ImportsMatchingArtifactNotWorldReadable) {
  const std::string file = box_.WriteRandomFile("imp/m.onnx", 4096);
  const std::string sha = Sha256OfFile(file);
  ProcessResult r =
      box_.Model({"import", ImportDir(box_, "imp", "m.onnx", sha)});
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string blob =
      box_.store() + "/sha256/" + sha.substr(0, 2) + "/" + sha;
  struct stat st;
  ASSERT_EQ(::stat(blob.c_str(), &st), 0) << blob;
  EXPECT_EQ(st.st_mode & 0777, 0440u);
  ASSERT_EQ(::stat(fs::path(blob).parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0007, 0u);
  ProcessResult test = box_.Model({"test"});
  EXPECT_EQ(test.exit_code, 0) << test;
}

// A promotion reason with a newline and ESC[2J prints as one escaped row in
// `spatial model history` (and in `spatial audit list`): no forged row, no
// control byte on the terminal. JSON output keeps the text exact.
TEST(CliTerminalTest, HistoryPrintsUserTextEscaped) {
  Sandbox box;
  box.RegisterAndPromote(box.VariantBundle("b1"), "v1");
  const std::string reason =
      "fine\n99  2030-01-01  production  promote  forged\x1b[2J";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"register", box.VariantBundle("b2"), "--version-id", "v2"},
           {"validate", "v2", "--environment", "development"},
           {"promote", "v2", "--environment", "development", "--reason",
            reason}}) {
    ProcessResult r = box.Model(args);
    ASSERT_EQ(r.exit_code, 0) << r;
  }
  ProcessResult h = box.Model({"history"});
  ASSERT_EQ(h.exit_code, 0) << h;
  EXPECT_EQ(std::count(h.out.begin(), h.out.end(), '\n'), 3) << h.out;
  EXPECT_EQ(h.out.find('\x1b'), std::string::npos) << h.out;
  EXPECT_THAT(h.out, HasSubstr("fine\\n99  2030-01-01  production  promote  "
                               "forged\\x1b[2J"));
  Json j = box.JsonAt(box.registry(), {"history"});
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1]["reason"], reason);

  ProcessResult audit = box.Spatial(
      {"audit", "list", "--registry", box.registry(), "--actor", "tester"});
  ASSERT_EQ(audit.exit_code, 0) << audit;
  EXPECT_EQ(audit.out.find('\x1b'), std::string::npos) << audit.out;
  // An actor is user text too.
  ProcessResult info = box.ModelAt(box.registry(), {"info", "v2"});
  EXPECT_EQ(info.out.find('\x1b'), std::string::npos) << info.out;
}

// A PostgreSQL URL whose passwords hide in percent-encoded or ssl parameter
// names prints none of them, in any error, on either stream.
TEST(CliSecretsTest, PostgresPasswordsNeverPrinted) {
  Sandbox box;
  const std::vector<std::string> urls = {
      // Nothing listens on port 1 of the loopback: the connection fails.
      "postgresql://u:s3cret@127.0.0.1:1/db?sslpassword=s3cret&"
      "pass%77ord=s3cret&connect_timeout=5",
      // libpq quotes a malformed percent-encoding it meets.
      "postgresql://u@127.0.0.1:1/db?password=s3cret%zz&connect_timeout=5",
      "postgresql://u@127.0.0.1:1/db?%70assword=s3cret&PassWord=s3cret&"
      "connect_timeout=5",
  };
  for (const auto& url : urls) {
    SCOPED_TRACE(url);
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"model", "list", "--registry", url, "--store", box.Path("s")},
             {"model", "list", "--registry", url},
             {"audit", "list", "--registry", url, "--store", box.Path("s")}}) {
      ProcessResult r = box.Spatial(args);
      EXPECT_NE(r.exit_code, 0) << r;
      EXPECT_THAT(r.err, HasSubstr("error: ")) << r;
      EXPECT_THAT(r.err, Not(HasSubstr("s3cret"))) << r;
      EXPECT_THAT(r.out, Not(HasSubstr("s3cret"))) << r;
    }
  }
}

}  // namespace
}  // namespace spatial::integration
