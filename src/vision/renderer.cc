#include "src/vision/renderer.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "opencv2/imgproc.hpp"
#include "src/vision/codec.h"

namespace spatial::vision {
namespace {

using Json = nlohmann::json;

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double U(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(gen_);
  }
  int I(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(gen_);
  }
  double N(double sd) { return std::normal_distribution<double>(0, sd)(gen_); }
  uint64_t Next() { return gen_(); }

 private:
  std::mt19937_64 gen_;
};

uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t x = a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2));
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  return x ^ (x >> 29);
}

// Smooth noise in [-1, 1]: a coarse random grid upsampled with cubic
// interpolation.
cv::Mat SmoothNoise(Rng& rng, int size, int grid) {
  cv::Mat g(grid, grid, CV_32F);
  for (int y = 0; y < grid; ++y)
    for (int x = 0; x < grid; ++x)
      g.at<float>(y, x) = static_cast<float>(rng.U(-1, 1));
  cv::Mat out;
  cv::resize(g, out, cv::Size(size, size), 0, 0, cv::INTER_CUBIC);
  return out;
}

cv::Vec3f Lerp(const cv::Vec3f& a, const cv::Vec3f& b, float t) {
  return a + (b - a) * t;
}

// RGB of baked dough for a browning level b in [0,1]: raw, golden, dark,
// charred.
cv::Vec3f DoughColor(float b) {
  static const cv::Vec3f kRaw(236, 218, 176), kGolden(205, 146, 66),
      kDark(112, 62, 28), kChar(34, 26, 22);
  b = std::clamp(b, 0.0f, 1.0f);
  if (b < 0.45f) return Lerp(kRaw, kGolden, b / 0.45f);
  if (b < 0.75f) return Lerp(kGolden, kDark, (b - 0.45f) / 0.30f);
  return Lerp(kDark, kChar, (b - 0.75f) / 0.25f);
}

// Browning map in the pizza's own frame (u, v in [-1, 1]), by class.
cv::Mat BrowningMap(int label, Rng& rng, int size, Json& p) {
  cv::Mat b(size, size, CV_32F);
  cv::Mat jitter = SmoothNoise(rng, size, 6) * 0.06f;
  auto fill = [&](auto f) {
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        float u = 2.0f * x / (size - 1) - 1, v = 2.0f * y / (size - 1) - 1;
        b.at<float>(y, x) = f(u, v) + jitter.at<float>(y, x);
      }
  };
  switch (label) {
    case 0: {  // basic: raw
      float level = static_cast<float>(rng.U(0.0, 0.1));
      p["browning"] = level;
      fill([&](float, float) { return level; });
      break;
    }
    case 1: {  // burnt: large charred areas on a baked pizza
      float base = static_cast<float>(rng.U(0.35, 0.6));
      int blobs = rng.I(2, 5);
      std::vector<cv::Vec3f> c;
      for (int i = 0; i < blobs; ++i) {
        c.emplace_back(rng.U(-0.6, 0.6), rng.U(-0.6, 0.6), rng.U(0.35, 0.7));
      }
      p["browning"] = base;
      p["char_blobs"] = blobs;
      fill([&](float u, float v) {
        float level = base;
        for (const auto& k : c) {
          float d = std::hypot(u - k[0], v - k[1]) / k[2];
          if (d < 1) level = std::max(level, 0.92f - 0.1f * d);
        }
        return level;
      });
      break;
    }
    case 2: {  // combined: sectors in distinct states
      int sectors = rng.I(2, 4);
      const float states[3] = {0.05f, 0.45f, 0.92f};
      std::vector<float> level(sectors), start(sectors);
      int first = rng.I(0, 2);
      for (int i = 0; i < sectors; ++i) {
        level[i] = states[(first + i + (i > 0 ? rng.I(0, 1) : 0)) % 3];
      }
      if (std::all_of(level.begin(), level.end(),
                      [&](float l) { return l == level[0]; })) {
        level[1] = states[(first + 1) % 3];
      }
      float offset = static_cast<float>(rng.U(0, 2 * M_PI));
      p["sectors"] = sectors;
      p["sector_levels"] = level;
      fill([&](float u, float v) {
        float a =
            std::fmod(std::atan2(v, u) - offset + 4 * static_cast<float>(M_PI),
                      2 * static_cast<float>(M_PI));
        int s =
            std::min(sectors - 1, static_cast<int>(a / (2 * M_PI) * sectors));
        return level[s];
      });
      break;
    }
    case 3: {  // mixed: uniform partial browning
      float level = static_cast<float>(rng.U(0.3, 0.62));
      cv::Mat spots = SmoothNoise(rng, size, 10) * 0.08f;
      p["browning"] = level;
      fill([&](float, float) { return level; });
      b += spots;
      break;
    }
    case 4: {  // progression: a browning gradient across the pizza
      float dir = static_cast<float>(rng.U(0, 2 * M_PI));
      float lo = static_cast<float>(rng.U(0.0, 0.12)),
            hi = static_cast<float>(rng.U(0.72, 1.0));
      p["gradient_direction_rad"] = dir;
      p["gradient_from"] = lo;
      p["gradient_to"] = hi;
      fill([&](float u, float v) {
        float t = (u * std::cos(dir) + v * std::sin(dir) + 1) / 2;
        return lo + (hi - lo) * std::clamp(t, 0.0f, 1.0f);
      });
      break;
    }
    default: {  // segment: one slice, in any state
      float level = static_cast<float>(rng.U(0.0, 0.95));
      p["browning"] = level;
      fill([&](float, float) { return level; });
      break;
    }
  }
  return b;
}

}  // namespace

absl::StatusOr<int> ClassIndex(const std::string& name) {
  for (int i = 0; i < kNumClasses; ++i) {
    if (name == kClassNames[i]) return i;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown class '", name,
                   "' (known: ", absl::StrJoin(kClassNames, ", "), ")"));
}

std::string RenderDistribution::Name() const {
  if (lighting && blur && geometry) return "all";
  std::vector<std::string> parts;
  if (lighting) parts.push_back("lighting");
  if (blur) parts.push_back("blur");
  if (geometry) parts.push_back("geometry");
  return parts.empty() ? "none" : absl::StrJoin(parts, "+");
}

absl::StatusOr<RenderDistribution> ParseShift(const std::string& name) {
  if (name.empty() || name == "none") return RenderDistribution{};
  if (name == "lighting") return RenderDistribution{.lighting = true};
  if (name == "blur") return RenderDistribution{.blur = true};
  if (name == "geometry") return RenderDistribution{.geometry = true};
  if (name == "all") return RenderDistribution{true, true, true};
  return absl::InvalidArgumentError(
      absl::StrCat("unknown shift '", name,
                   "' (known: none, lighting, blur, geometry, all)"));
}

RenderedPizza RenderPizza(int label, uint64_t seed, int index, int size,
                          RenderDistribution dist) {
  Rng rng(Mix(Mix(seed, static_cast<uint64_t>(label)),
              static_cast<uint64_t>(index)));
  Json p = {{"class", kClassNames[label]},
            {"label", label},
            {"seed", seed},
            {"index", index},
            {"size", size},
            {"shift", dist.Name()}};
  const float S = static_cast<float>(size);

  // Nuisance, drawn first and identically for every class.
  cv::Vec3f bg(static_cast<float>(rng.U(40, 200)),
               static_cast<float>(rng.U(40, 190)),
               static_cast<float>(rng.U(30, 180)));
  float radius = static_cast<float>(dist.geometry ? rng.U(0.22, 0.49)
                                                  : rng.U(0.30, 0.45)) *
                 S;
  float cx = S / 2 + static_cast<float>(rng.U(-0.06, 0.06)) * S;
  float cy = S / 2 + static_cast<float>(rng.U(-0.06, 0.06)) * S;
  float rotation = static_cast<float>(rng.U(0, 360));
  float crust = static_cast<float>(rng.U(0.08, 0.16));
  float sauce = static_cast<float>(rng.U(0.72, 0.92));
  float light_dir = static_cast<float>(rng.U(0, 2 * M_PI));
  float light_strength =
      static_cast<float>(dist.lighting ? rng.U(0.3, 0.6) : rng.U(0.0, 0.3));
  float brightness =
      static_cast<float>(dist.lighting ? rng.U(0.55, 1.35) : rng.U(0.85, 1.12));
  cv::Vec3f tint = dist.lighting
                       ? cv::Vec3f(static_cast<float>(rng.U(0.8, 1.2)), 1.0f,
                                   static_cast<float>(rng.U(0.8, 1.2)))
                       : cv::Vec3f(1, 1, 1);
  float tilt =
      static_cast<float>(dist.geometry ? rng.U(0.04, 0.10) : rng.U(0.0, 0.05));
  float noise = static_cast<float>(dist.blur ? rng.U(4, 12) : rng.U(0, 6));
  float blur =
      static_cast<float>(dist.blur ? rng.U(0.8, 2.0) : rng.U(0.0, 1.0));
  int quality = dist.blur ? rng.I(35, 70) : rng.I(60, 95);
  int toppings = rng.I(0, 12);
  p.update({{"background_rgb", {bg[0], bg[1], bg[2]}},
            {"radius_px", radius},
            {"center", {cx, cy}},
            {"rotation_deg", rotation},
            {"crust_fraction", crust},
            {"sauce_fraction", sauce},
            {"light_direction_rad", light_dir},
            {"light_strength", light_strength},
            {"brightness", brightness},
            {"tint", {tint[0], tint[1], tint[2]}},
            {"tilt", tilt},
            {"noise_sigma", noise},
            {"blur_sigma", blur},
            {"jpeg_quality", quality},
            {"toppings", toppings}});

  // The pizza in its own frame: a canonical square where the disk has radius R.
  const int C = size;
  const float R = C * 0.5f - 1;
  cv::Mat browning = BrowningMap(label, rng, C, p);
  cv::Mat sauce_edge = SmoothNoise(rng, C, 8) * 0.05f;
  cv::Mat cheese = SmoothNoise(rng, C, 12);
  float cheese_cover = static_cast<float>(rng.U(-0.3, 0.4));
  p["cheese_cover"] = cheese_cover;
  float slice_from = static_cast<float>(rng.U(0, 2 * M_PI));
  float slice_width = static_cast<float>(rng.U(35, 75) * M_PI / 180);
  if (label == 5) p["slice_width_deg"] = slice_width * 180 / M_PI;
  std::vector<cv::Vec4f> tops;  // x, y, radius, kind
  for (int i = 0; i < toppings; ++i) {
    float a = static_cast<float>(rng.U(0, 2 * M_PI)),
          d = static_cast<float>(rng.U(0, 0.75));
    tops.emplace_back(d * std::cos(a), d * std::sin(a),
                      static_cast<float>(rng.U(0.05, 0.1)),
                      static_cast<float>(rng.I(0, 2)));
  }
  cv::Mat layer(C, C, CV_32FC3, cv::Scalar(0, 0, 0)),
      alpha(C, C, CV_32F, cv::Scalar(0));
  for (int y = 0; y < C; ++y) {
    for (int x = 0; x < C; ++x) {
      float u = (x - C / 2.0f) / R, v = (y - C / 2.0f) / R;
      float rho = std::hypot(u, v);
      if (rho > 1) continue;
      if (label == 5) {  // only one wedge of the pizza is there
        float a = std::fmod(
            std::atan2(v, u) - slice_from + 4 * static_cast<float>(M_PI),
            2 * static_cast<float>(M_PI));
        if (a > slice_width || rho < 0.04f) continue;
      }
      float b = browning.at<float>(y, x);
      cv::Vec3f col;
      if (rho > 1 - crust) {  // crust browns more and is lit on its outer rim
        col =
            DoughColor(b + 0.12f) * (0.9f + 0.2f * (rho - (1 - crust)) / crust);
      } else if (rho < sauce + sauce_edge.at<float>(y, x)) {
        cv::Vec3f tomato =
            Lerp(cv::Vec3f(196, 44, 32), cv::Vec3f(90, 22, 14), b);
        float c = cheese.at<float>(y, x) + cheese_cover;
        col = c > 0 ? Lerp(Lerp(cv::Vec3f(250, 238, 186), DoughColor(b + 0.05f),
                                std::min(1.0f, b * 1.4f)),
                           tomato, std::max(0.0f, 0.3f - c))
                    : tomato;
      } else {
        col = DoughColor(b);
      }
      for (const auto& t : tops) {
        if (std::hypot(u - t[0], v - t[1]) < t[2]) {
          cv::Vec3f kind = t[3] < 1 ? cv::Vec3f(170, 40, 40)
                                    : (t[3] < 2 ? cv::Vec3f(40, 40, 35)
                                                : cv::Vec3f(60, 130, 50));
          col = Lerp(kind, cv::Vec3f(30, 20, 15), std::max(0.0f, b - 0.5f));
        }
      }
      layer.at<cv::Vec3f>(y, x) = col;
      alpha.at<float>(y, x) = 1;
    }
  }

  // Place it: rotate, scale, move, then a slight camera tilt (perspective).
  // The camera is the same for every class: the same distance (the whole
  // pizza's radius in the image), rotation and offset, aimed at the centre of
  // the food's area (a whole pizza's centre, a lone slice's centroid). A slice
  // is framed close or far exactly as a whole pizza is.
  float scale = radius / R;
  cv::Mat affine =
      cv::getRotationMatrix2D(cv::Point2f(C / 2.0f, C / 2.0f), rotation, scale);
  cv::Point2d focus(C / 2.0, C / 2.0);
  if (label == 5) {
    const double mid = slice_from + slice_width / 2;
    const double centroid =  // of a circular sector, from its tip
        4 * R * std::sin(slice_width / 2) / (3 * slice_width);
    focus += cv::Point2d(centroid * std::cos(mid), centroid * std::sin(mid));
  }
  const double fx = affine.at<double>(0, 0) * focus.x +
                    affine.at<double>(0, 1) * focus.y + affine.at<double>(0, 2);
  const double fy = affine.at<double>(1, 0) * focus.x +
                    affine.at<double>(1, 1) * focus.y + affine.at<double>(1, 2);
  affine.at<double>(0, 2) += cx - fx;
  affine.at<double>(1, 2) += cy - fy;
  // What the camera did, read back from the transform actually applied: the
  // radius the whole pizza has in the image, its rotation, and where the
  // point the camera aims at lands.
  p["radius_px"] =
      R * std::sqrt(std::abs(cv::determinant(affine(cv::Rect(0, 0, 2, 2)))));
  p["rotation_deg"] =
      std::fmod(std::atan2(affine.at<double>(0, 1), affine.at<double>(0, 0)) *
                        180 / M_PI +
                    360,
                360.0);
  p["center"] = {
      affine.at<double>(0, 0) * focus.x + affine.at<double>(0, 1) * focus.y +
          affine.at<double>(0, 2),
      affine.at<double>(1, 0) * focus.x + affine.at<double>(1, 1) * focus.y +
          affine.at<double>(1, 2)};
  cv::Mat placed, placed_alpha;
  cv::warpAffine(layer, placed, affine, cv::Size(size, size), cv::INTER_LINEAR);
  cv::warpAffine(alpha, placed_alpha, affine, cv::Size(size, size),
                 cv::INTER_LINEAR);
  std::vector<cv::Point2f> from = {{0, 0}, {S, 0}, {S, S}, {0, S}}, to;
  std::vector<float> corner_shift;  // x, y of each corner, in image sides
  for (const auto& pt : from) {
    corner_shift.push_back(static_cast<float>(rng.U(-tilt, tilt)));
    corner_shift.push_back(static_cast<float>(rng.U(-tilt, tilt)));
    to.emplace_back(pt.x + corner_shift[corner_shift.size() - 2] * S,
                    pt.y + corner_shift.back() * S);
  }
  p["tilt_corner_shift"] = corner_shift;
  cv::Mat persp = cv::getPerspectiveTransform(from, to);
  cv::warpPerspective(placed, placed, persp, placed.size(), cv::INTER_LINEAR);
  cv::warpPerspective(placed_alpha, placed_alpha, persp, placed.size(),
                      cv::INTER_LINEAR);

  // Background with texture, the pizza over it, light, noise, blur.
  cv::Mat bg_tex = SmoothNoise(rng, size, 16) * 18.0f;
  cv::Mat img(size, size, CV_32FC3);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      float a = placed_alpha.at<float>(y, x);
      cv::Vec3f back = bg + cv::Vec3f::all(bg_tex.at<float>(y, x));
      cv::Vec3f px = placed.at<cv::Vec3f>(y, x) * a + back * (1 - a);
      float lx = (x / S - 0.5f) * std::cos(light_dir) +
                 (y / S - 0.5f) * std::sin(light_dir);
      float light = brightness * (1 + light_strength * 2 * lx);
      for (int c = 0; c < 3; ++c) px[c] *= light * tint[c];
      img.at<cv::Vec3f>(y, x) = px;
    }
  }
  if (noise > 0) {
    cv::Mat n(size, size, CV_32FC3);
    cv::RNG cv_rng(rng.Next());
    cv_rng.fill(n, cv::RNG::NORMAL, 0, noise);
    img += n;
  }
  if (blur > 0.05f) cv::GaussianBlur(img, img, cv::Size(0, 0), blur);
  cv::Mat rgb8, bgr;
  img.convertTo(rgb8, CV_8UC3);
  cv::cvtColor(rgb8, bgr, cv::COLOR_RGB2BGR);
  // Encoding our own 8-bit image cannot fail; the decoded JPEG is what a camera
  // delivers, so `bgr` and `jpeg` agree.
  std::string jpeg = EncodeJpeg(bgr, quality).value();
  cv::Mat decoded = DecodeJpeg(jpeg).value();
  return {decoded, std::move(jpeg), p};
}

}  // namespace spatial::vision
