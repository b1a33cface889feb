#include "src/checks/deployment_checks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "src/base/npy.h"
#include "src/inference/classifier.h"
#include "src/inference/evaluation.h"
#include "src/vision/decode.h"
#include "src/vision/preprocess.h"
#include "src/vision/renderer.h"
#include "src/vision/test_card.h"

namespace spatial::checks {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

std::string Gb(double v) { return absl::StrFormat("%.1f GB", v); }

}  // namespace

void CheckHost(const HostInfo& host, const registry::Environment& env,
               CheckReport* report) {
  const std::string c = "environment";
  report->Add(c, "os", Passed(host.os, nullptr, host.os + ", " + host.kernel));
  report->Add(c, "cpu_cores",
              Judge(host.cpu_cores >= 1, host.cpu_cores, 1,
                    absl::StrCat(host.cpu_cores, " x ", host.cpu_model)));
  report->Add(c, "memory_gb",
              Judge(host.ram_gb + 0.05 >= env.memory_requirements_gb,
                    host.ram_gb, env.memory_requirements_gb,
                    absl::StrCat(Gb(host.ram_gb), " RAM; ", env.name, " needs ",
                                 Gb(env.memory_requirements_gb))));
  report->Add(c, "disk_free_gb",
              Judge(host.disk_free_gb >= 1.0, host.disk_free_gb, 1.0,
                    absl::StrCat(Gb(host.disk_free_gb),
                                 " free for models, logs and the registry")));
  double gpu_mem = host.Facts().gpu_memory_gb;
  std::string gpu_desc =
      host.gpus.empty()
          ? absl::StrCat("no GPU (", host.gpu_probe, ")")
          : absl::StrCat(host.gpus.size(), " GPU(s), largest ", Gb(gpu_mem),
                         ", driver ", host.gpu_driver, ", CUDA ",
                         host.cuda_driver.empty() ? "none" : host.cuda_driver);
  if (env.allow_cpu_only) {
    report->Add(c, "gpu",
                Passed(gpu_mem, env.min_gpu_memory_gb,
                       gpu_desc + "; CPU-only is allowed in " + env.name));
  } else {
    report->Add(
        c, "gpu",
        Judge(gpu_mem >= env.min_gpu_memory_gb &&
                  (!env.cuda_compatible || !host.cuda_driver.empty()),
              gpu_mem, env.min_gpu_memory_gb,
              absl::StrCat(gpu_desc, "; ", env.name, " requires a GPU with ",
                           Gb(env.min_gpu_memory_gb),
                           env.cuda_compatible ? " and CUDA" : "")));
  }
}

void CheckPreprocessing(CheckReport* report) {
  int bad = 0;
  std::string first_bad;
  for (const auto& g : vision::CheckSpatialGolden()) {
    if (!g.ok() && bad++ == 0) {
      first_bad = absl::StrFormat("%s = %.8f, golden %.8f", g.name, g.actual,
                                  g.expected);
    }
  }
  report->Add(
      "preprocessing", "spatial_golden_values",
      Judge(bad == 0, bad, 0,
            bad == 0 ? "depth and normals of the test card match the "
                       "golden values"
                     : absl::StrCat(
                           bad, " golden values differ; first: ", first_bad)));
  // A rendered pizza through the whole path.
  auto img = vision::DecodeImage(vision::RenderPizza(4, 1000, 0, 128).jpeg);
  if (!img.ok()) {
    report->Add("preprocessing", "decode",
                Error(std::string(img.status().message())));
    return;
  }
  std::vector<float> visual(3 * 64 * 64), spatial(4 * 64 * 64);
  vision::VisualTensor(*img, 64, vision::kPizzaNormalization, visual.data());
  vision::SpatialMaps maps = vision::SpatialTensor(*img, 64, spatial.data());
  bool finite = std::all_of(visual.begin(), visual.end(),
                            [](float v) { return std::isfinite(v); });
  double lo = 0, hi = 0;
  cv::minMaxLoc(maps.depth, &lo, &hi);
  double worst_norm = 0;
  for (int y = 0; y < maps.normals.rows; ++y) {
    for (int x = 0; x < maps.normals.cols; ++x) {
      worst_norm = std::max(
          worst_norm, std::abs(cv::norm(maps.normals.at<cv::Vec3f>(y, x)) - 1));
    }
  }
  report->Add("preprocessing", "visual_tensor_finite",
              Judge(finite, finite, true, "3x64x64 normalised RGB planes"));
  report->Add("features", "depth_range",
              Judge(lo >= 0 && hi <= 1, Json::array({lo, hi}),
                    Json::array({0, 1}), "depth map of a rendered pizza"));
  report->Add("features", "unit_normals",
              Judge(worst_norm < 1e-4, worst_norm, 1e-4,
                    "largest |‖n‖ - 1| over the normal map"));
  auto f = vision::ComputeSpatialFeatures(maps);
  std::vector<float> values = {f.depth_mean,       f.depth_std,
                               f.raised_fraction,  f.recessed_fraction,
                               f.normal_z_mean,    f.mean_tilt_degrees,
                               f.surface_roughness};
  bool features_ok = std::all_of(values.begin(), values.end(),
                                 [](float v) { return std::isfinite(v); }) &&
                     f.depth_std > 0 && f.normal_z_mean > 0 &&
                     f.normal_z_mean <= 1;
  report->Add("features", "spatial_features",
              Judge(features_ok,
                    Json{{"depth_mean", f.depth_mean},
                         {"depth_std", f.depth_std},
                         {"normal_z_mean", f.normal_z_mean}},
                    nullptr,
                    "finite statistics with relief (depth_std > 0) and "
                    "normals facing the camera"));
}

namespace {

// Max |logit - reference| over the bundle's reference inputs.
absl::StatusOr<double> ReferenceParity(inference::Classifier& c,
                                       const std::string& dir) {
  std::vector<inference::Tensor> tensors;
  for (const auto& spec : c.manifest().inputs) {
    auto a = base::ReadNpy(dir + "/reference/" + spec.name + ".npy");
    if (!a.ok()) return a.status();
    inference::Tensor t;
    t.shape.assign(a->shape.begin(), a->shape.end());
    t.data = a->f32;
    tensors.push_back(std::move(t));
  }
  std::vector<inference::NamedInput> named;
  for (size_t i = 0; i < tensors.size(); ++i)
    named.push_back({c.manifest().inputs[i].name, &tensors[i]});
  auto logits = c.RunLogits(named);
  if (!logits.ok()) return logits.status();
  auto want = base::ReadNpy(dir + "/reference/logits.npy");
  if (!want.ok()) return want.status();
  if (want->f32.size() != logits->data.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("reference has ", want->f32.size(), " logits, model gave ",
                     logits->data.size()));
  }
  double worst = 0;
  for (size_t i = 0; i < want->f32.size(); ++i) {
    worst = std::max(
        worst, static_cast<double>(std::abs(logits->data[i] - want->f32[i])));
  }
  return worst;
}

}  // namespace

void CheckInference(const std::vector<std::string>& bundle_dirs,
                    const registry::Environment& env,
                    const InferenceCheckOptions& options, CheckReport* report) {
  using Clock = std::chrono::steady_clock;
  for (const auto& dir : bundle_dirs) {
    const std::string name = fs::path(dir).filename().string();
    auto c = inference::Classifier::Open(dir);
    if (!c.ok()) {
      report->Add("inference", name + ".loads",
                  Failed(false, true, std::string(c.status().message())));
      continue;
    }
    report->Add("inference", name + ".loads",
                Passed(true, true,
                       "bundle opens; the ONNX graph's inputs and output match "
                       "manifest.json"));
    auto parity = ReferenceParity(**c, dir);
    report->Add("inference", name + ".reference_parity",
                parity.ok() ? Judge(*parity < 1e-4, *parity, 1e-4,
                                    "largest |logit - PyTorch reference logit|")
                            : Error(std::string(parity.status().message())));
    // Latency of one request's work: decode, preprocess, infer.
    std::string jpeg = vision::RenderPizza(1, options.eval_seed, 0, 128).jpeg;
    std::vector<double> ms;
    for (int i = 0; i < options.latency_runs + 3; ++i) {
      auto t0 = Clock::now();
      auto img = vision::DecodeImage(jpeg);
      if (!img.ok()) break;
      auto p = (*c)->Prepare(*img);
      auto pred = (*c)->Classify({&p});
      if (!pred.ok()) break;
      if (i >= 3)  // the first runs allocate
        ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0)
                .count());
    }
    if (ms.empty()) {
      report->Add("inference", name + ".latency_ms",
                  Error("the model failed on a rendered pizza"));
      continue;
    }
    std::sort(ms.begin(), ms.end());
    double p50 = ms[ms.size() / 2];
    double limit = env.max_inference_time_ms.value_or(0);
    report->Add("inference", name + ".latency_ms",
                env.max_inference_time_ms
                    ? Judge(p50 <= limit, p50, limit,
                            absl::StrFormat("median of %d single-image runs "
                                            "(decode + preprocess + infer)",
                                            static_cast<int>(ms.size())))
                    : Skipped(env.name + " sets no latency limit", false));
    // Accuracy on the evaluation images.
    inference::ConfusionMatrix cm((*c)->manifest().classes);
    for (int i = 0; i < options.eval_images; ++i) {
      int label = i % vision::kNumClasses;
      auto img =
          vision::DecodeImage(vision::RenderPizza(label, options.eval_seed,
                                                  i / vision::kNumClasses, 128)
                                  .jpeg);
      if (!img.ok()) continue;
      auto p = (*c)->Prepare(*img);
      auto pred = (*c)->Classify({&p});
      if (pred.ok()) cm.Add(label, (*pred)[0].label);
    }
    double min_acc = env.min_accuracy.value_or(0);
    report->Add("inference", name + ".accuracy",
                env.min_accuracy
                    ? Judge(cm.total() > 0 && cm.accuracy() >= min_acc,
                            cm.accuracy(), min_acc,
                            absl::StrCat(cm.total(),
                                         " evaluation images rendered at seed ",
                                         options.eval_seed))
                    : Skipped(env.name + " sets no accuracy minimum", false));
  }
}

void CheckVersioning(registry::RegistryService& service,
                     const registry::Environment& env, CheckReport* report) {
  auto checks = service.Test();
  if (!checks.ok()) {
    report->Add("versioning", "artifacts_verify",
                Error(std::string(checks.status().message())));
    return;
  }
  int bad = 0;
  std::string first;
  for (const auto& v : *checks) {
    if (!v.status.ok() && bad++ == 0)
      first = absl::StrCat(v.version_id, ": ", v.status.message());
  }
  report->Add(
      "versioning", "artifacts_verify",
      Judge(bad == 0, static_cast<int>(checks->size()) - bad,
            static_cast<int>(checks->size()),
            bad == 0 ? absl::StrCat("every file of ", checks->size(),
                                    " versions matches its sha256")
                     : absl::StrCat(bad, " versions fail; first: ", first)));
  auto active = service.registry().ActiveVersion(env.name);
  if (!active.ok()) {
    report->Add("versioning", "active_version_validated",
                Error(std::string(active.status().message())));
    return;
  }
  if (!*active) {
    report->Add(
        "versioning", "active_version_validated",
        Skipped(absl::StrCat("no version is active in ", env.name), false));
    return;
  }
  auto v = service.registry().GetVersion(**active);
  bool validated =
      v.ok() && std::find(v->deployment_environments.begin(),
                          v->deployment_environments.end(),
                          env.name) != v->deployment_environments.end();
  report->Add("versioning", "active_version_validated",
              Judge(validated, **active, env.name,
                    absl::StrCat("active version ", **active,
                                 validated ? " is validated for "
                                           : " is NOT validated for ",
                                 env.name)));
}

namespace {

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line, joined;
  while (std::getline(in, line)) {
    // Dockerfile continuation lines join into one instruction.
    if (!line.empty() && line.back() == '\\') {
      joined += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    lines.push_back(joined + line);
    joined.clear();
  }
  if (!joined.empty()) lines.push_back(joined);
  return lines;
}

bool LooksSecret(absl::string_view name) {
  std::string n = absl::AsciiStrToUpper(name);
  if (absl::EndsWith(n, "_FILE") || absl::EndsWith(n, "_PATH")) return false;
  for (const char* s :
       {"PASSWORD", "SECRET", "TOKEN", "PRIVATE_KEY", "API_KEY"})
    if (absl::StrContains(n, s)) return true;
  return false;
}

}  // namespace

void CheckContainerFiles(const std::string& root, CheckReport* report) {
  const std::string c = "docker";
  const std::string dockerfile = root + "/Dockerfile.spatial";
  if (!fs::exists(dockerfile)) {
    report->Add(c, "dockerfile",
                Failed(false, true, dockerfile + " is missing"));
  } else {
    std::vector<std::string> unpinned, secrets;
    std::string last_user, healthcheck;
    bool exposes = false;
    int stages = 0;
    for (const auto& raw : ReadLines(dockerfile)) {
      std::string line(absl::StripAsciiWhitespace(raw));
      if (line.empty() || line[0] == '#') continue;
      std::vector<std::string> w =
          absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      std::string op = absl::AsciiStrToUpper(w[0]);
      if (op == "FROM" && w.size() > 1) {
        ++stages;
        last_user.clear();  // USER is per stage
        const std::string& image = w[1];
        bool pinned = absl::StrContains(image, "@sha256:") ||
                      (absl::StrContains(image, ":") &&
                       !absl::EndsWith(image, ":latest"));
        if (!pinned) unpinned.push_back(image);
      } else if (op == "USER" && w.size() > 1) {
        last_user = w[1];
      } else if (op == "HEALTHCHECK") {
        healthcheck = line;
      } else if (op == "EXPOSE") {
        for (size_t i = 1; i < w.size(); ++i)
          exposes |= absl::StartsWith(w[i], "8001");
      } else if ((op == "ENV" || op == "ARG") && w.size() > 1) {
        for (size_t i = 1; i < w.size(); ++i) {
          std::string name = w[i].substr(0, w[i].find('='));
          bool has_value = w[i].find('=') != std::string::npos &&
                           w[i].find('=') + 1 < w[i].size();
          if (op == "ENV" && w[i].find('=') == std::string::npos && i == 1 &&
              w.size() > 2) {
            has_value = true;  // ENV NAME value
            i = w.size();
          }
          if (LooksSecret(name) && has_value) secrets.push_back(name);
        }
      }
    }
    report->Add(
        c, "base_images_pinned",
        Judge(stages > 0 && unpinned.empty(), stages, nullptr,
              unpinned.empty() ? absl::StrCat(stages,
                                              " FROM lines, all with a tag or "
                                              "digest (no :latest)")
                               : "unpinned: " + absl::StrJoin(unpinned, ", ")));
    bool non_root = !last_user.empty() && last_user != "root" &&
                    !absl::StartsWith(last_user, "0");
    report->Add(c, "non_root_user",
                Judge(non_root, last_user, "not root",
                      last_user.empty()
                          ? "the final stage sets no USER: it would run as root"
                          : "the final stage runs as " + last_user));
    bool http_check = absl::StrContains(healthcheck, "/health") ||
                      absl::StrContains(healthcheck, "http");
    report->Add(c, "http_healthcheck",
                Judge(http_check, healthcheck, "HEALTHCHECK over HTTP",
                      healthcheck.empty() ? "no HEALTHCHECK" : healthcheck));
    report->Add(c, "exposes_8001",
                Judge(exposes, exposes, true, "EXPOSE 8001 (the API's port)"));
    report->Add(
        c, "no_baked_secrets",
        Judge(secrets.empty(), secrets.size(), 0,
              secrets.empty() ? "no ENV/ARG sets a password, token or key"
                              : "secret-looking values baked in: " +
                                    absl::StrJoin(secrets, ", ")));
  }
  const std::string compose = root + "/docker-compose.yml";
  if (!fs::exists(compose)) {
    report->Add(c, "compose", Failed(false, true, compose + " is missing"));
    return;
  }
  std::ifstream in(compose);
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  bool ok = absl::StrContains(s, "pizza-api-spatial") &&
            absl::StrContains(s, "8001") &&
            absl::StrContains(s, "healthcheck") &&
            absl::StrContains(s, "/health");
  report->Add(c, "compose_service",
              Judge(ok, ok, true,
                    "docker-compose.yml runs pizza-api-spatial on 8001 with a "
                    "/health healthcheck"));
}

}  // namespace spatial::checks
