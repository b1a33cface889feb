// NotifyChange and PgChangeListener (pg_listener.h). A listener is used by
// one thread at a time; it owns its own connection.
#include "src/registry/postgres/pg_listener.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "src/registry/postgres/pg_session.h"
#include "src/registry/postgres/postgres_registry.h"
#include "src/registry/registry_location.h"

namespace spatial::registry::pg {

void NotifyChange(pqxx::transaction_base& tx, const std::string& environment) {
  tx.exec_params("SELECT pg_notify($1, $2)", kChangeChannel, environment);
}

namespace {

// `conninfo` with a bound on connecting (unless it has one): a listener that
// reconnects to a host that is gone must not hold up the server's shutdown
// for the minutes a TCP connect can take.
std::string WithConnectTimeout(const std::string& conninfo) {
  constexpr const char* kParam = "connect_timeout";
  if (conninfo.find(kParam) != std::string::npos) return conninfo;
  auto location = ParseRegistryLocation(conninfo);
  if (location.ok() && location->is_postgres()) {
    return absl::StrCat(conninfo,
                        conninfo.find('?') == std::string::npos ? "?" : "&",
                        kParam, "=5");
  }
  return absl::StrCat(conninfo, " ", kParam, "=5");
}

}  // namespace

class PgChangeListener::Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection& conn, PgChangeListener& owner)
      : pqxx::notification_receiver(conn, kChangeChannel), owner_(owner) {}
  void operator()(const std::string& payload, int /*backend_pid*/) override {
    if (owner_.environment_.empty() || payload == owner_.environment_) {
      owner_.changed_ = true;
    }
  }

 private:
  PgChangeListener& owner_;
};

PgChangeListener::PgChangeListener(std::string conninfo, std::string described,
                                   std::string environment)
    : conninfo_(WithConnectTimeout(conninfo)),
      described_(std::move(described)),
      environment_(std::move(environment)) {}

PgChangeListener::~PgChangeListener() { Disconnect(); }

void PgChangeListener::Disconnect() {
  // Closed first, so that the receiver, unregistering, does not send UNLISTEN
  // (libpqxx would reconnect for it); the server forgets a closed session's
  // LISTEN anyway.
  if (conn_ != nullptr) conn_->disconnect();
  receiver_.reset();
  conn_.reset();
  backend_pid_ = 0;
}

absl::StatusOr<bool> PgChangeListener::Wait(absl::Duration timeout) {
  if (conn_ == nullptr) {
    try {
      conn_ = std::make_unique<pqxx::connection>(conninfo_);
      receiver_ = std::make_unique<Receiver>(*conn_, *this);  // LISTEN
      backend_pid_ = conn_->backendpid();
    } catch (...) {
      absl::Status s = CurrentExceptionToStatus(
          "cannot listen for registry changes", described_, conninfo_);
      Disconnect();
      return s;
    }
    changed_ = false;
    return true;  // whatever happened before LISTEN was missed
  }
  try {
    if (!conn_->is_open()) {
      throw pqxx::broken_connection("the listening connection was closed");
    }
    const int64_t us = std::max<int64_t>(absl::ToInt64Microseconds(timeout), 0);
    // Delivers what arrived already, else waits for the socket.
    if (conn_->get_notifs() == 0 && !changed_) {
      conn_->await_notification(static_cast<long>(us / 1000000),
                                static_cast<long>(us % 1000000));
    }
    if (!conn_->is_open()) {
      throw pqxx::broken_connection("the server closed the connection");
    }
    // libpqxx may have reconnected on its own; notifications sent in between
    // were lost, so report a change.
    if (conn_->backendpid() != backend_pid_) {
      backend_pid_ = conn_->backendpid();
      changed_ = true;
    }
  } catch (...) {
    absl::Status s = CurrentExceptionToStatus(
        "lost the connection that listens for registry changes", described_,
        conninfo_);
    Disconnect();
    return s;
  }
  return std::exchange(changed_, false);
}

}  // namespace spatial::registry::pg

namespace spatial::registry {

std::unique_ptr<ChangeListener> PostgresRegistry::NewChangeListener(
    const std::string& environment) {
  return std::make_unique<pg::PgChangeListener>(conninfo_, described_,
                                                environment);
}

}  // namespace spatial::registry
