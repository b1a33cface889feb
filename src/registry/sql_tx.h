// The write paths of the SQL adapters (SQLite, PostgreSQL), written once:
// which rows each Registry mutation checks, in which order, what it writes
// and which audit record it appends. RowTx is what differs between the
// adapters: one transaction's row operations over their own client,
// placeholders and locks. The functions hold no state; a RowTx is used by one
// thread, inside the transaction its adapter opened (and commits).
#ifndef SPATIAL_REGISTRY_SQL_TX_H_
#define SPATIAL_REGISTRY_SQL_TX_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/registry/audit.h"
#include "src/registry/audit_links.h"
#include "src/registry/model_version.h"
#include "src/registry/registry.h"

namespace spatial::registry::sql {

class RowTx {
 public:
  virtual ~RowTx() = default;

  // Called first by every mutation that reads or writes the deployment
  // history (PostgreSQL: a table lock, so that history order is commit
  // order). Default: nothing (SQLite's write transactions are exclusive).
  virtual absl::Status LockHistory() { return absl::OkStatus(); }
  // Whether version `id` exists, without locking it.
  virtual absl::StatusOr<bool> VersionExists(const std::string& id) = 0;
  // Whether version `id` exists, taking its row lock where the database has
  // one (two writers of one version's rows then go one after the other).
  virtual absl::StatusOr<bool> LockVersion(const std::string& id) = 0;
  // Inserts `v` and its files unless the id is taken: then inserts nothing
  // and returns the checksum of the version holding it.
  virtual absl::StatusOr<std::optional<std::string>> InsertVersion(
      const ModelVersion& v) = 0;
  virtual absl::StatusOr<bool> EnvironmentExists(const std::string& name) = 0;
  // The stored spec (JSON text) of environment `name`, locked for update;
  // nullopt when there is none.
  virtual absl::StatusOr<std::optional<std::string>> LockEnvironmentSpec(
      const std::string& name) = 0;
  virtual absl::Status UpsertEnvironment(const Environment& e) = 0;
  // Whether the validation of `version_id` for `environment` passed (locked
  // against a concurrent re-validation); nullopt when there is none.
  virtual absl::StatusOr<std::optional<bool>> ValidationPassed(
      const std::string& version_id, const std::string& environment) = 0;
  // Stores `r` and updates the version's validation_status from all its
  // validations (an imported one is history: neither validated nor failed).
  virtual absl::Status UpsertValidation(const ValidationRecord& r) = 0;
  // The version active in `environment`, nullopt when none ever was.
  virtual absl::StatusOr<std::optional<std::string>> LastActive(
      const std::string& environment) = 0;
  // Appends `e` as it is (created_at included); returns its seq.
  virtual absl::StatusOr<int64_t> InsertDeployment(
      const DeploymentEvent& e) = 0;
  virtual absl::Status UpsertSignature(const StoredSignature& sig) = 0;
  // Appends `note` to the audit log and links `rows` to the new record.
  virtual absl::Status AppendAudit(const AuditNote& note,
                                   const std::vector<AuditedRow>& rows) = 0;
  // Every version id in registration order / environment name in order, for
  // the NotFound messages.
  virtual absl::StatusOr<std::vector<std::string>> VersionIds() = 0;
  virtual absl::StatusOr<std::vector<std::string>> EnvironmentNames() = 0;
  // The active version of `environment` changes when this commits
  // (PostgreSQL: NOTIFY for the servers that follow the registry).
  virtual absl::Status AnnounceChange(const std::string& /*environment*/) {
    return absl::OkStatus();
  }
};

// NotFound naming the close matches (an unreadable list names none).
absl::Status NoSuchVersion(RowTx& tx, absl::string_view id);
absl::Status NoSuchEnvironment(RowTx& tx, absl::string_view name);

// The Registry mutations of the same names (registry.h), inside the
// caller's write transaction. An error leaves the caller to roll back.
absl::Status AddVersion(RowTx& tx, const ModelVersion& v);
absl::Status PutEnvironment(RowTx& tx, const Environment& e);
absl::Status RecordValidation(RowTx& tx, const ValidationRecord& r);
absl::StatusOr<DeploymentEvent> Activate(RowTx& tx, DeploymentEvent event);
absl::Status Import(RowTx& tx, const RegistrySnapshot& snapshot);
absl::Status UpdateEnvironment(
    RowTx& tx, const std::string& name,
    const std::function<absl::Status(Environment&)>& change,
    const AuditNote& note);
absl::Status AddSignature(RowTx& tx, const StoredSignature& sig);
absl::Status RecordEvent(RowTx& tx, const AuditNote& note);

}  // namespace spatial::registry::sql

#endif  // SPATIAL_REGISTRY_SQL_TX_H_
