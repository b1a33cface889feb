#include "src/serving/drift_rollback.h"

#include <iostream>

#include "absl/strings/str_cat.h"

namespace spatial::serving {

DriftRollback::DriftRollback(Options options)
    : options_(std::move(options)), worker_([this] { Run(); }) {}

DriftRollback::~DriftRollback() { Stop(); }

void DriftRollback::Log(const std::string& line) const {
  if (options_.log) return options_.log(line);
  std::cerr << line << std::endl;
}

void DriftRollback::OnAlarm(const LiveAlarm& alarm) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || !attempted_.insert(alarm.version).second) return;
  queue_.push_back(alarm);
  cv_.notify_one();
}

void DriftRollback::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void DriftRollback::Run() {
  for (;;) {
    LiveAlarm alarm;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      alarm = queue_.front();
      queue_.pop_front();
    }
    Handle(alarm);
  }
}

void DriftRollback::Handle(const LiveAlarm& alarm) {
  const std::string& env = options_.environment;
  auto active = options_.service->registry().ActiveVersion(env);
  if (!active.ok()) {
    return Log(absl::StrCat("drift rollback of ", alarm.version,
                            " not done: ", active.status().message()));
  }
  if (!*active || **active != alarm.version) {
    return Log(absl::StrCat("drift rollback not done: ", alarm.version,
                            " is not the active version of ", env, " (active: ",
                            *active ? **active : std::string("none"), ")"));
  }
  // Back to the newest earlier version that did not drift here itself.
  auto plan = options_.service->PlanRollback(env);
  if (!plan.ok()) {
    return Log(absl::StrCat("drift rollback of ", env, " from ", alarm.version,
                            " failed: ", plan.status().message()));
  }
  std::string target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& c : plan->candidates) {
      if (!attempted_.count(c.version_id)) {
        target = c.version_id;
        break;
      }
    }
  }
  if (target.empty()) {
    return Log(absl::StrCat("drift rollback of ", env, " from ", alarm.version,
                            " not done: no earlier version to return to that "
                            "has not drifted itself"));
  }
  // Only from the version that drifted: a promotion that replaced it since
  // the check above is not undone.
  auto event = options_.service->Rollback(env, target, options_.actor,
                                          alarm.Reason(), alarm.version);
  if (!event.ok()) {
    return Log(absl::StrCat("drift rollback of ", env, " from ", alarm.version,
                            " failed: ", event.status().message()));
  }
  Log(absl::StrCat("drift rollback: ", env, " rolled back from ",
                   event->previous_version_id, " to ", event->version_id, " (",
                   event->reason, ")"));
  auto swapped = options_.manager->Refresh(/*force=*/true);
  if (!swapped.ok()) Log(std::string(swapped.status().message()));
}

}  // namespace spatial::serving
