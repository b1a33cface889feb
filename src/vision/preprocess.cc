#include "src/vision/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "opencv2/imgproc.hpp"

namespace spatial::vision {
namespace {

std::vector<float> Values(const cv::Mat& m) {
  std::vector<float> v;
  v.reserve(m.total());
  for (int y = 0; y < m.rows; ++y) {
    const float* row = m.ptr<float>(y);
    v.insert(v.end(), row, row + m.cols);
  }
  return v;
}

}  // namespace

namespace {

// Sorts finite floats ascending by their bits: an LSD radix sort of 3 passes
// of 11 bits over keys that order as the floats do (sign flipped, negatives
// inverted). A pass whose digit is the same for every value moves nothing,
// so values in [0, 1] (grey levels, depth) take about two. Linear time: for
// the 64x64 maps about a third of what the three selections per call took.
void SortFloats(std::vector<float>& values) {
  const size_t n = values.size();
  std::vector<uint32_t> keys(n), moved(n);
  constexpr int kBits = 11, kPasses = 3;
  constexpr uint32_t kMask = (1u << kBits) - 1;
  // The three passes' digit counts, taken in the one read of the keys.
  std::vector<uint32_t> count(kPasses * (kMask + 1), 0);
  for (size_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &values[i], sizeof u);
    const uint32_t k = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    keys[i] = k;
    for (int p = 0; p < kPasses; ++p)
      ++count[p * (kMask + 1) + ((k >> (p * kBits)) & kMask)];
  }
  for (int p = 0; p < kPasses; ++p) {
    uint32_t* c = &count[p * (kMask + 1)];
    const int shift = p * kBits;
    if (c[(keys[0] >> shift) & kMask] == n) continue;  // one digit: no move
    uint32_t at = 0;
    for (uint32_t d = 0; d <= kMask; ++d) {
      const uint32_t here = c[d];
      c[d] = at;
      at += here;
    }
    for (uint32_t k : keys) moved[c[(k >> shift) & kMask]++] = k;
    keys.swap(moved);
  }
  for (size_t i = 0; i < n; ++i) {
    const uint32_t k = keys[i];
    const uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    std::memcpy(&values[i], &u, sizeof u);
  }
}

}  // namespace

std::vector<float> Percentiles(std::vector<float>& values,
                               std::initializer_list<float> qs) {
  std::vector<float> out;
  out.reserve(qs.size());
  if (values.empty()) {
    out.assign(qs.size(), 0.0f);
    return out;
  }
  // One sort serves every quantile (numpy's linear interpolation between the
  // two order statistics around q), the same values a comparison sort gives.
  SortFloats(values);
  for (float q : qs) {
    double pos = (q / 100.0) * static_cast<double>(values.size() - 1);
    size_t lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, values.size() - 1);
    const float a = values[lo], b = values[hi];
    double frac = pos - static_cast<double>(lo);
    out.push_back(static_cast<float>(a + (b - a) * frac));
  }
  return out;
}

float Percentile(std::vector<float>& values, float q) {
  return Percentiles(values, {q})[0];
}

cv::Mat ResizeSquare(const cv::Mat& bgr, int size) {
  if (bgr.cols == size && bgr.rows == size) return bgr;
  cv::Mat out;
  int interp =
      (bgr.cols > size || bgr.rows > size) ? cv::INTER_AREA : cv::INTER_LINEAR;
  cv::resize(bgr, out, cv::Size(size, size), 0, 0, interp);
  return out;
}

void VisualTensor(const cv::Mat& bgr, int size, const Normalization& norm,
                  float* out) {
  cv::Mat img = ResizeSquare(bgr, size);
  const size_t plane = static_cast<size_t>(size) * size;
  for (int y = 0; y < size; ++y) {
    const cv::Vec3b* row = img.ptr<cv::Vec3b>(y);
    for (int x = 0; x < size; ++x) {
      size_t i = static_cast<size_t>(y) * size + x;
      for (int c = 0; c < 3; ++c) {
        // Channel c of RGB is channel 2 - c of BGR.
        float v = row[x][2 - c] / 255.0f;
        out[c * plane + i] = (v - norm.mean[c]) / norm.std[c];
      }
    }
  }
}

SpatialMaps ComputeSpatialMaps(const cv::Mat& bgr) {
  cv::Mat grey8, grey;
  cv::cvtColor(bgr, grey8, cv::COLOR_BGR2GRAY);
  grey8.convertTo(grey, CV_32F, 1.0 / 255.0);
  cv::Mat lap;
  cv::Laplacian(grey, lap, CV_32F);
  lap = cv::abs(lap);

  std::vector<float> g = Values(grey);
  const std::vector<float> gp = Percentiles(g, {25, 30, 75});
  const float p25 = gp[0], p30 = gp[1], p75 = gp[2];
  std::vector<float> l = Values(lap);
  const float l80 = Percentile(l, 80);

  const int h = grey.rows, w = grey.cols;
  const int band = std::min(h, w) / 8;
  cv::Mat depth(h, w, CV_32F, cv::Scalar(0.5f));
  for (int y = 0; y < h; ++y) {
    const float* gr = grey.ptr<float>(y);
    const float* lr = lap.ptr<float>(y);
    float* d = depth.ptr<float>(y);
    for (int x = 0; x < w; ++x) {
      bool in_band = y < band || y >= h - band || x < band || x >= w - band;
      if (in_band && gr[x] > p75) d[x] += 0.3f;
      if (lr[x] > l80 && gr[x] > p30 && gr[x] < p75) d[x] += 0.15f;
      if (gr[x] < p25) d[x] -= 0.2f;
    }
  }
  cv::GaussianBlur(depth, depth, cv::Size(7, 7), 2.0);
  cv::min(cv::max(depth, 0.0), 1.0, depth);

  cv::Mat dx, dy;
  cv::Sobel(depth, dx, CV_32F, 1, 0, 3);
  cv::Sobel(depth, dy, CV_32F, 0, 1, 3);
  cv::Mat normals(h, w, CV_32FC3);
  for (int y = 0; y < h; ++y) {
    const float* ax = dx.ptr<float>(y);
    const float* ay = dy.ptr<float>(y);
    cv::Vec3f* n = normals.ptr<cv::Vec3f>(y);
    for (int x = 0; x < w; ++x) {
      float inv = 1.0f / std::sqrt(ax[x] * ax[x] + ay[x] * ay[x] + 1.0f);
      n[x] = cv::Vec3f(-ax[x] * inv, -ay[x] * inv, inv);
    }
  }
  return {depth, normals};
}

SpatialMaps SpatialTensor(const cv::Mat& bgr, int size, float* out) {
  SpatialMaps maps = ComputeSpatialMaps(ResizeSquare(bgr, size));
  const size_t plane = static_cast<size_t>(size) * size;
  for (int y = 0; y < size; ++y) {
    const float* d = maps.depth.ptr<float>(y);
    const cv::Vec3f* n = maps.normals.ptr<cv::Vec3f>(y);
    for (int x = 0; x < size; ++x) {
      size_t i = static_cast<size_t>(y) * size + x;
      out[i] = d[x];
      out[plane + i] = n[x][0];
      out[2 * plane + i] = n[x][1];
      out[3 * plane + i] = n[x][2];
    }
  }
  return maps;
}

SpatialFeatures ComputeSpatialFeatures(const SpatialMaps& maps) {
  SpatialFeatures f;
  std::vector<float> d = Values(maps.depth);
  if (d.empty()) return f;
  cv::Scalar mean, stddev;
  cv::meanStdDev(maps.depth, mean, stddev);
  f.depth_mean = static_cast<float>(mean[0]);
  f.depth_std = static_cast<float>(stddev[0]);
  const std::vector<float> dp = Percentiles(d, {10, 50, 90});
  f.depth_p10 = dp[0];
  f.depth_p50 = dp[1];
  f.depth_p90 = dp[2];
  size_t raised = 0, recessed = 0;
  for (float v : d) {
    raised += v > 0.6f;
    recessed += v < 0.4f;
  }
  f.raised_fraction = static_cast<float>(raised) / static_cast<float>(d.size());
  f.recessed_fraction =
      static_cast<float>(recessed) / static_cast<float>(d.size());
  std::vector<cv::Mat> ch;
  cv::split(maps.normals, ch);
  cv::meanStdDev(ch[2], mean, stddev);
  f.normal_z_mean = static_cast<float>(mean[0]);
  f.surface_roughness = static_cast<float>(stddev[0]);
  double tilt = 0;
  for (int y = 0; y < ch[2].rows; ++y) {
    const float* nz = ch[2].ptr<float>(y);
    for (int x = 0; x < ch[2].cols; ++x)
      tilt += std::acos(std::clamp(nz[x], -1.0f, 1.0f));
  }
  f.mean_tilt_degrees =
      static_cast<float>(tilt / static_cast<double>(d.size()) * 180.0 / M_PI);
  return f;
}

}  // namespace spatial::vision
