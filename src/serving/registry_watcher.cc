#include "src/serving/registry_watcher.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace spatial::serving {

RegistryWatcher::RegistryWatcher(
    std::unique_ptr<registry::ChangeListener> listener, Options options)
    : listener_(std::move(listener)), options_(std::move(options)) {
  thread_ = std::thread([this] { Loop(); });
}

RegistryWatcher::~RegistryWatcher() { Stop(); }

void RegistryWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RegistryWatcher::Pause(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void RegistryWatcher::Loop() {
  enum class State { kStarting, kListening, kDeaf } state = State::kStarting;
  auto retry = options_.retry_first;
  const absl::Duration slice = absl::FromChrono(options_.wait_slice);
  while (Pause(std::chrono::milliseconds(0))) {
    absl::StatusOr<bool> changed = listener_->Wait(slice);
    if (!changed.ok()) {
      if (state != State::kDeaf) {
        options_.log(absl::StrCat("not told of changes in ", options_.describe,
                                  " (polling instead until it answers again): ",
                                  changed.status().message()));
        state = State::kDeaf;
      }
      if (!Pause(retry)) return;
      retry = std::min(retry * 2, options_.retry_max);
      continue;
    }
    if (state != State::kListening) {
      options_.log(absl::StrCat(
          state == State::kStarting ? "listening" : "listening again",
          " for promotions in ", options_.describe));
      state = State::kListening;
      retry = options_.retry_first;
    }
    if (*changed) options_.on_change();
  }
}

}  // namespace spatial::serving
