// quantized: the int8 variant of the spatial model against its fp32 parent,
// in one process on the same images (issue #22, item 4):
//  a) accuracy of both on the held-out render (seed 1000, never used in
//     training or calibration), decoded from JPEG and prepared as the server
//     does, and how often the two agree; goal: the int8 variant loses
//     <= 0.5 points;
//  b) throughput of both on the same prepared inputs, OpenCV single-threaded
//     as in `spatial serve`, at batch 1 and at the server's default batch (8):
//     rounds alternate between the two models so that both see the same
//     machine, and the verdict is the median of the per-round ratios
//     int8 / fp32; goal >= 1.5x. Images per CPU-second of this thread are
//     printed beside it: on a shared machine they move less than wall time;
//  c) where the time goes: OpenCV's per-layer profile of both graphs at
//     batch 8, summed by layer type (Convolution vs ConvolutionInt8, ...).
// A MISS is a result: the exit status only says whether the bench ran.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/flags.h"
#include "opencv2/core/utility.hpp"
#include "opencv2/dnn.hpp"
#include "src/inference/classifier.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"

namespace {

using spatial::inference::Classifier;
using spatial::inference::PreparedInput;

constexpr double kMaxAccuracyLoss = 0.005, kSpeedupGoal = 1.5;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "quantized: %s\n", why.c_str());
  std::exit(2);
}

struct Args {
  std::string parent = SPATIAL_SOURCE_DIR "/models/spatial-pizza-v1";
  std::string int8 = SPATIAL_SOURCE_DIR "/models/spatial-pizza-v1-int8";
  std::string label = "int8";  // what the variant is called in the output
  int per_class = 100;
  int seed = 1000;  // the held-out evaluation seed (docs/MODELS.md)
  int image_size = 128;
  int rounds = 7;
  double round_s = 1.0;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  spatial::bench::Flags(
      "quantized",
      "usage: quantized [--quick] [--parent DIR] [--int8|--variant DIR] "
      "[--label NAME] [--per-class N] [--seed N] [--rounds N] [--round-s S]")
      .Switch("--quick",
              [&] { a.per_class = 30, a.rounds = 3, a.round_s = 0.5; })
      .Text("--parent", &a.parent)
      .Text("--int8", &a.int8)
      .Text("--variant", &a.int8)
      .Text("--label", &a.label)
      .Int("--per-class", &a.per_class)
      .Int("--seed", &a.seed)
      .Int("--rounds", &a.rounds)
      .Number("--round-s", &a.round_s)
      .Parse(argc, argv);
  return a;
}

const char* Verdict(bool pass) { return pass ? "PASS" : "MISS"; }

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Model {
  std::string name;
  std::unique_ptr<Classifier> classifier;
  std::vector<PreparedInput> inputs;  // the held-out images, prepared
  std::vector<int> predicted;
};

// Images per wall second and per CPU second over `seconds` of batches.
struct Rate {
  double per_s = 0, per_cpu_s = 0;
};

Rate Measure(Model& m, int batch, double seconds) {
  using Clock = std::chrono::steady_clock;
  std::vector<const PreparedInput*> b;
  size_t next = 0, images = 0;
  const auto t0 = Clock::now();
  const double c0 = ThreadCpuSeconds();
  double elapsed = 0;
  do {
    b.clear();
    for (int i = 0; i < batch; ++i) {
      b.push_back(&m.inputs[next]);
      next = (next + 1) % m.inputs.size();
    }
    auto r = m.classifier->Classify(b);
    if (!r.ok()) Die(std::string(r.status().message()));
    images += b.size();
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (elapsed < seconds);
  return {images / elapsed, images / (ThreadCpuSeconds() - c0)};
}

// OpenCV's per-layer time of the graph at `onnx`, microseconds per image,
// summed by layer type, over `reps` forward passes of `batch` images.
std::map<std::string, double> LayerProfile(const std::string& onnx,
                                           const std::vector<PreparedInput>& in,
                                           int batch, int reps) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  const int side = 64;
  cv::Mat visual({batch, 3, side, side}, CV_32F),
      spatial({batch, 4, side, side}, CV_32F);
  for (int i = 0; i < batch; ++i) {
    const PreparedInput& p = in[i % in.size()];
    if (p.visual.size() != 3u * side * side ||
        p.spatial.size() != 4u * side * side)
      Die("the profile expects 64x64 visual and spatial inputs");
    std::copy(p.visual.begin(), p.visual.end(),
              visual.ptr<float>() + i * p.visual.size());
    std::copy(p.spatial.begin(), p.spatial.end(),
              spatial.ptr<float>() + i * p.spatial.size());
  }
  std::map<std::string, double> by_type;
  const double tick_us = 1e6 / cv::getTickFrequency();
  for (int r = 0; r <= reps; ++r) {
    net.setInput(visual, "visual");
    net.setInput(spatial, "spatial");
    net.forward("logits");
    if (r == 0) continue;  // warm-up
    std::vector<double> times;
    net.getPerfProfile(times);
    for (size_t l = 0; l < times.size(); ++l) {
      // Layer ids start at 1 (0 is the input layer).
      const std::string type = net.getLayer(static_cast<int>(l) + 1)->type;
      by_type[type] += times[l] * tick_us / reps / batch;
    }
  }
  return by_type;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  cv::setNumThreads(1);  // as `spatial serve`: one inference per worker
  Model fp32{"fp32"}, int8{"int8"};
  for (auto [m, dir] : {std::pair{&fp32, args.parent}, {&int8, args.int8}}) {
    auto c = Classifier::Open(dir);
    if (!c.ok())
      Die(absl::StrCat(dir, ": ", c.status().message(),
                       m == &int8 ? " (make the int8 variant with "
                                    "training/quantize.py, or pass --int8)"
                                  : ""));
    m->classifier = std::move(*c);
  }
  const char* name = args.label.c_str();
  std::printf("quantized: fp32 %s\n           %s %s\n", args.parent.c_str(),
              name, args.int8.c_str());

  // a) accuracy on the held-out render.
  std::vector<int> truth;
  for (int label = 0; label < spatial::vision::kNumClasses; ++label) {
    for (int i = 0; i < args.per_class; ++i) {
      auto pizza =
          spatial::vision::RenderPizza(label, args.seed, i, args.image_size);
      auto bgr = spatial::vision::DecodeImage(pizza.jpeg);
      if (!bgr.ok()) Die(std::string(bgr.status().message()));
      for (Model* m : {&fp32, &int8})
        m->inputs.push_back(m->classifier->Prepare(*bgr));
      truth.push_back(label);
    }
  }
  double accuracy[2];
  for (int k = 0; k < 2; ++k) {
    Model& m = k == 0 ? fp32 : int8;
    int correct = 0;
    for (size_t i = 0; i < m.inputs.size(); i += 8) {
      std::vector<const PreparedInput*> b;
      for (size_t j = i; j < std::min(i + 8, m.inputs.size()); ++j)
        b.push_back(&m.inputs[j]);
      auto r = m.classifier->Classify(b);
      if (!r.ok()) Die(std::string(r.status().message()));
      for (size_t j = 0; j < r->size(); ++j) {
        m.predicted.push_back((*r)[j].label);
        correct += (*r)[j].label == truth[i + j];
      }
    }
    accuracy[k] = static_cast<double>(correct) / truth.size();
  }
  int agree = 0;
  for (size_t i = 0; i < truth.size(); ++i)
    agree += fp32.predicted[i] == int8.predicted[i];
  const double loss = accuracy[0] - accuracy[1];
  std::printf(
      "a) held-out render (seed %d, %zu images, %dpx JPEGs)\n"
      "  accuracy fp32 %.4f  %s %.4f  lost %.2f points (goal <= %.1f)  %s\n"
      "  predictions agree on %d/%zu (%.2f%%)\n",
      args.seed, truth.size(), args.image_size, accuracy[0], name, accuracy[1],
      loss * 100, kMaxAccuracyLoss * 100, Verdict(loss <= kMaxAccuracyLoss),
      agree, truth.size(), 100.0 * agree / truth.size());
  std::fflush(stdout);

  // b) throughput, alternating rounds.
  std::printf(
      "b) throughput on the same prepared inputs, 1 thread, %d rounds of "
      "%.1f s per model\n",
      args.rounds, args.round_s);
  for (int batch : {1, 8}) {
    Measure(fp32, batch, 0.2);  // warm-up, uncounted
    Measure(int8, batch, 0.2);
    std::vector<double> ratios, cpu_ratios, f_rates, i_rates;
    for (int r = 0; r < args.rounds; ++r) {
      // Which model goes first alternates too.
      Rate a, b;
      if (r % 2 == 0) {
        a = Measure(fp32, batch, args.round_s);
        b = Measure(int8, batch, args.round_s);
      } else {
        b = Measure(int8, batch, args.round_s);
        a = Measure(fp32, batch, args.round_s);
      }
      f_rates.push_back(a.per_s);
      i_rates.push_back(b.per_s);
      ratios.push_back(b.per_s / a.per_s);
      cpu_ratios.push_back(b.per_cpu_s / a.per_cpu_s);
    }
    const double ratio = Median(ratios);
    std::printf(
        "  batch %d: fp32 %7.1f images/s  %s %7.1f images/s (medians)\n"
        "           %s/fp32 %.2fx wall, %.2fx per CPU-s (goal >= %.1fx)  "
        "%s\n",
        batch, Median(f_rates), name, Median(i_rates), name, ratio,
        Median(cpu_ratios), kSpeedupGoal, Verdict(ratio >= kSpeedupGoal));
    std::fflush(stdout);
  }

  // c) per-layer profile.
  std::printf(
      "c) OpenCV's per-layer profile at batch 8, us per image by layer type "
      "(median of 5 runs of 20 passes)\n");
  std::map<std::string, std::vector<double>> runs[2];
  for (int run = 0; run < 5; ++run) {
    for (int k = 0; k < 2; ++k) {
      const std::string dir = k == 0 ? args.parent : args.int8;
      const Model& m = k == 0 ? fp32 : int8;
      for (const auto& [type, us] :
           LayerProfile(dir + "/model.onnx", m.inputs, 8, 20))
        runs[k][type].push_back(us);
    }
  }
  for (int k = 0; k < 2; ++k) {
    double total = 0;
    std::printf("  %s:", k == 0 ? "fp32" : name);
    for (const auto& [type, us] : runs[k]) {
      const double med = Median(us);
      total += med;
      if (med >= 1) std::printf(" %s %.0f,", type.c_str(), med);
    }
    std::printf(" total %.0f\n", total);
  }
  return 0;
}
