// PostgresRegistry: the Registry on a PostgreSQL database, for a team whose
// CI runners and servers share one registry. Same schema semantics as
// SqliteRegistry (tables, schema_version and migrations, a marker table that
// tells our database from a foreign one). Owns one connection; thread-safe
// (a mutex serialises use of it) and safe across processes: writers take row
// locks, and promotions and rollbacks a table lock, so history order is commit
// order. Credentials come from the URL, PGPASSFILE or PGPASSWORD (libpq) and
// are never shown: Describe() masks the password.
#ifndef SPATIAL_REGISTRY_POSTGRES_POSTGRES_REGISTRY_H_
#define SPATIAL_REGISTRY_POSTGRES_POSTGRES_REGISTRY_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "src/registry/registry.h"

namespace spatial::registry {

namespace pg {
class PgSession;
}  // namespace pg

class PostgresRegistry final : public Registry {
 public:
  struct Options {
    // A libpq URL ("postgresql://user@host:5432/db?sslmode=require") or
    // keyword/value string. Required.
    std::string url;
  };

  // Connects, then creates and migrates the schema when needed (concurrent
  // openers wait for each other). Unavailable when the server cannot be
  // reached; FailedPrecondition when the database holds another
  // application's tables or a schema newer than this binary knows.
  static absl::StatusOr<std::unique_ptr<PostgresRegistry>> Open(
      const Options& options);
  ~PostgresRegistry() override;

  absl::Status AddVersion(const ModelVersion& v) override;
  absl::StatusOr<ModelVersion> GetVersion(absl::string_view id) override;
  absl::StatusOr<std::vector<ModelVersion>> ListVersions() override;
  // Without metrics, compatibility_info, training_config, tags and files.
  absl::StatusOr<std::vector<ModelVersion>> ListVersionSummaries() override;
  absl::StatusOr<std::vector<std::string>> ListVersionIds() override;
  absl::Status PutEnvironment(const Environment& e) override;
  absl::StatusOr<Environment> GetEnvironment(absl::string_view name) override;
  absl::StatusOr<std::vector<Environment>> ListEnvironments() override;
  absl::Status RecordValidation(const ValidationRecord& r) override;
  absl::StatusOr<std::vector<ValidationRecord>> ListValidations(
      absl::string_view version_id) override;
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
  // LISTEN/NOTIFY on a connection of its own (src/registry/postgres/
  // pg_listener.h).
  std::unique_ptr<ChangeListener> NewChangeListener(
      const std::string& environment) override;
  // "postgresql://user:***@host/db": the URL with its password masked.
  std::string Describe() const override;

  // The schema version this binary writes.
  static constexpr int kSchemaVersion = 3;

 private:
  explicit PostgresRegistry(std::unique_ptr<pg::PgSession> session);
  absl::Status Migrate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::unique_ptr<pg::PgSession> session_ ABSL_GUARDED_BY(mu_);
  const std::string described_;
  const std::string conninfo_;  // with the password: never shown
};

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_POSTGRES_POSTGRES_REGISTRY_H_
