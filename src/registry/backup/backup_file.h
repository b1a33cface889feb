// The backup file: a SQLite database of its own (application_id "SPDB") with
//   backup_info(key, value)      format_version, source_kind, created_at,
//                                spatial_version, source, artifacts
//   backup_registry(kind, sha256, size, data)
//                                one row: the registry itself, as a SQLite
//                                database image (kind "sqlite") or pg_dump's
//                                plain SQL (kind "postgresql")
//   backup_blobs(sha256, size, data)
//                                every artifact blob the registry references;
//                                data NULL when taken with --no-artifacts
// Every part carries its sha256, so a truncated or altered file is found
// before anything is restored. One writer per file; readers are independent.
#ifndef SPATIAL_REGISTRY_BACKUP_BACKUP_FILE_H_
#define SPATIAL_REGISTRY_BACKUP_BACKUP_FILE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;

namespace spatial::registry::backup {

inline constexpr int kFormatVersion = 1;

struct BackupInfo {
  int format_version = kFormatVersion;
  std::string source_kind;  // "sqlite" | "postgresql"
  std::string created_at;   // ISO 8601 UTC
  std::string spatial_version;
  std::string source;  // where it came from (no secrets)
  bool artifacts = true;
};

struct BlobEntry {
  std::string sha256;
  int64_t size = 0;
  bool has_data = false;
};

// Writes a new backup file at a path that must not exist yet (the caller
// renames it into place after Finish()).
class BackupWriter {
 public:
  static absl::StatusOr<std::unique_ptr<BackupWriter>> Create(
      const std::string& path);
  ~BackupWriter();
  absl::Status SetInfo(const BackupInfo& info);
  absl::Status SetRegistry(const std::string& kind, const std::string& data);
  // `data` nullopt: only the manifest entry.
  absl::Status AddBlob(const std::string& sha256, int64_t size,
                       const std::optional<std::string>& data);
  // Commits, closes and fsyncs the file.
  absl::Status Finish();

 private:
  BackupWriter(sqlite3* db, std::string path)
      : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

// Opens a backup read-only. FailedPrecondition when the file is not a spatial
// backup (or of a newer format), DataLoss when it is damaged.
class BackupReader {
 public:
  static absl::StatusOr<std::unique_ptr<BackupReader>> Open(
      const std::string& path);
  ~BackupReader();
  const BackupInfo& info() const { return info_; }
  // The registry part, after checking its sha256 and size.
  absl::StatusOr<std::string> Registry() const;
  absl::StatusOr<std::vector<BlobEntry>> Blobs() const;
  // Calls `fn` for every blob with its bytes (nullptr when not included),
  // after checking that they hash to the entry's sha256 and size.
  absl::Status ForEachBlob(
      const std::function<absl::Status(const BlobEntry&, const std::string*)>&
          fn) const;

 private:
  BackupReader(sqlite3* db, std::string path)
      : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  BackupInfo info_;
};

}  // namespace spatial::registry::backup

#endif  // SPATIAL_REGISTRY_BACKUP_BACKUP_FILE_H_
