// Backup and restore of a real SQLite registry and store: the round trip, and
// every refusal leaving the target as it was.
#include "src/registry/backup/backup.h"

#include <sqlite3.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/files.h"
#include "src/base/sha256.h"
#include "src/registry/backup/backup_test_support.h"
#include "src/registry/open/registry_open.h"

namespace spatial::registry::backup {
namespace {
namespace fs = std::filesystem;
using testing::Contents;
using testing::FreshDir;
using ::testing::HasSubstr;
using testing::Populate;
using testing::Read;

// Sorted relative paths of every file under `dir`.
std::vector<std::string> Tree(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir));
  }
  std::sort(out.begin(), out.end());
  return out;
}

class SqliteBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("sqlite");
    Populate(registry(), store(), dir_);
  }
  std::string registry() const { return dir_ + "/reg/registry.db"; }
  std::string store() const { return dir_ + "/reg/store"; }
  std::string Path(const std::string& rel) const { return dir_ + "/" + rel; }

  BackupSummary Backup(const std::string& out, bool artifacts = true) {
    auto s = CreateBackup({.registry = registry(),
                           .store_root = store(),
                           .out_path = out,
                           .include_artifacts = artifacts,
                           .spatial_version = "test"});
    EXPECT_TRUE(s.ok()) << s.status();
    return s.value_or(BackupSummary{});
  }
  absl::StatusOr<RestoreSummary> Restore(const std::string& file,
                                         const std::string& target,
                                         const std::string& target_store,
                                         bool force = false) {
    return RestoreBackup({.backup_path = file,
                          .registry = target,
                          .store_root = target_store,
                          .force = force});
  }

  std::string dir_;
};

TEST_F(SqliteBackupTest, RestoresEverythingIntoAnEmptyPlace) {
  BackupSummary b = Backup(Path("b.spbackup"));
  EXPECT_EQ(b.source_kind, "sqlite");
  EXPECT_EQ(b.version_ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(b.blobs, 4);  // a, b, and c's two files
  EXPECT_EQ(b.blob_bytes, 3000 + 3000 + 5000 + 700);
  EXPECT_GT(b.audit_records, 4);
  EXPECT_FALSE(fs::exists(Path("b.spbackup.tmp")));

  auto r =
      Restore(Path("b.spbackup"), Path("new/registry.db"), Path("new/store"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version_ids, b.version_ids);
  EXPECT_EQ(r->blobs_written, 4);
  EXPECT_EQ(r->audit_records, b.audit_records);
  EXPECT_EQ(Read(Path("new/registry.db")), Read(registry()));
  EXPECT_EQ(Tree(Path("new/store") + "/sha256"), Tree(store() + "/sha256"));
  // Only the registry is left beside the target: no temp files, no WAL.
  EXPECT_EQ(Tree(Path("new")).size(), 5u)
      << ::testing::PrintToString(Tree(Path("new")));

  // Again, with --force, onto itself: idempotent for the store.
  auto again = Restore(Path("b.spbackup"), Path("new/registry.db"),
                       Path("new/store"), /*force=*/true);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->blobs_written, 0);
  EXPECT_EQ(again->blobs_present, 4);
}

TEST_F(SqliteBackupTest, RefusesANonEmptyRegistryWithoutForce) {
  Backup(Path("b.spbackup"));
  const std::string other = Path("other/registry.db");
  Populate(other, Path("other/store"), Path("other"), "x");
  Contents before = Read(other);
  std::string bytes = base::ReadFile(other).value_or("");
  auto r = Restore(Path("b.spbackup"), other, Path("other/store"));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("not empty (3 version(s))"));
  EXPECT_THAT(r.status().message(), HasSubstr("--force"));
  EXPECT_EQ(Read(other), before);
  EXPECT_EQ(Tree(Path("other/store/sha256")).size(), 4u);

  auto forced = Restore(Path("b.spbackup"), other, Path("other/store"), true);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(Read(other), Read(registry()));
}

// A registry another process (here: connection) has open is not replaced
// under it.
TEST_F(SqliteBackupTest, RefusesToReplaceARegistryInUse) {
  Backup(Path("b.spbackup"));
  const std::string other = Path("other/registry.db");
  Populate(other, Path("other/store"), Path("other"), "x");
  Contents before = Read(other);
  {
    auto open = OpenRegistry(other, /*create=*/false);
    ASSERT_TRUE(open.ok()) << open.status();
    ASSERT_TRUE((*open)->ListVersionIds().ok());
    auto r = Restore(Path("b.spbackup"), other, Path("other/store"), true);
    ASSERT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr("is in use"));
    EXPECT_EQ(Read(other), before);
  }
  auto r = Restore(Path("b.spbackup"), other, Path("other/store"), true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Read(other), Read(registry()));
}

TEST_F(SqliteBackupTest, RefusesAnAlteredBlobAndChangesNothing) {
  Backup(Path("b.spbackup"));
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Path("b.spbackup").c_str(), &db), SQLITE_OK);
    // One blob's bytes replaced by zeros, its size and sha256 kept.
    ASSERT_EQ(sqlite3_exec(db,
                           "UPDATE backup_blobs SET data = "
                           "CAST(zeroblob(size) AS BLOB) WHERE rowid = 2",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto r =
      Restore(Path("b.spbackup"), Path("new/registry.db"), Path("new/store"));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("does not match its checksum"));
  EXPECT_FALSE(fs::exists(Path("new")));
  EXPECT_EQ(VerifyBackup(Path("b.spbackup")).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(SqliteBackupTest, RefusesATruncatedFileAndChangesNothing) {
  Backup(Path("b.spbackup"));
  Contents before = Read(registry());
  fs::resize_file(Path("b.spbackup"), fs::file_size(Path("b.spbackup")) / 2);
  auto r = Restore(Path("b.spbackup"), registry(), store(), /*force=*/true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("damaged"));
  EXPECT_EQ(Read(registry()), before);
}

TEST_F(SqliteBackupTest, RefusesFilesThatAreNotBackups) {
  std::string text = Path("notes.txt");
  ASSERT_TRUE(base::WriteFileAtomic(text, "hello, not a database\n").ok());
  for (const std::string& file : {text, registry()}) {
    auto r = Restore(file, Path("new/registry.db"), Path("new/store"));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
        << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr("not a spatial backup file"));
  }
  auto missing =
      Restore(Path("nope"), Path("new/registry.db"), Path("new/store"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(Path("new")));
}

TEST_F(SqliteBackupTest, ManifestOnlyBackupNeedsTheStore) {
  BackupSummary b = Backup(Path("m.spbackup"), /*artifacts=*/false);
  EXPECT_FALSE(b.artifacts);
  EXPECT_EQ(b.blobs, 4);
  EXPECT_LT(b.file_bytes, b.blob_bytes + 200000);
  auto r =
      Restore(Path("m.spbackup"), Path("new/registry.db"), Path("new/store"));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("--no-artifacts"));
  EXPECT_FALSE(fs::exists(Path("new/registry.db")));
  // With the shared store it restores.
  auto ok = Restore(Path("m.spbackup"), Path("new/registry.db"), store());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(Read(Path("new/registry.db")), Read(registry()));
}

TEST_F(SqliteBackupTest, RefusesToBackUpAStoreMissingABlob) {
  auto versions = Read(registry()).versions;
  std::string sha = versions[0].substr(versions[0].rfind('=') + 1);
  std::string blob = store() + "/sha256/" + sha.substr(0, 2) + "/" + sha;
  ASSERT_TRUE(fs::remove(blob)) << blob;
  auto s = CreateBackup({.registry = registry(),
                         .store_root = store(),
                         .out_path = Path("b.spbackup")});
  ASSERT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr(sha));
  EXPECT_FALSE(fs::exists(Path("b.spbackup")));
  // No temp file of the backup left behind either.
  for (const auto& f : Tree(dir_)) {
    EXPECT_THAT(f, ::testing::Not(HasSubstr("spbackup")));
  }
}

TEST_F(SqliteBackupTest, RefusesABackupOfTheOtherKind) {
  Backup(Path("b.spbackup"));
  auto r = Restore(Path("b.spbackup"), "postgresql://nobody@/none",
                   Path("new/store"));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("spatial model migrate"));
}

TEST_F(SqliteBackupTest, MissingRegistryIsNotFound) {
  auto s = CreateBackup({.registry = Path("none.db"),
                         .store_root = store(),
                         .out_path = Path("b.spbackup")});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(Path("none.db")));
}

}  // namespace
}  // namespace spatial::registry::backup
