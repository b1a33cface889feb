// What the SQL adapters (SQLite, PostgreSQL) have in common and must keep the
// same: how a version is laid out in the versions table's columns, and the
// messages of the errors every adapter returns. Pure functions, thread-safe;
// no database client here.
#ifndef SPATIAL_REGISTRY_SQL_ROWS_H_
#define SPATIAL_REGISTRY_SQL_ROWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "src/registry/model_version.h"
#include "src/registry/registry.h"

namespace spatial::registry::sql {

// The versions table's columns, in VersionColumns' order.
inline constexpr const char* kVersionColumns =
    "id, model_type, architecture, file_path, creation_date, checksum, "
    "size_bytes, metrics, compatibility, training_config, tags, "
    "validation_status, actor, is_directory";

// One versions row as stored: JSON members as text.
struct VersionColumns {
  std::string id, model_type, architecture, file_path, creation_date, checksum;
  int64_t size_bytes = 0;
  std::string metrics, compatibility, training_config, tags, validation_status,
      actor;
  bool is_directory = false;
};

VersionColumns ToColumns(const ModelVersion& v);
// The version without its files and validated environments (other tables).
// Unreadable JSON reads as null, unknown statuses as pending.
ModelVersion FromColumns(VersionColumns c);

// Stored JSON text, or null when it does not parse.
Json ParseStored(const std::string& text);

// The errors, worded once for every adapter.
absl::Status UnknownVersion(absl::string_view id,
                            const std::vector<std::string>& known);
absl::Status UnknownEnvironment(absl::string_view name,
                                const std::vector<std::string>& known);
absl::Status AlreadyRegistered(absl::string_view id,
                               absl::string_view existing_checksum,
                               absl::string_view checksum);
absl::Status NotValidated(absl::string_view id, absl::string_view environment,
                          bool last_validation_failed);
absl::Status AlreadyActive(absl::string_view id, absl::string_view environment);
// `e.expect_active` was set and `active` is another version.
absl::Status ActiveChanged(const DeploymentEvent& e, absl::string_view active);
absl::Status ImportChecksumConflict(absl::string_view id,
                                    absl::string_view existing_checksum,
                                    absl::string_view checksum);
absl::Status ImportHistoryBreaksChain(const DeploymentEvent& e,
                                      absl::string_view active);
absl::Status ImportDeploymentRefused(const DeploymentEvent& e,
                                     absl::string_view why);
absl::Status ImportValidationRefused(const ValidationRecord& r,
                                     absl::string_view why);

// The audit log's record of each mutation, the same for every adapter.
AuditNote RegisterNote(const ModelVersion& v);
AuditNote PutEnvironmentNote(const Environment& e);
AuditNote ValidateNote(const ValidationRecord& r);
AuditNote ActivateNote(const DeploymentEvent& e);
AuditNote ImportNote(const RegistrySnapshot& snapshot,
                     const std::vector<std::string>& versions_added);
AuditNote SignNote(const StoredSignature& s);

}  // namespace spatial::registry::sql

#endif  // SPATIAL_REGISTRY_SQL_ROWS_H_
