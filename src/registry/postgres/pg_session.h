// PgSession: one libpqxx connection with the two things every query of the
// PostgreSQL registry needs: exceptions turned into absl::Status (nothing
// thrown by libpqxx leaves this folder) and transactions retried when the
// server aborts them for a serialization failure or a deadlock, or when the
// connection broke before anything was committed. Internal to
// src/registry/postgres/; not thread-safe (PostgresRegistry holds a mutex).
#ifndef SPATIAL_REGISTRY_POSTGRES_PG_SESSION_H_
#define SPATIAL_REGISTRY_POSTGRES_PG_SESSION_H_

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace spatial::registry::pg {

// The exception being handled (call only inside a catch block) as a status
// with `what` and `described` (a masked URL) as context. The passwords of
// `conninfo` are masked in what libpq wrote (it may echo parts of it).
absl::Status CurrentExceptionToStatus(absl::string_view what,
                                      absl::string_view described,
                                      absl::string_view conninfo);

// Shorthand for the row-at-a-time reads.
std::string Text(const pqxx::field& f);
// The first column of every row of `sql`, as text.
std::vector<std::string> Column(pqxx::transaction_base& tx,
                                const std::string& sql);

enum class TxKind {
  kWrite,  // READ COMMITTED, read-write: explicit row and table locks order
           // writers
  kRead,   // REPEATABLE READ, read-only: one snapshot for multi-query reads
};

class PgSession {
 public:
  // Connects; Unavailable (with the masked URL) when the server cannot be
  // reached or refuses the connection.
  static absl::StatusOr<std::unique_ptr<PgSession>> Connect(
      std::string conninfo, std::string described);

  // Runs `fn(pqxx::transaction_base&)`, which returns absl::Status or
  // absl::StatusOr<T>, in a transaction of `kind`: commits when it returns OK,
  // rolls back otherwise. A whole attempt is repeated (at most kMaxAttempts)
  // when the server aborts it for a serialization failure or deadlock, or the
  // connection breaks before COMMIT was sent; so `fn` must build its result
  // from scratch each time. Any other exception becomes the returned status.
  template <typename Fn>
  auto Run(absl::string_view what, TxKind kind, Fn&& fn)
      -> std::invoke_result_t<Fn&, pqxx::transaction_base&>;

  const std::string& described() const { return described_; }
  const std::string& conninfo() const { return conninfo_; }

  static constexpr int kMaxAttempts = 20;

 private:
  PgSession(std::string conninfo, std::string described)
      : conninfo_(std::move(conninfo)), described_(std::move(described)) {}
  absl::Status Reconnect();
  // Sleeps a little longer on each attempt, with jitter, so that colliding
  // writers do not collide again in lock step.
  static void Backoff(int attempt);

  std::string conninfo_;
  std::string described_;
  std::unique_ptr<pqxx::connection> conn_;  // null after a failed reconnect
};

template <typename Fn>
auto PgSession::Run(absl::string_view what, TxKind kind, Fn&& fn)
    -> std::invoke_result_t<Fn&, pqxx::transaction_base&> {
  using Result = std::invoke_result_t<Fn&, pqxx::transaction_base&>;
  absl::Status last;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0) Backoff(attempt);
    if (conn_ == nullptr || !conn_->is_open()) {
      last = Reconnect();
      if (!last.ok()) return Result(last);
    }
    bool committing = false;
    try {
      std::unique_ptr<pqxx::transaction_base> tx;
      if (kind == TxKind::kWrite) {
        tx = std::make_unique<pqxx::work>(*conn_);
      } else {
        tx = std::make_unique<
            pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>>(*conn_);
      }
      Result result = fn(*tx);
      if (!result.ok()) return result;  // tx rolls back in its destructor
      committing = true;
      tx->commit();
      return result;
    } catch (const pqxx::transaction_rollback&) {
      // Serialization failure or deadlock: the server undid everything.
      last = CurrentExceptionToStatus(what, described_, conninfo_);
    } catch (const pqxx::in_doubt_error&) {
      return Result(CurrentExceptionToStatus(what, described_, conninfo_));
    } catch (const pqxx::broken_connection&) {
      last = CurrentExceptionToStatus(what, described_, conninfo_);
      conn_.reset();
      // The COMMIT may have reached the server: never run it twice.
      if (committing) return Result(last);
    } catch (...) {
      return Result(CurrentExceptionToStatus(what, described_, conninfo_));
    }
  }
  return Result(
      absl::AbortedError(absl::StrCat(last.message(), " (gave up after ",
                                      kMaxAttempts, " attempts; try again)")));
}

}  // namespace spatial::registry::pg

#endif  // SPATIAL_REGISTRY_POSTGRES_PG_SESSION_H_
