#include "src/vision/preprocess.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"
#include "src/vision/test_card.h"

namespace spatial::vision {
namespace {

cv::Mat TestCard() { return PreprocessTestCard(); }

// A uniform image has depth 0.5 everywhere and flat normals.
TEST(PreprocessTest, UniformImageIsFlat) {
  cv::Mat img(32, 32, CV_8UC3, cv::Scalar(90, 100, 110));
  SpatialMaps m = ComputeSpatialMaps(img);
  double lo, hi;
  cv::minMaxLoc(m.depth, &lo, &hi);
  EXPECT_FLOAT_EQ(static_cast<float>(lo), 0.5f);
  EXPECT_FLOAT_EQ(static_cast<float>(hi), 0.5f);
  cv::Vec3f n = m.normals.at<cv::Vec3f>(7, 9);
  EXPECT_FLOAT_EQ(n[0], 0.0f);
  EXPECT_FLOAT_EQ(n[1], 0.0f);
  EXPECT_FLOAT_EQ(n[2], 1.0f);
}

// The rules of the heuristic move depth the documented way before the blur:
// bright band pixels rise, dark pixels sink.
TEST(PreprocessTest, BrightBandRisesAndDarkSinks) {
  SpatialMaps m = ComputeSpatialMaps(TestCard());
  EXPECT_GT(m.depth.at<float>(0, 0), 0.6f);     // bright, in the band
  EXPECT_LT(m.depth.at<float>(10, 10), 0.45f);  // dark blob
  double lo, hi;
  cv::minMaxLoc(m.depth, &lo, &hi);
  EXPECT_GE(lo, 0.0);
  EXPECT_LE(hi, 1.0);
  // Normals are unit length everywhere.
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x)
      EXPECT_NEAR(cv::norm(m.normals.at<cv::Vec3f>(y, x)), 1.0, 1e-5);
  }
}

// Golden values pin the exact output on the test card; a change to any step
// (percentiles, blur, Sobel scale, channel order) shows here.
TEST(PreprocessTest, GoldenSpatialTensorOnTestCard) {
  auto golden = CheckSpatialGolden();
  ASSERT_EQ(golden.size(), 7u);
  for (const auto& g : golden) {
    EXPECT_TRUE(g.ok()) << g.name << ": " << g.actual << " vs " << g.expected;
  }
  EXPECT_NEAR(golden[0].actual, 134.935665, 1e-3);  // the sum of depth
}

// The visual tensor is RGB planes normalised with the manifest statistics.
TEST(PreprocessTest, VisualTensorIsNormalisedRgbPlanes) {
  cv::Mat img(4, 4, CV_8UC3, cv::Scalar(255, 0, 51));  // B=255, G=0, R=51
  std::vector<float> t(3 * 4 * 4);
  VisualTensor(img, 4, kPizzaNormalization, t.data());
  const auto& n = kPizzaNormalization;
  EXPECT_FLOAT_EQ(t[0], (51 / 255.0f - n.mean[0]) / n.std[0]);
  EXPECT_FLOAT_EQ(t[16], (0 - n.mean[1]) / n.std[1]);
  EXPECT_FLOAT_EQ(t[32 + 5], (1.0f - n.mean[2]) / n.std[2]);
}

TEST(PreprocessTest, PercentileInterpolatesLikeNumpy) {
  std::vector<float> v = {4, 1, 3, 2};
  EXPECT_FLOAT_EQ(Percentile(v, 0), 1);
  EXPECT_FLOAT_EQ(Percentile(v, 100), 4);
  EXPECT_FLOAT_EQ(Percentile(v, 50), 2.5f);
  EXPECT_FLOAT_EQ(Percentile(v, 25), 1.75f);
}

// The radix sort gives exactly what a comparison sort gives, for quantiles
// in any order, on values with many ties, negatives and both zeros.
TEST(PreprocessTest, PercentilesEqualSortedReference) {
  cv::RNG rng(7);
  for (int n : {1, 2, 5, 64, 4096, 16384}) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = static_cast<float>(rng.uniform(-20, 20)) / 7.0f;
    if (n > 2) v[1] = -0.0f;
    if (n > 4096) v[2] = 3e-39f;  // a subnormal
    std::vector<float> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    auto reference = [&](float q) {
      double pos = (q / 100.0) * static_cast<double>(n - 1);
      size_t lo = static_cast<size_t>(std::floor(pos));
      size_t hi = std::min(lo + 1, sorted.size() - 1);
      return static_cast<float>(sorted[lo] +
                                (sorted[hi] - sorted[lo]) *
                                    (pos - static_cast<double>(lo)));
    };
    std::vector<float> work = v;
    std::vector<float> got = Percentiles(work, {10, 25, 30, 30, 75, 80, 100});
    std::vector<float> qs = {10, 25, 30, 30, 75, 80, 100};
    for (size_t i = 0; i < qs.size(); ++i)
      EXPECT_EQ(got[i], reference(qs[i])) << "n=" << n << " q=" << qs[i];
    std::vector<float> backwards = Percentiles(work, {90, 50, 0, 99.9f});
    EXPECT_EQ(backwards[0], reference(90)) << "n=" << n;
    EXPECT_EQ(backwards[1], reference(50)) << "n=" << n;
    EXPECT_EQ(backwards[2], reference(0)) << "n=" << n;
    EXPECT_EQ(backwards[3], reference(99.9f)) << "n=" << n;
  }
  std::vector<float> empty;
  EXPECT_EQ(Percentiles(empty, {50})[0], 0.0f);
}

// Features summarise the maps: a flat image is all 0.5 depth, no tilt.
TEST(PreprocessTest, FeaturesOfFlatImage) {
  cv::Mat img(16, 16, CV_8UC3, cv::Scalar(50, 60, 70));
  SpatialFeatures f = ComputeSpatialFeatures(ComputeSpatialMaps(img));
  EXPECT_FLOAT_EQ(f.depth_mean, 0.5f);
  EXPECT_FLOAT_EQ(f.depth_p90, 0.5f);
  EXPECT_FLOAT_EQ(f.raised_fraction, 0.0f);
  EXPECT_FLOAT_EQ(f.normal_z_mean, 1.0f);
  EXPECT_NEAR(f.mean_tilt_degrees, 0.0f, 1e-3);
}

}  // namespace
}  // namespace spatial::vision
