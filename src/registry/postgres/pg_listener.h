// How servers learn of a promotion on a PostgreSQL registry at once: every
// change of an active version (Activate; an Import that adds history) sends
// NOTIFY on kChangeChannel, with the environment as payload, inside its own
// transaction, so that it is delivered exactly when the change commits (and
// never for one that rolls back). PgChangeListener LISTENs on a connection
// of its own. Internal to src/registry/postgres/.
#ifndef SPATIAL_REGISTRY_POSTGRES_PG_LISTENER_H_
#define SPATIAL_REGISTRY_POSTGRES_PG_LISTENER_H_

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "src/registry/registry.h"

namespace spatial::registry::pg {

inline constexpr const char* kChangeChannel = "spatial_registry_change";

// Queues the notification that `environment`'s active version changed; it is
// sent when `tx` commits.
void NotifyChange(pqxx::transaction_base& tx, const std::string& environment);

// Waits for notifications of `environment` (all when empty). Connects on the
// first Wait and after a lost connection; each (re)connection answers true,
// since changes made while not listening were missed.
class PgChangeListener final : public ChangeListener {
 public:
  PgChangeListener(std::string conninfo, std::string described,
                   std::string environment);
  ~PgChangeListener() override;

  absl::StatusOr<bool> Wait(absl::Duration timeout) override;

 private:
  class Receiver;
  void Disconnect();

  const std::string conninfo_, described_, environment_;
  std::unique_ptr<pqxx::connection> conn_;  // null until (re)connected
  std::unique_ptr<Receiver> receiver_;      // listens on conn_
  int backend_pid_ = 0;                     // of conn_, to notice a reconnect
  bool changed_ = false;                    // set by receiver_
};

}  // namespace spatial::registry::pg

#endif  // SPATIAL_REGISTRY_POSTGRES_PG_LISTENER_H_
