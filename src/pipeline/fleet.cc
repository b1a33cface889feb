#include "src/pipeline/fleet.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "src/pipeline/http_client.h"
#include "src/pipeline/subprocess.h"

namespace spatial::pipeline {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Whether /health's body reports `version` while healthy; `now` gets the
// slots it reports ("spatial=v1, standard=s1").
bool Reports(const std::string& body, const std::string& version,
             std::string* now, std::string* instance = nullptr) {
  Json j = Json::parse(body, nullptr, false);
  bool serving = false;
  now->clear();
  if (instance != nullptr) {
    *instance =
        j.is_object() && j.contains("instance") && j["instance"].is_string()
            ? j["instance"].get<std::string>()
            : "";
  }
  if (j.is_object() && j.contains("models") && j["models"].is_object()) {
    // The version sits in the "spatial" or the "standard" slot.
    for (const auto& [slot, v] : j["models"].items()) {
      if (!v.is_string()) continue;
      absl::StrAppend(now, now->empty() ? "" : ", ", slot, "=",
                      v.get<std::string>());
      serving = serving || v.get<std::string>() == version;
    }
  }
  const std::string status = j.is_object() ? j.value("status", "?") : "?";
  absl::StrAppend(now, "; status ", status);
  return serving && status == "healthy";
}

void WaitOne(ServerWait* w, const std::string& version, Clock::time_point since,
             std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  auto url = ParseHttpUrl(w->url);
  if (!url.ok()) {
    w->status = url.status();
    return;
  }
  w->last_seen = "no answer";
  while (Clock::now() < deadline && !Interrupted()) {
    auto a = HttpGet(*url, "/health", std::chrono::seconds(2));
    if (a.ok() && a->status == 200) {
      if (Reports(a->body, version, &w->last_seen, &w->instance)) {
        w->after_ms =
            std::chrono::duration<double, std::milli>(Clock::now() - since)
                .count();
        w->status = absl::OkStatus();
        return;
      }
    } else {
      w->last_seen = a.ok() ? absl::StrCat("HTTP ", a->status)
                            : std::string(a.status().message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  w->status = absl::DeadlineExceededError(absl::StrCat(
      "server ", w->url, " did not report version ", version, " within ",
      timeout.count() / 1000.0, " s (last: ", w->last_seen, ")"));
}

double MsSince(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since)
      .count();
}

}  // namespace

ServiceWait WaitForVersionBehind(const std::string& url,
                                 const std::string& version,
                                 Clock::time_point since,
                                 std::chrono::milliseconds timeout,
                                 int settle) {
  ServiceWait w;
  w.url = url;
  auto parsed = ParseHttpUrl(url);
  if (!parsed.ok()) {
    w.status = parsed.status();
    return w;
  }
  const Clock::time_point deadline = Clock::now() + timeout;
  int in_a_row = 0;
  std::string last = "no answer";
  while (Clock::now() < deadline && !Interrupted()) {
    auto a = HttpGet(*parsed, "/health", std::chrono::seconds(2));
    if (a.ok() && a->status == 200) {
      std::string seen, instance;
      const bool serving = Reports(a->body, version, &seen, &instance);
      if (instance.empty()) instance = "?";
      auto r = std::find_if(
          w.replicas.begin(), w.replicas.end(),
          [&](const ReplicaSeen& x) { return x.instance == instance; });
      if (r == w.replicas.end()) {
        w.replicas.push_back({.instance = instance});
        r = w.replicas.end() - 1;
      }
      r->answers++;
      r->last_seen = seen;
      r->serving = serving;
      if (serving && r->first_after_ms < 0) r->first_after_ms = MsSince(since);
      in_a_row = serving ? in_a_row + 1 : 0;
      if (in_a_row >= settle) {
        w.after_ms = MsSince(since);
        w.status = absl::OkStatus();
        return w;
      }
      last = absl::StrCat(instance, ": ", seen);
    } else {
      in_a_row = 0;
      last = a.ok() ? absl::StrCat("HTTP ", a->status)
                    : std::string(a.status().message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string behind;
  for (const auto& r : w.replicas) {
    if (!r.serving)
      absl::StrAppend(&behind, behind.empty() ? "" : ", ", r.instance, " (",
                      r.last_seen, ")");
  }
  w.status = absl::DeadlineExceededError(absl::StrCat(
      url, " did not report version ", version, " on ", settle,
      " answers in a row within ", timeout.count() / 1000.0, " s (",
      behind.empty() ? absl::StrCat("last: ", last)
                     : absl::StrCat("behind: ", behind),
      ")"));
  return w;
}

Json ServiceWaitToJson(const ServiceWait& w) {
  Json replicas = Json::array();
  for (const auto& r : w.replicas) {
    replicas.push_back({{"instance", r.instance},
                        {"serving", r.serving},
                        {"answers", r.answers},
                        {"first_after_ms", r.first_after_ms},
                        {"last_seen", r.last_seen}});
  }
  return {{"url", w.url},
          {"status", w.status.ok() ? std::string("serving")
                                   : std::string(w.status.message())},
          {"after_ms", w.after_ms},
          {"replicas", replicas}};
}

std::string ServingReplicas(const ServiceWait& w) {
  std::string out;
  for (const auto& r : w.replicas) {
    if (r.serving) absl::StrAppend(&out, out.empty() ? "" : ", ", r.instance);
  }
  return out.empty() ? "none" : out;
}

std::vector<ServerWait> WaitForVersionOnAll(
    const std::vector<std::string>& urls, const std::string& version,
    Clock::time_point since, std::chrono::milliseconds timeout) {
  std::vector<ServerWait> waits(urls.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < urls.size(); ++i) {
    waits[i].url = urls[i];
    waits[i].status = absl::UnknownError("not polled");
    threads.emplace_back(WaitOne, &waits[i], version, since, timeout);
  }
  for (auto& t : threads) t.join();
  return waits;
}

absl::Status FirstFailure(const std::vector<ServerWait>& waits) {
  for (const auto& w : waits) {
    if (!w.status.ok()) return w.status;
  }
  return absl::OkStatus();
}

Json WaitsToJson(const std::vector<ServerWait>& waits) {
  Json out = Json::array();
  for (const auto& w : waits) {
    out.push_back({{"url", w.url},
                   {"status", w.status.ok() ? std::string("serving")
                                            : std::string(w.status.message())},
                   {"after_ms", w.after_ms},
                   {"instance", w.instance},
                   {"last_seen", w.last_seen}});
  }
  return out;
}

}  // namespace spatial::pipeline
