// Classification check: the held-out evaluation set, rendered in memory at
// the evaluation seed exactly as `spatial data render --seed 1000` renders it
// (image i is class i % 6, index i / 6), posted to /classify on the
// dual-encoder; accuracy against the environment's floor. Thread-safe: each
// call owns its workers and their shared counters.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/base/http_client.h"
#include "src/envtest/checks.h"
#include "src/inference/evaluation.h"
#include "src/vision/renderer.h"

namespace spatial::envtest {
namespace {

using Json = nlohmann::json;

}  // namespace

std::vector<TestResult> RunClassificationTests(
    const Targets& targets, int port, const ClassificationOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  TestResult t{.category = "classification", .name = "accuracy"};
  if (targets.min_accuracy)
    t.threshold = {{"min_accuracy", *targets.min_accuracy}};
  const std::vector<std::string> classes(vision::kClassNames.begin(),
                                         vision::kClassNames.end());
  inference::ConfusionMatrix cm(classes);
  std::mutex mu;  // guards cm and errors
  std::vector<std::string> errors;
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int i = next++; i < options.images; i = next++) {
      int label = i % vision::kNumClasses;
      std::string jpeg =
          vision::RenderPizza(label, options.seed, i / vision::kNumClasses,
                              options.size)
              .jpeg;
      base::HttpOptions fo{
          .method = "POST",
          .content_type = kFormContentType,
          .body = base::MultipartBody(
              {{"file", "image/jpeg", jpeg}, {"use_spatial", "", "true"}},
              kFormBoundary)};
      auto reply = base::HttpFetch(port, "/classify", fo);
      std::string error;
      int predicted = -1;
      if (!reply.ok()) {
        error = std::string(reply.status().message());
      } else if (reply->status != 200) {
        error = absl::StrCat("HTTP ", reply->status, ": ",
                             reply->body.substr(0, 160));
      } else {
        Json j = Json::parse(reply->body, nullptr, false);
        std::string name = j.is_object() && j.contains("predicted_class") &&
                                   j["predicted_class"].is_string()
                               ? j["predicted_class"].get<std::string>()
                               : "";
        auto index = vision::ClassIndex(name);
        if (index.ok()) {
          predicted = *index;
        } else {
          error = absl::StrCat("no known predicted_class in '",
                               reply->body.substr(0, 120), "'");
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      if (predicted >= 0) {
        cm.Add(label, predicted);
      } else {
        errors.push_back(absl::StrCat("image ", i, ": ", error));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int k = 0; k < std::max(1, options.threads); ++k)
    threads.emplace_back(worker);
  for (auto& th : threads) th.join();

  Json details = cm.ToJson();
  details["images"] = options.images;
  details["seed"] = options.seed;
  details["size"] = options.size;
  details["endpoint"] = "POST /classify use_spatial=true";
  details["failed_requests"] = errors.size();
  t.details = details;
  t.measured = {{"accuracy", cm.total() ? cm.accuracy() : 0.0},
                {"samples", cm.total()}};
  if (!errors.empty()) {
    t.status = TestStatus::kError;
    t.reason =
        absl::StrCat(errors.size(), " of ", options.images,
                     " images got no classification; first: ", errors.front());
  } else if (!targets.min_accuracy) {
    t.status = TestStatus::kError;
    t.reason = absl::StrCat("environment ", targets.environment,
                            " sets no performance_requirements.accuracy");
  } else if (cm.accuracy() < *targets.min_accuracy) {
    t.status = TestStatus::kFailed;
    t.reason =
        absl::StrFormat("accuracy %.4f < %.4g required on %d images",
                        cm.accuracy(), *targets.min_accuracy, cm.total());
  } else {
    t.status = TestStatus::kPassed;
    t.reason =
        absl::StrFormat("accuracy %.4f >= %.4g on %d images", cm.accuracy(),
                        *targets.min_accuracy, cm.total());
  }
  t.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  return {t};
}

}  // namespace spatial::envtest
