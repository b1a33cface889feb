// PostgresRegistry's reads of versions: one, all, or all as summaries for a
// table. Thread-safe: each holds mu_ (postgres_registry.h).
#include <map>

#include "absl/strings/str_cat.h"
#include "src/registry/postgres/pg_rows.h"
#include "src/registry/postgres/pg_session.h"
#include "src/registry/postgres/postgres_registry.h"
#include "src/registry/sql_rows.h"
#include "src/registry/sql_tx.h"

namespace spatial::registry {

using pg::Text;
using pg::TxKind;
using sql::kVersionColumns;
using Tx = pqxx::transaction_base;

namespace {

using Index = std::map<std::string, size_t, std::less<>>;

ModelVersion ReadVersionRow(const pqxx::row& r) {
  return sql::FromColumns({Text(r[0]), Text(r[1]), Text(r[2]), Text(r[3]),
                           Text(r[4]), Text(r[5]), r[6].as<int64_t>(),
                           Text(r[7]), Text(r[8]), Text(r[9]), Text(r[10]),
                           Text(r[11]), Text(r[12]), r[13].as<bool>()});
}

// Fills deployment_environments of the versions in `out` (by id in `index`).
void AddValidatedEnvironments(Tx& tx, const Index& index,
                              std::vector<ModelVersion>& out) {
  for (const auto& e :
       tx.exec("SELECT version_id, environment FROM validations WHERE valid "
               "ORDER BY version_id, environment COLLATE \"C\"")) {
    auto it = index.find(e[0].c_str());
    if (it != index.end()) {
      out[it->second].deployment_environments.push_back(Text(e[1]));
    }
  }
}

}  // namespace

absl::StatusOr<ModelVersion> PostgresRegistry::GetVersion(
    absl::string_view id_view) {
  absl::MutexLock lock(&mu_);
  const std::string id(id_view);
  return session_->Run(
      "cannot read version", TxKind::kRead,
      [&](Tx& tx) -> absl::StatusOr<ModelVersion> {
        pqxx::result r =
            tx.exec_params(absl::StrCat("SELECT ", kVersionColumns,
                                        " FROM versions WHERE id = $1"),
                           id);
        if (r.empty()) {
          pg::PgRows rows(tx, "cannot read version", described_, conninfo_);
          return rows.Finish(sql::NoSuchVersion(rows, id));
        }
        ModelVersion v = ReadVersionRow(r[0]);
        for (const auto& f :
             tx.exec_params("SELECT path, sha256, size FROM artifact_files "
                            "WHERE version_id = $1 "
                            "ORDER BY path COLLATE \"C\"",
                            id)) {
          v.files.push_back({Text(f[0]), Text(f[1]),
                             static_cast<uint64_t>(f[2].as<int64_t>())});
        }
        for (const auto& e :
             tx.exec_params("SELECT environment FROM validations WHERE "
                            "version_id = $1 AND valid "
                            "ORDER BY environment COLLATE \"C\"",
                            id)) {
          v.deployment_environments.push_back(Text(e[0]));
        }
        return v;
      });
}

absl::StatusOr<std::vector<ModelVersion>> PostgresRegistry::ListVersions() {
  absl::MutexLock lock(&mu_);
  using Out = std::vector<ModelVersion>;
  return session_->Run(
      "cannot list versions", TxKind::kRead,
      [&](Tx& tx) -> absl::StatusOr<Out> {
        Out out;
        Index index;
        for (const auto& row : tx.exec(absl::StrCat(
                 "SELECT ", kVersionColumns, " FROM versions ORDER BY seq"))) {
          index.emplace(Text(row[0]), out.size());
          out.push_back(ReadVersionRow(row));
        }
        for (const auto& f : tx.exec(
                 "SELECT version_id, path, sha256, size FROM artifact_files "
                 "ORDER BY version_id, path COLLATE \"C\"")) {
          auto it = index.find(f[0].c_str());
          if (it != index.end()) {
            out[it->second].files.push_back(
                {Text(f[1]), Text(f[2]),
                 static_cast<uint64_t>(f[3].as<int64_t>())});
          }
        }
        AddValidatedEnvironments(tx, index, out);
        return out;
      });
}

absl::StatusOr<std::vector<std::string>> PostgresRegistry::ListVersionIds() {
  absl::MutexLock lock(&mu_);
  using Out = std::vector<std::string>;
  return session_->Run("cannot list versions", TxKind::kRead,
                       [&](Tx& tx) -> absl::StatusOr<Out> {
                         return pg::Column(
                             tx, "SELECT id FROM versions ORDER BY seq");
                       });
}

absl::StatusOr<std::vector<ModelVersion>>
PostgresRegistry::ListVersionSummaries() {
  absl::MutexLock lock(&mu_);
  using Out = std::vector<ModelVersion>;
  return session_->Run(
      "cannot list versions", TxKind::kRead,
      [&](Tx& tx) -> absl::StatusOr<Out> {
        Out out;
        Index index;
        // No JSON columns and no files: parsing and joining those is most of
        // the cost of a full listing.
        for (const auto& row :
             tx.exec("SELECT id, model_type, architecture, file_path, "
                     "creation_date, checksum, size_bytes, validation_status, "
                     "actor, is_directory FROM versions ORDER BY seq")) {
          ModelVersion v;
          v.version_id = Text(row[0]);
          v.model_type = Text(row[1]);
          v.architecture = Text(row[2]);
          v.file_path = Text(row[3]);
          v.creation_date = Text(row[4]);
          v.checksum = Text(row[5]);
          v.size_bytes = static_cast<uint64_t>(row[6].as<int64_t>());
          v.validation_status = ParseValidationStatus(Text(row[7]))
                                    .value_or(ValidationStatus::kPending);
          v.actor = Text(row[8]);
          v.is_directory = row[9].as<bool>();
          index.emplace(v.version_id, out.size());
          out.push_back(std::move(v));
        }
        AddValidatedEnvironments(tx, index, out);
        return out;
      });
}

}  // namespace spatial::registry
