// CreateBackup, VerifyBackup and CheckRegistry (backup.h), and the helpers
// restore.cc shares (backup_internal.h). Thread-compatible: each call works
// on its own files and connections.
#include "src/registry/backup/backup.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/audit.h"
#include "src/registry/backup/backup_file.h"
#include "src/registry/backup/backup_internal.h"
#include "src/registry/backup/tool_run.h"
#include "src/registry/open/registry_open.h"
#include "src/registry/registry_location.h"
#include "src/registry/sqlite/sqlite_db.h"

namespace spatial::registry::backup {
namespace fs = std::filesystem;

namespace internal {

std::string TempBeside(const std::string& path, const std::string& suffix) {
  std::random_device rd;
  return absl::StrCat(path, ".", suffix, "-", ::getpid(), "-", rd() % 1000000);
}

void RemoveSqliteFiles(const std::string& path) {
  for (const char* ext : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ec;
    fs::remove(path + ext, ec);
  }
}

absl::StatusOr<std::unique_ptr<SqliteRegistry>> OpenImage(
    const std::string& image, const std::string& path, int mode) {
  RETURN_IF_ERROR(base::WriteFileAtomic(path, image, mode));
  return SqliteRegistry::Open({.path = path, .create = false});
}

}  // namespace internal

namespace {

using internal::RemoveSqliteFiles;
using internal::TempBeside;

// The registry part of a SQLite registry, copied in one step of the online
// backup API: one read transaction, so one consistent state, while writers
// go on (WAL).
absl::StatusOr<std::string> SnapshotSqlite(const std::string& path,
                                           const std::string& tmp) {
  sqlite3* src = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &src, SQLITE_OPEN_READWRITE, nullptr);
  if (rc != SQLITE_OK) {
    // A backup user may only read the registry.
    sqlite3_close(src);
    src = nullptr;
    rc = sqlite3_open_v2(path.c_str(), &src, SQLITE_OPEN_READONLY, nullptr);
  }
  if (rc != SQLITE_OK) {
    absl::Status s = sqlite::SqliteStatus(src, rc, absl::StrCat("open ", path));
    sqlite3_close(src);
    return s;
  }
  sqlite3_busy_timeout(src, 30000);
  sqlite3* dst = nullptr;
  rc = sqlite3_open_v2(tmp.c_str(), &dst,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  absl::Status status;
  if (rc != SQLITE_OK) {
    status = sqlite::SqliteStatus(dst, rc, absl::StrCat("create ", tmp));
  } else {
    sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
    if (b == nullptr) {
      status = sqlite::SqliteStatus(dst, sqlite3_errcode(dst), "backup");
    } else {
      auto deadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(60);
      do {
        rc = sqlite3_backup_step(b, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);
      } while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
               std::chrono::steady_clock::now() < deadline);
      sqlite3_backup_finish(b);
      if (rc != SQLITE_DONE) {
        // The destination holds the error (and the OS's errno: a full
        // disk is said as such).
        status = sqlite::SqliteStatus(
            dst, rc, absl::StrCat("online backup of ", path, " into ", tmp));
      }
    }
  }
  sqlite3_close(dst);
  sqlite3_close(src);
  if (!status.ok()) {
    RemoveSqliteFiles(tmp);
    return status;
  }
  auto bytes = base::ReadFile(tmp, 1ull << 30);
  RemoveSqliteFiles(tmp);
  return bytes;
}

absl::StatusOr<std::string> DumpPostgres(const std::string& url,
                                         const std::string& pg_bin_dir,
                                         const std::string& tmp) {
  absl::Status s =
      RunTool({pg_bin_dir + "/pg_dump", "--dbname=" + url, "--format=plain",
               "--clean", "--if-exists", "--no-owner", "--no-privileges"},
              tmp, "pg_dump");
  if (!s.ok()) {
    std::remove(tmp.c_str());
    return s;
  }
  auto bytes = base::ReadFile(tmp, 1ull << 30);
  std::remove(tmp.c_str());
  return bytes;
}

// One column of a table's COPY block in a plain pg_dump; nullopt when the
// dump has no such block or column. Values are as COPY writes them (the ids
// and digests read here need no unescaping).
std::optional<std::vector<std::string>> DumpColumn(const std::string& dump,
                                                   const std::string& table,
                                                   const std::string& column) {
  const std::string head = absl::StrCat("\nCOPY public.", table, " (");
  size_t at = dump.find(head);
  if (at == std::string::npos) return std::nullopt;
  size_t close = dump.find(") FROM stdin;\n", at);
  if (close == std::string::npos) return std::nullopt;
  std::vector<std::string> cols = absl::StrSplit(
      dump.substr(at + head.size(), close - at - head.size()), ", ");
  auto col = std::find(cols.begin(), cols.end(), column);
  if (col == cols.end()) return std::nullopt;
  const size_t index = static_cast<size_t>(col - cols.begin());
  std::vector<std::string> out;
  size_t line = dump.find('\n', close) + 1;
  for (;;) {
    size_t end = dump.find('\n', line);
    if (end == std::string::npos) return std::nullopt;  // no end marker
    absl::string_view row(dump.data() + line, end - line);
    if (row == "\\.") return out;
    std::vector<absl::string_view> fields = absl::StrSplit(row, '\t');
    if (index >= fields.size()) return std::nullopt;
    out.emplace_back(fields[index]);
    line = end + 1;
  }
}

// Every distinct blob of `versions`, with the first file that refers to it.
std::map<std::string, ArtifactFile> Manifest(
    const std::vector<ModelVersion>& versions) {
  std::map<std::string, ArtifactFile> out;
  for (const auto& v : versions) {
    for (const auto& f : v.files) out.emplace(f.sha256, f);
  }
  return out;
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

absl::Status WriteBackup(const BackupOptions& o, const RegistryLocation& where,
                         const std::string& tmp, const std::string& tmp_db) {
  ASSIGN_OR_RETURN(auto w, BackupWriter::Create(tmp));
  BackupInfo info;
  info.created_at = base::FormatIso8601(absl::Now());
  info.spatial_version = o.spatial_version;
  info.artifacts = o.include_artifacts;
  std::vector<ModelVersion> versions;
  info.source_kind = std::string(KindName(where.kind));
  info.source = where.masked;
  if (where.is_postgres()) {
    ASSIGN_OR_RETURN(std::string dump,
                     DumpPostgres(where.url, o.pg_bin_dir, tmp_db));
    RETURN_IF_ERROR(w->SetRegistry(info.source_kind, dump));
    // Listed after the dump: a superset of its versions, whose blobs are
    // all in the store (a blob is stored before its version is committed).
    ASSIGN_OR_RETURN(auto reg, OpenRegistry(where, /*create=*/false));
    ASSIGN_OR_RETURN(versions, reg->ListVersions());
  } else {
    ASSIGN_OR_RETURN(std::string image, SnapshotSqlite(where.path, tmp_db));
    RETURN_IF_ERROR(w->SetRegistry(info.source_kind, image));
    absl::StatusOr<std::vector<ModelVersion>> listed;
    {
      auto reg = internal::OpenImage(image, tmp_db);
      listed = reg.ok() ? (*reg)->ListVersions() : reg.status();
    }
    RemoveSqliteFiles(tmp_db);
    if (!listed.ok()) return listed.status();
    versions = std::move(*listed);
  }
  RETURN_IF_ERROR(w->SetInfo(info));
  ArtifactStore store(o.store_root);
  for (const auto& [sha, file] : Manifest(versions)) {
    absl::Status ok = store.Verify(file);
    if (!ok.ok()) {
      return absl::DataLossError(absl::StrCat(
          "the store ", o.store_root, " cannot back up blob sha256:", sha, " (",
          ok.message(), "); run `spatial model test`"));
    }
    std::optional<std::string> data;
    if (o.include_artifacts) {
      ASSIGN_OR_RETURN(data, base::ReadFile(store.BlobPath(sha), 1ull << 30));
    }
    RETURN_IF_ERROR(w->AddBlob(sha, static_cast<int64_t>(file.size), data));
  }
  return w->Finish();
}

}  // namespace

absl::StatusOr<RegistryCheck> CheckRegistry(Registry& registry,
                                            const ArtifactStore& store) {
  RegistryCheck out;
  ASSIGN_OR_RETURN(auto versions, registry.ListVersions());
  for (const auto& v : versions) {
    absl::Status s = store.VerifyVersion(v);
    if (!s.ok()) {
      return absl::DataLossError(
          absl::StrCat("version ", v.version_id, ": ", s.message()));
    }
    out.version_ids.push_back(v.version_id);
  }
  ASSIGN_OR_RETURN(AuditSnapshot audit, registry.ReadAuditSnapshot());
  AuditCheck chain = VerifyAuditChain(audit.records);
  if (chain.broken_seq) {
    return absl::DataLossError(absl::StrCat(
        "audit log broken at seq ", *chain.broken_seq, ": ", chain.problem));
  }
  AuditLinkCheck links = CheckAuditLinks(audit);
  if (!links.problems.empty()) {
    return absl::DataLossError(absl::StrCat(
        "audit log and registry rows disagree: ", links.problems.front(),
        links.problems.size() > 1
            ? absl::StrCat(" (and ", links.problems.size() - 1,
                           " more; run spatial audit verify)")
            : ""));
  }
  out.audit_records = chain.records;
  return out;
}

absl::StatusOr<BackupSummary> CreateBackup(const BackupOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(RegistryLocation where, ParseRegistryLocation(o.registry));
  if (where.is_sqlite()) {
    std::error_code ec;
    if (!fs::is_regular_file(where.path, ec)) {
      return absl::NotFoundError(absl::StrCat("no registry at ", where.path));
    }
  }
  std::error_code ec;
  if (!fs::is_directory(base::DirName(o.out_path), ec)) {
    return absl::NotFoundError(
        absl::StrCat("the directory of --out ", o.out_path, " does not exist"));
  }
  const std::string tmp = TempBeside(o.out_path, "tmp");
  const std::string tmp_db = TempBeside(o.out_path, "registry");
  absl::Status s = WriteBackup(o, where, tmp, tmp_db);
  if (s.ok() && ::rename(tmp.c_str(), o.out_path.c_str()) != 0) {
    s = base::ErrnoStatus(errno, absl::StrCat("rename to ", o.out_path));
  }
  if (!s.ok()) {
    // Nothing half-written stays: the temp file is the only thing written.
    RemoveSqliteFiles(tmp);
    RemoveSqliteFiles(tmp_db);
    return absl::Status(s.code(), absl::StrCat("no backup written to ",
                                               o.out_path, ": ", s.message()));
  }
  RETURN_IF_ERROR(base::FsyncDir(base::DirName(o.out_path)));
  ASSIGN_OR_RETURN(BackupSummary summary, VerifyBackup(o.out_path));
  summary.seconds = SecondsSince(t0);
  return summary;
}

absl::StatusOr<BackupSummary> VerifyBackup(const std::string& path) {
  auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto reader, BackupReader::Open(path));
  BackupSummary out;
  out.source_kind = reader->info().source_kind;
  out.artifacts = reader->info().artifacts;
  ASSIGN_OR_RETURN(std::string part, reader->Registry());
  std::map<std::string, int64_t> blobs;
  RETURN_IF_ERROR(reader->ForEachBlob(
      [&](const BlobEntry& b, const std::string* data) -> absl::Status {
        if (out.artifacts && data == nullptr) {
          return absl::DataLossError(
              absl::StrCat(path, " lacks the bytes of blob sha256:", b.sha256));
        }
        blobs[b.sha256] = b.size;
        out.blob_bytes += b.size;
        return absl::OkStatus();
      }));
  out.blobs = static_cast<int64_t>(blobs.size());
  if (out.source_kind == "postgresql") {
    auto ids = DumpColumn(part, "versions", "id");
    auto shas = DumpColumn(part, "artifact_files", "sha256");
    auto audit = DumpColumn(part, "audit_log", "hash");
    if (!absl::StrContains(part, "PostgreSQL database dump complete") || !ids ||
        !shas || !audit) {
      return absl::DataLossError(
          absl::StrCat(path,
                       ": the pg_dump in it is incomplete (no versions, "
                       "artifact_files or audit_log data)"));
    }
    for (const auto& sha : *shas) {
      if (!blobs.count(sha)) {
        return absl::DataLossError(absl::StrCat(
            path, ": blob sha256:", sha, " is not in the backup's manifest"));
      }
    }
    out.version_ids = *ids;
    out.audit_records = static_cast<int64_t>(audit->size());
  } else {
    const std::string tmp = TempBeside(path, "check");
    absl::Status s;
    {
      auto reg = internal::OpenImage(part, tmp);
      if (!reg.ok()) {
        s = absl::DataLossError(absl::StrCat(
            path,
            ": the registry in it does not open: ", reg.status().message()));
      } else {
        auto versions = (*reg)->ListVersions();
        auto audit = (*reg)->ListAudit();
        if (!versions.ok()) s = versions.status();
        if (s.ok() && !audit.ok()) s = audit.status();
        for (size_t i = 0; s.ok() && i < versions->size(); ++i) {
          const ModelVersion& v = (*versions)[i];
          out.version_ids.push_back(v.version_id);
          for (const auto& f : v.files) {
            auto it = blobs.find(f.sha256);
            if (it == blobs.end() ||
                it->second != static_cast<int64_t>(f.size)) {
              s = absl::DataLossError(
                  absl::StrCat(path, ": blob of ", v.version_id, "/", f.path,
                               " is not in the backup's manifest"));
            }
          }
        }
        if (s.ok()) {
          AuditCheck chain = VerifyAuditChain(*audit);
          if (chain.broken_seq) {
            s = absl::DataLossError(absl::StrCat(
                path, ": audit log broken at seq ", *chain.broken_seq));
          }
          out.audit_records = chain.records;
        }
      }
    }
    RemoveSqliteFiles(tmp);
    RETURN_IF_ERROR(s);
  }
  std::error_code ec;
  out.file_bytes = static_cast<int64_t>(fs::file_size(path, ec));
  out.seconds = SecondsSince(t0);
  return out;
}

}  // namespace spatial::registry::backup
