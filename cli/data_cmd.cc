// `spatial data render` and `spatial data tensors`: flags -> rendered images
// or .npy tensors, on worker threads of their own.
#include "cli/data_cmd.h"

#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/labelled_dataset.h"
#include "src/base/files.h"
#include "src/base/npy.h"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"
#include "src/vision/codec.h"
#include "src/vision/decode.h"
#include "src/vision/preprocess.h"
#include "src/vision/renderer.h"

namespace spatial::cli {
namespace {

struct DataFlags {
  std::string out, in, shift;
  int per_class = 100;
  uint64_t seed = 1;
  int size = 128;
  int visual_size = 64;
  int spatial_size = 64;
  bool no_spatial = false;
  int threads = 0;
};

int ThreadCount(int flag) {
  if (flag > 0) return flag;
  return std::max(1u, std::thread::hardware_concurrency());
}

// Runs body(i) for i in [0, n) on `threads` threads, printing progress to
// stderr.
absl::Status ParallelFor(int n, int threads, const char* what,
                         const std::function<absl::Status(int)>& body) {
  std::atomic<int> next{0}, done{0};
  std::mutex mu;
  absl::Status first_error;
  auto work = [&] {
    for (int i = next++; i < n; i = next++) {
      absl::Status s = body(i);
      std::lock_guard<std::mutex> lock(mu);
      if (!s.ok() && first_error.ok()) first_error = s;
      int d = ++done;
      if (n >= 20 && d % (n / 10) == 0)
        std::cerr << what << ": " << d << "/" << n << "\n";
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  return first_error;
}

absl::Status Render(const DataFlags& f) {
  if (f.per_class < 1 || f.per_class > 100000) {
    return absl::InvalidArgumentError("--per-class must be 1..100000");
  }
  if (f.size < 32 || f.size > 1024)
    return absl::InvalidArgumentError("--size must be 32..1024");
  ASSIGN_OR_RETURN(vision::RenderDistribution dist,
                   vision::ParseShift(f.shift));
  for (const char* c : vision::kClassNames)
    RETURN_IF_ERROR(base::MakeDirs(f.out + "/" + c));
  const int n = f.per_class * vision::kNumClasses;
  std::vector<std::string> rows(n), params(n);
  // A contact sheet of the first few images of each class, one row per class.
  const int cols = std::min(f.per_class, 8);
  cv::Mat sheet(vision::kNumClasses * f.size, cols * f.size, CV_8UC3,
                cv::Scalar(255, 255, 255));
  RETURN_IF_ERROR(ParallelFor(n, ThreadCount(f.threads), "render", [&](int i) {
    int label = i % vision::kNumClasses, index = i / vision::kNumClasses;
    vision::RenderedPizza p =
        vision::RenderPizza(label, f.seed, index, f.size, dist);
    if (index < cols) {
      p.bgr.copyTo(
          sheet(cv::Rect(index * f.size, label * f.size, f.size, f.size)));
    }
    std::string rel =
        absl::StrCat(vision::kClassNames[label], "/",
                     vision::kClassNames[label], "_", index, ".jpg");
    p.parameters["path"] = rel;
    rows[i] =
        absl::StrCat(rel, ",", label, ",", vision::kClassNames[label], "\n");
    params[i] = p.parameters.dump() + "\n";
    return base::WriteFileAtomic(f.out + "/" + rel, p.jpeg);
  }));
  std::string csv = "path,label,class\n", jsonl;
  for (int i = 0; i < n; ++i) {
    csv += rows[i];
    jsonl += params[i];
  }
  RETURN_IF_ERROR(base::WriteFileAtomic(f.out + "/render_params.jsonl", jsonl));
  RETURN_IF_ERROR(base::WriteFileAtomic(f.out + "/labels.csv", csv));
  ASSIGN_OR_RETURN(std::string png, vision::EncodePng(sheet));
  RETURN_IF_ERROR(base::WriteFileAtomic(f.out + "/contact_sheet.png", png));
  std::cout << "rendered " << n << " images (" << f.per_class
            << " per class, seed " << f.seed << ", " << f.size << "px, shift "
            << dist.Name() << ") to " << f.out << " (preview: " << f.out
            << "/contact_sheet.png)\n";
  return absl::OkStatus();
}

absl::Status Tensors(const DataFlags& f) {
  ASSIGN_OR_RETURN(auto images, ReadLabelledDataset(f.in));
  for (int s : {f.visual_size, f.spatial_size}) {
    if (s < 8 || s > 512)
      return absl::InvalidArgumentError("tensor sizes must be 8..512");
  }
  const int64_t n = static_cast<int64_t>(images.size());
  const size_t vplane = 3ull * f.visual_size * f.visual_size;
  const size_t splane = 4ull * f.spatial_size * f.spatial_size;
  std::vector<float> visual(n * vplane), spatial(f.no_spatial ? 0 : n * splane);
  std::vector<int64_t> labels(n);
  std::vector<std::string> digests(n);
  RETURN_IF_ERROR(ParallelFor(
      static_cast<int>(n), ThreadCount(f.threads), "tensors", [&](int i) {
        ASSIGN_OR_RETURN(std::string bytes,
                         base::ReadFile(images[i].path, 64 << 20));
        auto img = vision::DecodeImage(bytes);
        if (!img.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat(images[i].path, ": ", img.status().message()));
        }
        vision::VisualTensor(*img, f.visual_size, vision::kPizzaNormalization,
                             &visual[i * vplane]);
        if (!f.no_spatial)
          vision::SpatialTensor(*img, f.spatial_size, &spatial[i * splane]);
        labels[i] = images[i].label;
        digests[i] = base::Sha256Hex(bytes);
        return absl::OkStatus();
      }));
  RETURN_IF_ERROR(base::WriteNpy(f.out + "_visual.npy",
                                 {n, 3, f.visual_size, f.visual_size},
                                 visual.data()));
  if (!f.no_spatial) {
    RETURN_IF_ERROR(base::WriteNpy(f.out + "_spatial.npy",
                                   {n, 4, f.spatial_size, f.spatial_size},
                                   spatial.data()));
  }
  RETURN_IF_ERROR(base::WriteNpy(f.out + "_labels.npy", {n}, labels.data()));
  base::Sha256 all;
  for (int64_t i = 0; i < n; ++i)
    all.Update(absl::StrCat(digests[i], labels[i]));
  nlohmann::json meta = {{"count", n},
                         {"source", f.in},
                         {"visual_size", f.visual_size},
                         {"spatial_size", f.no_spatial ? 0 : f.spatial_size},
                         {"normalization",
                          {{"mean", vision::kPizzaNormalization.mean},
                           {"std", vision::kPizzaNormalization.std}}},
                         {"data_digest", all.HexDigest()}};
  RETURN_IF_ERROR(
      base::WriteFileAtomic(f.out + "_meta.json", meta.dump(2) + "\n"));
  std::cout << "wrote " << n << " samples to " << f.out << "_{visual"
            << (f.no_spatial ? "" : ",spatial") << ",labels}.npy\n";
  return absl::OkStatus();
}

}  // namespace

void AddDataCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<DataFlags>();
  CLI::App* data = app.add_subcommand(
      "data", "Render labelled pizza images; write model tensors");
  data->require_subcommand(1);

  CLI::App* render =
      data->add_subcommand("render",
                           "Render procedural top-down pizza images, folder "
                           "per class, plus labels.csv");
  render->add_option("--out", f->out, "Output directory")->required();
  render->add_option("--per-class", f->per_class, "Images per class")
      ->capture_default_str();
  render
      ->add_option("--seed", f->seed,
                   "Random seed (the same seed renders the same images)")
      ->capture_default_str();
  render->add_option("--size", f->size, "Image side in pixels")
      ->capture_default_str();
  render->add_option(
      "--shift", f->shift,
      "Render a distribution shift: lighting, blur, geometry or all");
  render->add_option("--threads", f->threads,
                     "Worker threads (default: all cores)");
  render->callback(
      [f, action] { *action = [f] { return ResultOf(Render(*f)); }; });

  CLI::App* tensors = data->add_subcommand(
      "tensors",
      "Preprocess a labelled folder into PREFIX_{visual,spatial,labels}.npy");
  tensors->add_option("--in", f->in, "Labelled folder (with labels.csv)")
      ->required();
  tensors->add_option("--out", f->out, "Output prefix")->required();
  tensors->add_option("--visual-size", f->visual_size, "Visual input side")
      ->capture_default_str();
  tensors->add_option("--spatial-size", f->spatial_size, "Spatial input side")
      ->capture_default_str();
  tensors->add_flag("--no-spatial", f->no_spatial,
                    "Write only the visual tensor");
  tensors->add_option("--threads", f->threads,
                      "Worker threads (default: all cores)");
  tensors->callback(
      [f, action] { *action = [f] { return ResultOf(Tensors(*f)); }; });
}

}  // namespace spatial::cli
