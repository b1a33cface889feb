#include "src/vision/test_card.h"

#include <cmath>

#include "src/vision/preprocess.h"

namespace spatial::vision {

cv::Mat PreprocessTestCard() {
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

bool GoldenValue::ok() const {
  return std::isfinite(actual) && std::abs(actual - expected) <= tolerance;
}

std::vector<GoldenValue> CheckSpatialGolden() {
  std::vector<float> t(4 * 16 * 16);
  SpatialTensor(PreprocessTestCard(), 16, t.data());
  const size_t plane = 16 * 16;
  auto at = [&](int c, int y, int x) {
    return static_cast<double>(t[c * plane + y * 16 + x]);
  };
  double sum_depth = 0;
  for (size_t i = 0; i < plane; ++i) sum_depth += t[i];
  return {{"depth_sum", 134.935665, 1e-3, sum_depth},
          {"depth[0,0]", 0.75140572, 1e-5, at(0, 0, 0)},
          {"depth[10,10]", 0.34973601, 1e-5, at(0, 10, 10)},
          {"depth[5,8]", 0.46251154, 1e-5, at(0, 5, 8)},
          {"normal_x[3,3]", 0.30569193, 1e-5, at(1, 3, 3)},
          {"normal_y[8,10]", 0.19994320, 1e-5, at(2, 8, 10)},
          {"normal_z[8,10]", 0.97977769, 1e-5, at(3, 8, 10)}};
}

}  // namespace spatial::vision
