// RestoreBackup: check everything, then blobs into the store, then the
// registry replaced at once. Thread-compatible: each call works on its own
// files and connections.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"
#include "src/registry/backup/backup.h"
#include "src/registry/backup/backup_file.h"
#include "src/registry/backup/backup_internal.h"
#include "src/registry/backup/tool_run.h"
#include "src/registry/open/registry_open.h"
#include "src/registry/registry_location.h"
#include "src/registry/sqlite/sqlite_db.h"

namespace spatial::registry::backup {
namespace fs = std::filesystem;
namespace {

using internal::RemoveSqliteFiles;
using internal::TempBeside;

// Puts one blob into the store the way ArtifactStore::Ingest does: temp
// name, fsync, read-only, rename. true when written, false when an intact
// copy was there already.
absl::StatusOr<bool> PutBlob(const ArtifactStore& store, const std::string& sha,
                             const std::string& data) {
  const std::string final_path = store.BlobPath(sha);
  auto have = base::Sha256File(final_path);
  if (have.ok() && *have == sha) return false;
  const std::string tmp_dir = store.root() + "/tmp";
  RETURN_IF_ERROR(base::MakeDirs(tmp_dir));
  RETURN_IF_ERROR(base::MakeDirs(base::DirName(final_path)));
  const std::string tmp = TempBeside(tmp_dir + "/restore", "blob");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return base::ErrnoStatus(errno, absl::StrCat("create ", tmp));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  bool ok = done == data.size() && ::fsync(fd) == 0;
  int err = errno;
  ::fchmod(fd, 0444);
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return base::ErrnoStatus(err, absl::StrCat("write blob ", final_path));
  }
  RETURN_IF_ERROR(base::FsyncDir(base::DirName(final_path)));
  return true;
}

// FailedPrecondition when the target holds versions and `force` is off.
absl::Status CheckTargetEmpty(const RestoreOptions& o,
                              const RegistryLocation& target) {
  std::error_code ec;
  if (target.is_sqlite() && !fs::exists(target.path, ec)) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(auto reg, OpenRegistry(target, /*create=*/false));
  ASSIGN_OR_RETURN(auto ids, reg->ListVersionIds());
  if (ids.empty() || o.force) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the registry ", reg->Describe(), " is not empty (", ids.size(),
      " version(s)); restoring would replace it: add --force to do that "
      "(nothing was changed)"));
}

// The old file must not be in use, and no WAL of it may stay behind for the
// new file: an exclusive lock (in WAL mode only granted when no other
// connection has the database open, idle ones included) proves the first;
// a TRUNCATE checkpoint, our close as the last connection and removing -wal
// and -shm see to the second. Unavailable, changing nothing, when in use.
absl::Status RetireWal(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return absl::OkStatus();
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  absl::Status s;
  if (rc != SQLITE_OK) {
    s = sqlite::SqliteStatus(db, rc, absl::StrCat("open ", path));
  } else {
    sqlite3_busy_timeout(db, 3000);
    s = sqlite::Exec(db, "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE");
    if (s.ok()) s = sqlite::Exec(db, "COMMIT");
    if (s.ok()) {
      int log = 0, ckpt = 0;
      rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                     &log, &ckpt);
      if (rc != SQLITE_OK) s = sqlite::SqliteStatus(db, rc, "checkpoint");
    }
    if (!s.ok()) {
      s = absl::UnavailableError(absl::StrCat(
          path, " is in use (", s.message(),
          "); stop the servers and commands using it, then restore again "
          "(nothing was replaced)"));
    }
  }
  sqlite3_close(db);
  if (!s.ok()) return s;
  fs::remove(path + "-wal", ec);
  fs::remove(path + "-shm", ec);
  return absl::OkStatus();
}

absl::Status RestoreSqlite(const std::string& image, const RestoreOptions& o,
                           const std::string& target) {
  RETURN_IF_ERROR(base::MakeDirs(base::DirName(target)));
  const std::string tmp = TempBeside(target, "restore");
  // The replaced file's permissions, else those of a new registry.
  struct stat st;
  const int mode = ::stat(target.c_str(), &st) == 0
                       ? static_cast<int>(st.st_mode & 0777)
                       : 0644;
  absl::Status s;
  {
    auto reg = internal::OpenImage(image, tmp, mode);
    if (!reg.ok()) {
      s = reg.status();
    } else {
      auto check = CheckRegistry(**reg, ArtifactStore(o.store_root));
      if (!check.ok()) s = check.status();
    }
  }
  // The registry closed: its WAL is checkpointed and gone; the file alone
  // is the restored registry.
  if (s.ok()) s = RetireWal(target);
  if (s.ok() && ::rename(tmp.c_str(), target.c_str()) != 0) {
    s = base::ErrnoStatus(errno, absl::StrCat("rename onto ", target));
  }
  if (!s.ok()) {
    RemoveSqliteFiles(tmp);
    return s;
  }
  return base::FsyncDir(base::DirName(target));
}

absl::Status RestorePostgres(const std::string& dump, const RestoreOptions& o,
                             const std::string& url) {
  const std::string tmp = TempBeside(
      (fs::temp_directory_path() / "spatial-restore.sql").string(), "sql");
  RETURN_IF_ERROR(base::WriteFileAtomic(tmp, dump, 0600));
  // One transaction: the dump drops the old tables (--clean) and creates and
  // fills the new ones; any error rolls all of it back.
  absl::Status s = RunTool({o.pg_bin_dir + "/psql", "--no-psqlrc", "--quiet",
                            "-v", "ON_ERROR_STOP=1", "--single-transaction",
                            "--dbname=" + url, "--file=" + tmp},
                           "", "psql (restore, rolled back)");
  std::remove(tmp.c_str());
  return s;
}

}  // namespace

absl::StatusOr<RestoreSummary> RestoreBackup(const RestoreOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  RestoreSummary out;
  ASSIGN_OR_RETURN(auto reader, BackupReader::Open(o.backup_path));
  out.source_kind = reader->info().source_kind;
  ASSIGN_OR_RETURN(RegistryLocation target, ParseRegistryLocation(o.registry));
  const std::string target_kind(KindName(target.kind));
  if (out.source_kind != target_kind) {
    return absl::FailedPreconditionError(
        absl::StrCat(o.backup_path, " is a backup of a ", out.source_kind,
                     " registry and cannot be restored into a ", target_kind,
                     " one; restore it into a ", out.source_kind,
                     " registry, then use `spatial model migrate`"));
  }
  ASSIGN_OR_RETURN(std::string part, reader->Registry());
  // Every check before the first change.
  ArtifactStore store(o.store_root);
  RETURN_IF_ERROR(reader->ForEachBlob(
      [&](const BlobEntry& b, const std::string* data) -> absl::Status {
        if (data != nullptr) return absl::OkStatus();
        ArtifactFile f{.path = b.sha256,
                       .sha256 = b.sha256,
                       .size = static_cast<uint64_t>(b.size)};
        absl::Status have = store.Verify(f);
        if (have.ok()) return absl::OkStatus();
        return absl::FailedPreconditionError(absl::StrCat(
            o.backup_path,
            " holds only the manifest of the artifacts (--no-artifacts) "
            "and the store ",
            o.store_root, " lacks blob sha256:", b.sha256, " (", have.message(),
            "); restore the store first (nothing was changed)"));
      }));
  RETURN_IF_ERROR(CheckTargetEmpty(o, target));
  // Blobs first: content-addressed, so extra ones are harmless if the
  // registry step then fails.
  RETURN_IF_ERROR(reader->ForEachBlob(
      [&](const BlobEntry& b, const std::string* data) -> absl::Status {
        if (data == nullptr) {
          ++out.blobs_present;
          return absl::OkStatus();
        }
        ASSIGN_OR_RETURN(bool written, PutBlob(store, b.sha256, *data));
        ++(written ? out.blobs_written : out.blobs_present);
        return absl::OkStatus();
      }));
  if (target.is_sqlite()) {
    RETURN_IF_ERROR(RestoreSqlite(part, o, target.path));
  } else {
    RETURN_IF_ERROR(RestorePostgres(part, o, target.url));
  }
  // The restored registry, as every later command will see it.
  ASSIGN_OR_RETURN(auto reg, OpenRegistry(target, /*create=*/false));
  auto check = CheckRegistry(*reg, store);
  if (!check.ok()) {
    return absl::DataLossError(
        absl::StrCat("restored, but the result fails its checks: ",
                     check.status().message()));
  }
  out.version_ids = check->version_ids;
  out.audit_records = check->audit_records;
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  return out;
}

}  // namespace spatial::registry::backup
