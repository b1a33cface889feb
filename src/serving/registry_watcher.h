// RegistryWatcher: calls back as soon as a registry tells that an active
// version changed (Registry::NewChangeListener; PostgreSQL's LISTEN/NOTIFY),
// so that a server swaps within a moment of a promotion made anywhere instead
// of at its next poll. Runs one thread. A lost connection is logged once per
// outage and retried with a growing pause (polling, which the caller keeps,
// covers the gap); the first wait after (re)connecting reports a change, so
// nothing that happened while deaf is missed. Stop() returns within about one
// wait slice (plus a callback in progress).
#ifndef SPATIAL_SERVING_REGISTRY_WATCHER_H_
#define SPATIAL_SERVING_REGISTRY_WATCHER_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "src/registry/registry.h"

namespace spatial::serving {

class RegistryWatcher {
 public:
  struct Options {
    std::function<void()> on_change;              // required
    std::function<void(const std::string&)> log;  // required
    std::chrono::milliseconds wait_slice{200};    // Stop() latency
    std::chrono::milliseconds retry_first{500};   // after a failure,
    std::chrono::milliseconds retry_max{30000};   // doubling up to this
    std::string describe = "the registry";        // for the log
  };

  // Starts the thread.
  RegistryWatcher(std::unique_ptr<registry::ChangeListener> listener,
                  Options options);
  ~RegistryWatcher();  // Stop()
  RegistryWatcher(const RegistryWatcher&) = delete;
  RegistryWatcher& operator=(const RegistryWatcher&) = delete;

  // Ends the thread (idempotent).
  void Stop();

 private:
  void Loop();
  // Sleeps up to `d`; false when stopping.
  bool Pause(std::chrono::milliseconds d);

  std::unique_ptr<registry::ChangeListener> listener_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_REGISTRY_WATCHER_H_
