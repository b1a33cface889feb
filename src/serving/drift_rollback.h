// DriftRollback: with `spatial serve --rollback-on-drift`, turns a live
// accuracy alarm (LiveAccuracy) of the version the registry serves into a
// rollback of the server's environment, recorded in the registry's history
// and audit log with the alarm's reason (which names the tokens that
// labelled the window, and how many labels each), and then loads the version
// rolled back to.
//
// At most one attempt per version over the process's life, never back to a
// version that raised an alarm itself. Only the environment's active version
// is rolled back (an alarm of a fixed bundle, or of a version already
// replaced, is logged and left alone). The work runs on
// a thread of its own, never on the request that raised the alarm.
// Thread-safe.
#ifndef SPATIAL_SERVING_DRIFT_ROLLBACK_H_
#define SPATIAL_SERVING_DRIFT_ROLLBACK_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "src/registry/registry_service.h"
#include "src/serving/live_accuracy.h"
#include "src/serving/model_manager.h"

namespace spatial::serving {

class DriftRollback {
 public:
  struct Options {
    registry::RegistryService* service = nullptr;  // required, not owned
    ModelManager* manager = nullptr;               // required, not owned
    std::string environment;
    std::string actor;  // who rolls back, for the history
    std::function<void(const std::string&)> log;  // default: stderr
  };
  explicit DriftRollback(Options options);
  ~DriftRollback();  // Stop()

  // Queues a rollback for `alarm` unless its version had one already.
  void OnAlarm(const LiveAlarm& alarm);
  // Finishes the rollback under way, drops queued ones; idempotent.
  void Stop();

 private:
  void Run();
  void Handle(const LiveAlarm& alarm);
  void Log(const std::string& line) const;

  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<LiveAlarm> queue_;      // guarded by mu_
  std::set<std::string> attempted_;  // versions, guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  std::thread worker_;
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_DRIFT_ROLLBACK_H_
