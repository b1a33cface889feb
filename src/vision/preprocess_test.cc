#include "src/vision/preprocess.h"

#include <cmath>

#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"

namespace spatial::vision {
namespace {

// A fixed 16x16 test card: a bright ring near the border, a dark blob, texture.
cv::Mat TestCard() {
  cv::Mat img(16, 16, CV_8UC3, cv::Scalar(120, 130, 140));
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) {
      auto& p = img.at<cv::Vec3b>(y, x);
      if (y < 2 || x < 2) p = cv::Vec3b(230, 235, 240);  // bright border band
      if ((x - 10) * (x - 10) + (y - 10) * (y - 10) < 6)
        p = cv::Vec3b(20, 20, 25);  // dark
      if ((x + y) % 5 == 0 && x > 3 && y > 3)
        p = cv::Vec3b(170, 90, 60);  // texture
    }
  }
  return img;
}

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
  std::vector<float> t(4 * 16 * 16);
  SpatialTensor(TestCard(), 16, t.data());
  const size_t plane = 16 * 16;
  auto at = [&](int c, int y, int x) { return t[c * plane + y * 16 + x]; };
  double sum_depth = 0;
  for (size_t i = 0; i < plane; ++i) sum_depth += t[i];
  EXPECT_NEAR(sum_depth, 134.935665, 1e-3);
  EXPECT_NEAR(at(0, 0, 0), 0.75140572, 1e-5);
  EXPECT_NEAR(at(0, 10, 10), 0.34973601, 1e-5);
  EXPECT_NEAR(at(0, 5, 8), 0.46251154, 1e-5);
  EXPECT_NEAR(at(1, 3, 3), 0.30569193, 1e-5);
  EXPECT_NEAR(at(2, 8, 10), 0.19994320, 1e-5);
  EXPECT_NEAR(at(3, 8, 10), 0.97977769, 1e-5);
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
