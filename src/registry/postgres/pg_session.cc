#include "src/registry/postgres/pg_session.h"

#include <chrono>
#include <random>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "src/base/secrets.h"

// LeakSanitizer (asan preset): libpqxx 6.4 does not free the PGresult that
// libpq makes of a "terminating connection" error when the server drops a
// connection (a registry session reconnecting, a listener whose connection
// was killed). Its frames stop unwinding inside the library, so only
// allocations made there match. Here, not in a test, because the `spatial`
// server meets it too (postgres_serve_test kills its LISTEN connection).
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libpqxx-6.4.so\n";
}

namespace spatial::registry::pg {
namespace {

absl::Status FromSqlState(const pqxx::sql_error& e, const std::string& msg) {
  const std::string& state = e.sqlstate();
  if (state == "55P03") {  // lock_not_available
    return absl::UnavailableError(
        absl::StrCat(msg, " (another client holds the registry; try again)"));
  }
  if (state == "57014") {  // query_canceled
    return absl::DeadlineExceededError(msg);
  }
  if (state == "25006") {  // read_only_sql_transaction: a standby
    return absl::FailedPreconditionError(absl::StrCat(
        msg, " (the server is read-only; point --registry at the primary)"));
  }
  if (state.rfind("08", 0) == 0 ||
      state.rfind("57P", 0) == 0) {  // connection, shutdown
    return absl::UnavailableError(msg);
  }
  return absl::InternalError(msg);
}

}  // namespace

absl::Status CurrentExceptionToStatus(absl::string_view what,
                                      absl::string_view described,
                                      absl::string_view conninfo) {
  // `described` is masked; libpq's messages usually name the host and user
  // only, but some quote a piece of the connection string ("invalid
  // percent-encoded token"), so they are scrubbed of its passwords too.
  auto Message = [conninfo](const std::exception& e) {
    return base::RedactSecrets(absl::StripTrailingAsciiWhitespace(e.what()),
                               conninfo);
  };
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnknownError(absl::StrCat(
        what, ": the connection to ", described,
        " broke while committing; the change may or may not have been made, "
        "check before retrying (",
        Message(e), ")"));
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat(what, " (", described, "): ", Message(e)));
  } catch (const pqxx::transaction_rollback& e) {
    return absl::AbortedError(absl::StrCat(what, ": ", Message(e)));
  } catch (const pqxx::integrity_constraint_violation& e) {
    return absl::FailedPreconditionError(absl::StrCat(what, ": ", Message(e)));
  } catch (const pqxx::insufficient_privilege& e) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, ": ", Message(e), " (the database user of ",
                     described, " lacks a privilege)"));
  } catch (const pqxx::insufficient_resources& e) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": ", Message(e)));
  } catch (const pqxx::data_exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", Message(e)));
  } catch (const pqxx::sql_error& e) {
    return FromSqlState(e, absl::StrCat(what, ": ", Message(e)));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", Message(e)));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, ": unknown exception"));
  }
}

std::string Text(const pqxx::field& f) {
  return f.is_null() ? std::string() : std::string(f.c_str(), f.size());
}

std::vector<std::string> Column(pqxx::transaction_base& tx,
                                const std::string& sql) {
  std::vector<std::string> out;
  for (const auto& row : tx.exec(sql)) out.push_back(Text(row[0]));
  return out;
}

absl::StatusOr<std::unique_ptr<PgSession>> PgSession::Connect(
    std::string conninfo, std::string described) {
  std::unique_ptr<PgSession> s(
      new PgSession(std::move(conninfo), std::move(described)));
  absl::Status st = s->Reconnect();
  if (!st.ok()) return st;
  return s;
}

absl::Status PgSession::Reconnect() {
  conn_.reset();
  try {
    auto conn = std::make_unique<pqxx::connection>(conninfo_);
    pqxx::nontransaction setup(*conn);
    // Notices ("relation exists, skipping") would go to stderr otherwise.
    setup.exec("SET client_min_messages = warning");
    setup.commit();
    conn_ = std::move(conn);
    return absl::OkStatus();
  } catch (...) {
    return CurrentExceptionToStatus("cannot open registry", described_,
                                    conninfo_);
  }
}

void PgSession::Backoff(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  int cap_ms = std::min(2 << std::min(attempt, 6), 100);
  std::uniform_int_distribution<int> dist(1, cap_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(dist(rng)));
}

}  // namespace spatial::registry::pg
