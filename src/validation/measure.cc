#include "src/validation/measure.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "opencv2/core/utility.hpp"
#include "opencv2/core/version.hpp"
#include "src/base/status_macros.h"
#include "src/inference/classifier.h"
#include "src/inference/evaluation.h"
#include "src/serving/model_manager.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"

namespace spatial::validation {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(q * static_cast<double>(sorted.size()));
  return sorted[std::min(sorted.size() - 1, rank)];
}

// A private directory (0700, made atomically) removed when it goes out of
// scope.
class TempDir {
 public:
  static absl::StatusOr<TempDir> Make() {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string tmpl = (base / "spatial-validate-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return absl::InternalError(
          absl::StrCat("cannot make a temporary directory in ", base.string()));
    }
    return TempDir(tmpl);
  }
  TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, "")) {}
  TempDir(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace

std::string DescribeHost() {
  char name[256] = {0};
  if (::gethostname(name, sizeof(name) - 1) != 0) name[0] = '\0';
  std::string cpu = "unknown CPU";
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    if (absl::StartsWith(line, "model name")) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        cpu = std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
      break;
    }
  }
  return absl::StrCat(name[0] ? name : "unknown host", ", ", cpu, ", ",
                      std::thread::hardware_concurrency(), " cores");
}

absl::StatusOr<registry::Measurement> MeasureBundle(
    const std::string& bundle_dir, const EvaluationSet& set) {
  if (set.samples.empty()) {
    return absl::InvalidArgumentError("the evaluation set is empty");
  }
  cv::setNumThreads(1);  // one inference per core, as the server runs it
  auto opened = inference::Classifier::Open(bundle_dir);
  if (!opened.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the bundle cannot be run: ", opened.status().message()));
  }
  std::unique_ptr<inference::Classifier> classifier = *std::move(opened);
  const auto& classes = classifier->manifest().classes;
  std::vector<std::string> expected(vision::kClassNames.begin(),
                                    vision::kClassNames.end());
  if (classes != expected) {
    return absl::FailedPreconditionError(
        "the model's classes are not the evaluation set's (basic, burnt, "
        "combined, mixed, progression, segment)");
  }
  auto run_one = [&](const Sample& s) -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(cv::Mat img, vision::DecodeImage(s.jpeg));
    inference::PreparedInput in = classifier->Prepare(img);
    ASSIGN_OR_RETURN(auto preds, classifier->Classify({&in}));
    if (preds.size() != 1) {
      return absl::InternalError("the model answered no prediction");
    }
    return preds[0].label;
  };
  // The first inference allocates; it is not what a request costs.
  RETURN_IF_ERROR(run_one(set.samples.front()).status());
  inference::ConfusionMatrix cm(classes);
  std::vector<double> ms;
  ms.reserve(set.samples.size());
  for (const Sample& s : set.samples) {
    auto t0 = Clock::now();
    auto label = run_one(s);
    ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (!label.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the bundle failed on the evaluation set: ",
                       label.status().message()));
    }
    if (*label < 0 || *label >= static_cast<int>(classes.size())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the model answered class ", *label, " of ", classes.size()));
    }
    cm.Add(s.label, *label);
  }
  std::sort(ms.begin(), ms.end());
  registry::Measurement m;
  m.set = set.description;
  m.set_digest = set.digest;
  m.n = cm.total();
  m.host = DescribeHost();
  m.engine = absl::StrCat("OpenCV DNN ", CV_VERSION, " (CPU, 1 thread)");
  m.accuracy = cm.accuracy();
  for (size_t c = 0; c < classes.size(); ++c)
    m.per_class_recall[classes[c]] = cm.recall(static_cast<int>(c));
  m.latency_p50_ms = Percentile(ms, 0.50);
  m.latency_p95_ms = Percentile(ms, 0.95);
  return m;
}

absl::StatusOr<registry::Measurement> MeasureVersion(
    const registry::ArtifactStore& store, const registry::ModelVersion& v,
    const registry::Environment& env) {
  auto t0 = Clock::now();
  ASSIGN_OR_RETURN(EvaluationSpec spec, SpecOf(env));
  ASSIGN_OR_RETURN(EvaluationSet set, BuildSet(spec));
  ASSIGN_OR_RETURN(TempDir tmp, TempDir::Make());
  const std::string bundle = tmp.path() + "/bundle";
  RETURN_IF_ERROR(serving::MaterializeVersion(store, v, bundle).status());
  ASSIGN_OR_RETURN(registry::Measurement m, MeasureBundle(bundle, set));
  m.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return m;
}

}  // namespace spatial::validation
