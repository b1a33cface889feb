// `spatial eval`: a bundle on a labelled folder -> metrics, optionally
// written back into the bundle's manifest.
#include "cli/eval_cmd.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/labelled_dataset.h"
#include "opencv2/core/utility.hpp"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/inference/classifier.h"
#include "src/inference/evaluation.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"

namespace spatial::cli {
namespace {

using Json = nlohmann::json;

struct EvalFlags {
  std::string model, data;
  bool json = false;
  bool update_manifest = false;
  int batch = 1;
  int limit = 0;
};

absl::StatusOr<Json> Evaluate(const EvalFlags& f) {
  if (f.batch < 1 || f.batch > 256)
    return absl::InvalidArgumentError("--batch must be 1..256");
  cv::setNumThreads(1);  // one inference per core, as the server runs it
  ASSIGN_OR_RETURN(auto classifier, inference::Classifier::Open(f.model));
  const auto& m = classifier->manifest();
  std::vector<std::string> expected(vision::kClassNames.begin(),
                                    vision::kClassNames.end());
  if (m.classes != expected) {
    return absl::FailedPreconditionError(
        "the model's classes differ from the dataset's (basic, burnt, "
        "combined, mixed, "
        "progression, segment)");
  }
  ASSIGN_OR_RETURN(auto images, ReadLabelledDataset(f.data));
  if (f.limit > 0 && static_cast<size_t>(f.limit) < images.size())
    images.resize(f.limit);
  inference::ConfusionMatrix cm(m.classes);
  std::vector<double> per_image_ms;
  using Clock = std::chrono::steady_clock;
  for (size_t start = 0; start < images.size(); start += f.batch) {
    size_t end = std::min(images.size(), start + f.batch);
    std::vector<std::string> bytes;
    for (size_t i = start; i < end; ++i) {
      ASSIGN_OR_RETURN(std::string b, base::ReadFile(images[i].path, 64 << 20));
      bytes.push_back(std::move(b));
    }
    // Timed: decode, preprocess and infer, what a request costs the server.
    auto t0 = Clock::now();
    std::vector<inference::PreparedInput> prepared;
    for (size_t i = 0; i < bytes.size(); ++i) {
      auto img = vision::DecodeImage(bytes[i]);
      if (!img.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(images[start + i].path, ": ", img.status().message()));
      }
      prepared.push_back(classifier->Prepare(*img));
    }
    std::vector<const inference::PreparedInput*> ptrs;
    for (const auto& p : prepared) ptrs.push_back(&p);
    ASSIGN_OR_RETURN(auto preds, classifier->Classify(ptrs));
    double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    for (size_t i = 0; i < preds.size(); ++i) {
      cm.Add(images[start + i].label, preds[i].label);
      per_image_ms.push_back(ms / static_cast<double>(preds.size()));
    }
    if (!f.json && images.size() >= 200 && (end / f.batch) % 100 == 0) {
      std::cerr << "eval: " << end << "/" << images.size() << "\n";
    }
  }
  std::vector<double> sorted = per_image_ms;
  std::sort(sorted.begin(), sorted.end());
  double mean = 0;
  for (double v : sorted) mean += v;
  mean /= static_cast<double>(sorted.size());
  double p95 = sorted[std::min(sorted.size() - 1,
                               static_cast<size_t>(0.95 * sorted.size()))];
  Json result = cm.ToJson();
  result["model"] = {
      {"name", m.name}, {"version", m.version}, {"dir", f.model}};
  result["data"] = f.data;
  result["latency_ms"] = {
      {"mean", mean},
      {"p95", p95},
      {"batch", f.batch},
      {"measures", "decode + preprocess + inference per image, 1 thread"}};
  return result;
}

absl::Status UpdateManifest(const EvalFlags& f, const Json& result) {
  std::string path = f.model + "/manifest.json";
  ASSIGN_OR_RETURN(std::string text, base::ReadFile(path));
  Json manifest = Json::parse(text, nullptr, false);
  if (manifest.is_discarded())
    return absl::InvalidArgumentError(path + " is not valid JSON");
  Json recall = Json::object();
  for (const auto& [name, v] : result["per_class"].items())
    recall[name] = v["recall"];
  manifest["metrics"] = {
      {"accuracy", result["accuracy"]},
      {"inference_time_ms", result["latency_ms"]["mean"]},
      {"p95_inference_time_ms", result["latency_ms"]["p95"]},
      {"per_class_recall", recall},
      {"evaluated_on", {{"data", f.data}, {"samples", result["samples"]}}},
      {"measured_by", "spatial eval"}};
  return base::WriteFileAtomic(path, manifest.dump(2) + "\n");
}

CommandResult Run(const EvalFlags& f) {
  ASSIGN_OR_RETURN(Json result, Evaluate(f));
  if (f.json) {
    std::cout << result.dump(2) << "\n";
  } else {
    inference::ConfusionMatrix cm(
        result.at("classes").get<std::vector<std::string>>());
    const auto& mat = result.at("confusion_matrix");
    for (size_t t = 0; t < mat.size(); ++t) {
      for (size_t p = 0; p < mat[t].size(); ++p) {
        for (int k = 0; k < mat[t][p].get<int>(); ++k)
          cm.Add(static_cast<int>(t), static_cast<int>(p));
      }
    }
    std::cout << "model " << f.model << " on " << f.data << "\n" << cm.ToText();
    std::cout << absl::StrFormat(
        "latency per image: mean %.3f ms, p95 %.3f ms (batch %d)\n",
        result["latency_ms"]["mean"].get<double>(),
        result["latency_ms"]["p95"].get<double>(), f.batch);
  }
  if (f.update_manifest) {
    RETURN_IF_ERROR(UpdateManifest(f, result));
    std::cerr << "wrote metrics to " << f.model << "/manifest.json\n";
  }
  return kExitOk;
}

}  // namespace

void AddEvalCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* eval =
      app.add_subcommand("eval",
                         "Accuracy, per-class precision/recall/F1, confusion "
                         "matrix and latency of a model");
  eval->add_option("--model", f->model,
                   "Model bundle directory (manifest.json + model.onnx)")
      ->required();
  eval->add_option(
          "--data", f->data,
          "Labelled folder (labels.csv), e.g. from spatial data render")
      ->required();
  eval->add_flag("--json", f->json, "JSON output");
  eval->add_option("--batch", f->batch, "Images per inference call")
      ->capture_default_str();
  eval->add_option("--limit", f->limit, "Evaluate only the first N images");
  eval->add_flag("--update-manifest", f->update_manifest,
                 "Write the measured accuracy and latency into the bundle's "
                 "manifest.json");
  eval->callback([f, action] { *action = [f] { return Run(*f); }; });
}

}  // namespace spatial::cli
