// SqliteRegistry: the Registry on one SQLite file (WAL, foreign keys, a busy
// timeout so that concurrent processes queue rather than fail). Owns its
// connection; thread-safe (one mutex serialises use of the connection), and
// safe across processes (write transactions are BEGIN IMMEDIATE).
#ifndef SPATIAL_REGISTRY_SQLITE_SQLITE_REGISTRY_H_
#define SPATIAL_REGISTRY_SQLITE_SQLITE_REGISTRY_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "src/registry/registry.h"

struct sqlite3;

namespace spatial::registry {

class SqliteRegistry final : public Registry {
 public:
  struct Options {
    std::string path;             // file path, or ":memory:"
    int busy_timeout_ms = 30000;  // wait this long for another writer
    bool create = true;           // create the file when missing
  };

  // Opens (creating and migrating when needed). FailedPrecondition when the
  // file is not a SQLite database or is a database of another application, or
  // when its schema is newer than this binary knows.
  static absl::StatusOr<std::unique_ptr<SqliteRegistry>> Open(
      const Options& options);
  ~SqliteRegistry() override;

  absl::Status AddVersion(const ModelVersion& v) override;
  absl::StatusOr<ModelVersion> GetVersion(absl::string_view id) override;
  absl::StatusOr<std::vector<ModelVersion>> ListVersions() override;
  absl::StatusOr<std::vector<std::string>> ListVersionIds() override;
  absl::StatusOr<std::vector<ModelVersion>> ListVersionSummaries() override;
  absl::Status PutEnvironment(const Environment& e) override;
  absl::StatusOr<Environment> GetEnvironment(absl::string_view name) override;
  absl::StatusOr<std::vector<Environment>> ListEnvironments() override;
  absl::Status RecordValidation(const ValidationRecord& r) override;
  absl::StatusOr<std::vector<ValidationRecord>> ListValidations(
      absl::string_view version_id) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListImportedValidations() override;
  absl::StatusOr<DeploymentEvent> Activate(DeploymentEvent event) override;
  absl::StatusOr<std::optional<std::string>> ActiveVersion(
      absl::string_view environment) override;
  absl::StatusOr<std::vector<DeploymentEvent>> History(
      absl::string_view environment) override;
  absl::Status Import(const RegistrySnapshot& snapshot) override;
  absl::Status RecordEvent(const AuditNote& note) override;
  absl::Status UpdateEnvironment(
      absl::string_view name,
      const std::function<absl::Status(Environment&)>& change,
      const AuditNote& note) override;
  absl::Status AddSignature(const StoredSignature& s) override;
  absl::StatusOr<std::vector<StoredSignature>> ListSignatures(
      absl::string_view version_id) override;
  absl::StatusOr<std::vector<AuditRecord>> ListAudit() override;
  absl::StatusOr<AuditPage> ListAuditPage(size_t offset, size_t limit) override;
  absl::StatusOr<AuditSnapshot> ReadAuditSnapshot() override;
  std::string Describe() const override;

  // The schema version this binary writes.
  static constexpr int kSchemaVersion = 3;

 private:
  explicit SqliteRegistry(sqlite3* db, std::string path);
  absl::Status Migrate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
  const std::string path_;
};

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_SQLITE_SQLITE_REGISTRY_H_
