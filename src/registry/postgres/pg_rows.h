// PgRows: sql::RowTx on one libpqxx transaction of PostgresRegistry, over
// which the shared write paths of sql_tx.h run; it holds the PostgreSQL side
// of them (ON CONFLICT upserts, row and table locks, NOTIFY). libpqxx
// exceptions do not pass through the shared code: a row operation keeps the
// first one and returns an error, and Finish() rethrows it inside
// PgSession::Run, which retries or converts it exactly as if it had been
// thrown there. A foreign-key or unique violation is the exception: it comes
// back as a FailedPrecondition status (the transaction is then aborted). Used
// by one thread, inside the transaction; internal to src/registry/postgres/.
#ifndef SPATIAL_REGISTRY_POSTGRES_PG_ROWS_H_
#define SPATIAL_REGISTRY_POSTGRES_PG_ROWS_H_

#include <exception>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/registry/sql_tx.h"

namespace spatial::registry::pg {

class PgRows final : public sql::RowTx {
 public:
  // `what` words a constraint violation's status ("cannot add version: ...");
  // `described` and `conninfo` as for CurrentExceptionToStatus.
  PgRows(pqxx::transaction_base& tx, std::string what, std::string described,
         std::string conninfo)
      : tx_(tx),
        what_(std::move(what)),
        described_(std::move(described)),
        conninfo_(std::move(conninfo)) {}

  // `result`, unless a row operation caught an exception: that is rethrown.
  template <typename T>
  T Finish(T result) {
    if (error_) std::rethrow_exception(error_);
    return result;
  }

  absl::Status LockHistory() override;
  absl::StatusOr<bool> VersionExists(const std::string& id) override;
  absl::StatusOr<bool> LockVersion(const std::string& id) override;
  absl::StatusOr<std::optional<std::string>> InsertVersion(
      const ModelVersion& v) override;
  absl::StatusOr<bool> EnvironmentExists(const std::string& name) override;
  absl::StatusOr<std::optional<std::string>> LockEnvironmentSpec(
      const std::string& name) override;
  absl::Status UpsertEnvironment(const Environment& e) override;
  absl::StatusOr<std::optional<bool>> ValidationPassed(
      const std::string& version_id, const std::string& environment) override;
  absl::Status UpsertValidation(const ValidationRecord& r) override;
  absl::StatusOr<std::optional<std::string>> LastActive(
      const std::string& environment) override;
  absl::StatusOr<int64_t> InsertDeployment(const DeploymentEvent& e) override;
  absl::Status UpsertSignature(const StoredSignature& sig) override;
  absl::Status AppendAudit(const AuditNote& note,
                           const std::vector<AuditedRow>& rows) override;
  absl::StatusOr<std::vector<std::string>> VersionIds() override;
  absl::StatusOr<std::vector<std::string>> EnvironmentNames() override;
  absl::Status AnnounceChange(const std::string& environment) override;

 private:
  // Runs `fn()` (which may throw what libpqxx throws) and returns its result,
  // or the error as described above.
  template <typename Fn>
  auto Guard(Fn&& fn) -> decltype(fn());

  pqxx::transaction_base& tx_;
  const std::string what_;
  const std::string described_;
  const std::string conninfo_;
  std::exception_ptr error_;
};

}  // namespace spatial::registry::pg

#endif  // SPATIAL_REGISTRY_POSTGRES_PG_ROWS_H_
