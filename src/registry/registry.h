// Registry: the storage interface of model versions, environments,
// validations and deployments. Adapters (SQLite, PostgreSQL) implement it;
// callers never see which. Every mutation is one transaction, which also
// appends one record to the audit log (src/registry/audit.h): AddVersion as
// "register" (actor: the version's), RecordValidation as "validate",
// Activate as "promote" or "rollback", Import as "import" (the snapshot's
// actor), PutEnvironment as "environment.put", AddSignature as "sign",
// UpdateEnvironment as its note says. Each row such a change creates or
// changes (environment, version, validation, deployment, signature) stores
// the seq of that record, and the record names the rows in details.rows
// (src/registry/audit_links.h). Implementations are thread-safe and safe to
// use from several processes at once.
#ifndef SPATIAL_REGISTRY_REGISTRY_H_
#define SPATIAL_REGISTRY_REGISTRY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "src/registry/audit.h"
#include "src/registry/audit_links.h"
#include "src/registry/measurement.h"
#include "src/registry/model_version.h"

namespace spatial::registry {

// Everything import brings in at once.
struct RegistrySnapshot {
  std::vector<Environment> environments;
  std::vector<ModelVersion> versions;
  std::vector<ValidationRecord> validations;
  // Past deployments, oldest first, kept as they were (kind, actor, reason,
  // created_at); the registry assigns new seqs in this order.
  std::vector<DeploymentEvent> deployments;
  // Signatures of the versions (of this snapshot or already in the registry),
  // each replacing one by the same key.
  std::vector<StoredSignature> signatures;
  // Who imports, for the audit log.
  std::string actor;
};

// Tells a long-running reader (a server) that an environment's active version
// changed, whichever process changed it. Not thread-safe: one thread waits.
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // Waits up to `timeout` (keep it short: the caller checks for shutdown
  // between waits). True when the active version may have changed since the
  // last call: an activation was committed, or the listener (re)connected
  // and may have missed some; false when nothing happened. An error when the
  // registry cannot be reached; the next call tries to reconnect.
  virtual absl::StatusOr<bool> Wait(absl::Duration timeout) = 0;
};

class Registry {
 public:
  virtual ~Registry() = default;

  // Adds a version. AlreadyExists if the id is taken (the message says
  // whether the checksum differs).
  virtual absl::Status AddVersion(const ModelVersion& v) = 0;
  // NotFound (with close matches named) for an unknown id.
  virtual absl::StatusOr<ModelVersion> GetVersion(absl::string_view id) = 0;
  // All versions, oldest first.
  virtual absl::StatusOr<std::vector<ModelVersion>> ListVersions() = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListVersionIds() = 0;
  // Like ListVersions, but an adapter may leave out what a table of versions
  // does not show (metrics, compatibility_info, training_config, tags, files)
  // to list many versions fast. deployment_environments is always filled.
  virtual absl::StatusOr<std::vector<ModelVersion>> ListVersionSummaries() {
    return ListVersions();
  }

  // Inserts or replaces an environment by name.
  virtual absl::Status PutEnvironment(const Environment& e) = 0;
  // NotFound (naming the known ones) for an unknown name.
  virtual absl::StatusOr<Environment> GetEnvironment(
      absl::string_view name) = 0;
  virtual absl::StatusOr<std::vector<Environment>> ListEnvironments() = 0;

  // Stores the validation of (version, environment), replacing an earlier
  // one, and updates the version's validation_status.
  virtual absl::Status RecordValidation(const ValidationRecord& r) = 0;
  // Validations of one version, or of all when `version_id` is empty.
  virtual absl::StatusOr<std::vector<ValidationRecord>> ListValidations(
      absl::string_view version_id) = 0;
  // (version id, environment) of every validation that came in by import
  // (IsImportedValidation: history only), ordered by version id, then
  // environment. An adapter may answer without parsing every result: `spatial
  // model list` asks this of every version.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListImportedValidations() {
    auto all = ListValidations("");
    if (!all.ok()) return all.status();
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& r : *all) {
      if (IsImportedValidation(r.result))
        out.emplace_back(std::move(r.version_id), std::move(r.environment));
    }
    return out;
  }

  // Makes `event.version_id` active in `event.environment`, atomically:
  // FailedPrecondition when the version is not validated for it or is active
  // already; Aborted (nothing changed) when `event.expect_active` is set and
  // the active version ("" for none) is another one by the time the change
  // would be made (compare-and-set). Fills seq, previous_version_id and
  // created_at.
  virtual absl::StatusOr<DeploymentEvent> Activate(DeploymentEvent event) = 0;
  // The active version id, nullopt when nothing was ever promoted.
  virtual absl::StatusOr<std::optional<std::string>> ActiveVersion(
      absl::string_view environment) = 0;
  // Deployments of one environment (all when empty), oldest first.
  virtual absl::StatusOr<std::vector<DeploymentEvent>> History(
      absl::string_view environment) = 0;

  // Adds everything in one transaction: environments are upserted; a version
  // whose id exists with the same checksum is left alone, with another
  // checksum the whole import fails with AlreadyExists and nothing changes.
  // Deployments are appended to each environment's history; one whose
  // previous_version_id is not the version active at that point fails the
  // whole import with FailedPrecondition (a history must stay one chain).
  virtual absl::Status Import(const RegistrySnapshot& snapshot) = 0;

  // Changes environment `name` with `change` (which sees the stored record and
  // may refuse with an error, which is returned) and appends `note` to the
  // audit log, in one transaction. NotFound for an unknown name.
  virtual absl::Status UpdateEnvironment(
      absl::string_view name,
      const std::function<absl::Status(Environment&)>& change,
      const AuditNote& note) = 0;

  // Appends `note` to the audit log for a change the registry holds no row
  // of (a token added to a tokens file: `spatial token add`), so that it is
  // on the same hash chain as every row change.
  virtual absl::Status RecordEvent(const AuditNote& note) = 0;

  // Stores a signature of a version, replacing one by the same key. NotFound
  // for an unknown version.
  virtual absl::Status AddSignature(const StoredSignature& s) = 0;
  // The signatures of a version, by key id; empty when unsigned.
  virtual absl::StatusOr<std::vector<StoredSignature>> ListSignatures(
      absl::string_view version_id) = 0;

  // The whole audit log in seq order, as stored (not verified).
  virtual absl::StatusOr<std::vector<AuditRecord>> ListAudit() = 0;
  // One page of the log for a paged view, newest first: the records after
  // the `offset` newest, at most `limit` of them, and how many the log holds.
  // The default reads the whole log; an adapter may read the page alone.
  struct AuditPage {
    int64_t total = 0;
    std::vector<AuditRecord> records;
  };
  virtual absl::StatusOr<AuditPage> ListAuditPage(size_t offset, size_t limit) {
    auto all = ListAudit();
    if (!all.ok()) return all.status();
    AuditPage page;
    page.total = static_cast<int64_t>(all->size());
    for (size_t i = offset; i < all->size() && i < offset + limit; ++i)
      page.records.push_back((*all)[all->size() - 1 - i]);
    return page;
  }
  // The registry id, the whole audit log and every audited row with its
  // audit_seq, read in one transaction (so that a change committed meanwhile
  // cannot look like a broken link).
  virtual absl::StatusOr<AuditSnapshot> ReadAuditSnapshot() = 0;

  // A listener of activations in `environment` (all when empty), or nullptr
  // when the adapter cannot tell of changes (then readers poll).
  virtual std::unique_ptr<ChangeListener> NewChangeListener(
      const std::string& environment) {
    (void)environment;
    return nullptr;
  }

  // A human description of where the registry lives (no secrets).
  virtual std::string Describe() const = 0;
};

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_REGISTRY_H_
