// Links between the registry's rows and the audit log, checked both ways. A
// hash chain alone cannot see its newest records cut off; the rows those
// records made still exist and point at them. Every row an audited change
// creates or changes (environment, version, validation, deployment,
// signature) stores the seq of that change's record, and every record names
// the rows it made in details.rows. Pure functions; thread-safe.
#ifndef SPATIAL_REGISTRY_AUDIT_LINKS_H_
#define SPATIAL_REGISTRY_AUDIT_LINKS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/registry/audit.h"
#include "src/registry/model_version.h"

namespace spatial::registry {

enum class AuditedKind {
  kEnvironment,
  kVersion,
  kValidation,
  kDeployment,
  kSignature
};

// A row made or last changed by an audited change.
struct AuditedRow {
  AuditedKind kind = AuditedKind::kVersion;
  std::string version_id;      // version, validation, deployment, signature
  std::string environment;     // environment, validation, deployment
  std::string key_id;          // signature
  int64_t deployment_seq = 0;  // deployment
  std::optional<int64_t> audit_seq;  // nullopt: none stored
  // The stored columns its digest covers (audit_digest.h); nullopt when not
  // read.
  std::optional<std::vector<std::string>> content;

  static AuditedRow Environment(std::string name);
  static AuditedRow Version(std::string id);
  static AuditedRow Validation(std::string id, std::string environment);
  static AuditedRow Deployment(int64_t seq, std::string id,
                               std::string environment);
  static AuditedRow Signature(std::string id, std::string key_id);
};

// "environment", "version", "validation", "deployment", "signature".
const char* AuditedKindName(AuditedKind kind);

// "version v1", "validation of v1 for production", "deployment #3 (v1 to
// production)", "signature of v1 by key k1", "environment production".
std::string DescribeRow(const AuditedRow& row);

// The value of a record's details.rows naming `rows`: {"environment":
// [name...], "version": [id...], "validation": [[id, env]...],
// "deployment": [[seq, id, env]...], "signature": [[id, key_id]...]}; kinds
// without rows are left out.
Json RowsDetail(const std::vector<AuditedRow>& rows);

// What a registry holds of its audit trail, read in one transaction.
struct AuditSnapshot {
  std::string registry_id;  // random, made when the registry was created
  std::vector<AuditRecord> records;  // seq order, as stored
  std::vector<AuditedRow> rows;
};

struct AuditLinkCheck {
  int64_t rows = 0;      // rows checked
  int64_t linked = 0;    // records that name their rows (the others predate
                         // the links, schema 3)
  int64_t digested = 0;  // rows whose content matched their record's digest
                         // (rows last written before digests are not)
  std::vector<std::string> problems;  // empty when every link holds
  // Per problem, the row it is about (nullopt: a record's own form).
  std::vector<std::optional<AuditedRow>> concerns;
};

// Checks both ways: each row's audit_seq names a record that exists and
// lists the row in details.rows; each record's listed rows exist and point at
// it or at a later record (validations, signatures and environments are
// replaced by later changes; versions and deployments never are). Records
// without details.rows (written before the links existed) are not checked
// against rows; the rows they made were linked to the audit.adopt record of
// the upgrade. Where a row's record holds digests (details.digests, parallel
// to details.rows) and the row's content was read, the content must hash to
// the digest: an in-place edit of any covered column is a problem.
AuditLinkCheck CheckAuditLinks(const AuditSnapshot& snapshot);

// The problems of `check` about the rows an activation of `version_id` in
// `environment` relies on: the environment (its rules and trusted keys), the
// version (its files and checksums), its validation for the environment and
// its signatures. Empty when they all agree with the records that wrote them.
std::vector<std::string> ActivationProblems(const AuditLinkCheck& check,
                                            const std::string& version_id,
                                            const std::string& environment);

// What a server following the registry relies on to serve `version_id` in
// `environment`: ActivationProblems, and the problems of the environment's
// deployment rows (which say what is active there).
std::vector<std::string> ServingProblems(const AuditLinkCheck& check,
                                         const std::string& version_id,
                                         const std::string& environment);

// `note` with details.rows naming `rows`, and details.digests their
// ContentDigest where their content was read (details that are not an object
// are kept under details.note).
AuditNote WithRows(AuditNote note, const std::vector<AuditedRow>& rows);

// The action of the record that vouches for the rows a registry held when it
// was upgraded to the links (its details.rows names them all).
inline constexpr const char* kAuditAdoptAction = "audit.adopt";

// The note of that record.
AuditNote AdoptNote(const std::vector<AuditedRow>& rows);

// A new random registry id (32 hex digits).
std::string NewRegistryId();

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_AUDIT_LINKS_H_
