#include "src/pipeline/runner.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spatial::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

StageResult Make(StageStatus s, std::string reason) {
  StageResult r;
  r.status = s;
  r.reason = std::move(reason);
  return r;
}

// The first dependency that blocks, "" when none does.
std::string BlockingDependency(
    const Stage& s, const std::map<std::string, StageOutcome>& done) {
  for (const auto& d : s.deps) {
    auto it = done.find(d);
    if (it != done.end() && it->second.blocked) return d;
  }
  return "";
}

}  // namespace

const char* StatusName(StageStatus s) {
  switch (s) {
    case StageStatus::kPassed:
      return "passed";
    case StageStatus::kFailed:
      return "failed";
    case StageStatus::kSkipped:
      return "skipped";
    case StageStatus::kError:
      return "error";
  }
  return "error";
}

StageResult StageResult::Passed(std::string reason) {
  return Make(StageStatus::kPassed, std::move(reason));
}
StageResult StageResult::Failed(std::string reason) {
  return Make(StageStatus::kFailed, std::move(reason));
}
StageResult StageResult::Skipped(std::string reason) {
  return Make(StageStatus::kSkipped, std::move(reason));
}
StageResult StageResult::Error(std::string reason) {
  return Make(StageStatus::kError, std::move(reason));
}

absl::Status Runner::Add(Stage stage) {
  if (stage.name.empty())
    return absl::InvalidArgumentError("stage without name");
  if (!stage.run && stage.skip_reason.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stage '", stage.name, "' has nothing to run"));
  }
  for (const auto& s : stages_) {
    if (s.name == stage.name) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate stage '", stage.name, "'"));
    }
  }
  stages_.push_back(std::move(stage));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StageOutcome>> Runner::Run() {
  // Order first (Kahn, stable): nothing runs if the graph is wrong.
  std::set<std::string> names;
  for (const auto& s : stages_) names.insert(s.name);
  for (const auto& s : stages_) {
    for (const auto& d : s.deps) {
      if (!names.count(d)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "stage '", s.name, "' depends on unknown stage '", d, "'"));
      }
    }
  }
  std::vector<const Stage*> order;
  std::set<std::string> placed;
  while (order.size() < stages_.size()) {
    bool progressed = false;
    for (const auto& s : stages_) {
      if (placed.count(s.name)) continue;
      bool ready = true;
      for (const auto& d : s.deps) ready = ready && placed.count(d);
      if (!ready) continue;
      order.push_back(&s);
      placed.insert(s.name);
      progressed = true;
      break;
    }
    if (!progressed) {
      return absl::InvalidArgumentError("stage dependencies form a cycle");
    }
  }

  std::vector<StageOutcome> outcomes;
  std::map<std::string, StageOutcome> done;
  const int total = static_cast<int>(order.size());
  for (int i = 0; i < total; ++i) {
    const Stage& s = *order[i];
    StageOutcome o;
    o.name = s.name;
    o.position = i + 1;
    const std::string head =
        absl::StrFormat("[%d/%d] %-26s", i + 1, total, s.name);
    std::string blocker = BlockingDependency(s, done);
    if (!s.skip_reason.empty()) {
      o.result = StageResult::Skipped(s.skip_reason);
    } else if (!blocker.empty()) {
      const StageOutcome& b = done.at(blocker);
      o.result = StageResult::Skipped(
          absl::StrCat("dependency ", blocker, " ",
                       b.result.status == StageStatus::kSkipped
                           ? "was skipped"
                           : StatusName(b.result.status)));
      o.blocked = true;
    } else if (Interrupted()) {
      o.result = StageResult::Skipped("pipeline interrupted");
      o.blocked = true;
    } else {
      if (progress_) *progress_ << head << " running..." << std::endl;
      const auto started = Clock::now();
      o.result = s.run();
      o.result.seconds =
          std::chrono::duration<double>(Clock::now() - started).count();
      o.blocked = o.result.status == StageStatus::kFailed ||
                  o.result.status == StageStatus::kError;
    }
    if (progress_) {
      *progress_ << head << " " << StatusName(o.result.status);
      if (!o.result.reason.empty()) *progress_ << ": " << o.result.reason;
      *progress_ << absl::StrFormat(" (%.1f s)", o.result.seconds) << std::endl;
    }
    done[s.name] = o;
    outcomes.push_back(std::move(o));
  }
  return outcomes;
}

int ExitCodeFor(const std::vector<StageOutcome>& outcomes) {
  if (Interrupted()) return 130;
  for (const auto& o : outcomes) {
    if (o.blocked) return 1;
  }
  return 0;
}

StageResult FromCommand(const absl::StatusOr<CommandResult>& r,
                        const std::string& what, const std::string& log_path) {
  StageResult out;
  if (!r.ok()) {
    out = StageResult::Error(
        absl::StrCat(what, " could not run: ", r.status().message()));
  } else if (r->interrupted) {
    out = StageResult::Error(absl::StrCat(what, " interrupted"));
  } else if (r->timed_out) {
    out = StageResult::Error(
        absl::StrFormat("%s timed out after %.0f s", what, r->seconds));
  } else if (r->exit_code == 0) {
    out = StageResult::Passed();
  } else {
    out = StageResult::Failed(absl::StrCat(
        what, " exited with ", r->exit_code,
        log_path.empty() ? "" : absl::StrCat(" (see ", log_path, ")")));
  }
  out.log_path = log_path;
  return out;
}

}  // namespace spatial::pipeline
