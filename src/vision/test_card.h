// A fixed 16x16 test card for the spatial preprocessing (a bright ring near
// the border, a dark blob, texture) and the golden values the preprocessing
// gives on it. Pinned by the unit tests and re-checked at deployment time by
// `spatial check`, so that a build whose preprocessing drifted (a library
// update, another CPU) cannot pass as the one the model was trained with.
#ifndef SPATIAL_VISION_TEST_CARD_H_
#define SPATIAL_VISION_TEST_CARD_H_

#include <string>
#include <vector>

#include "opencv2/core.hpp"

namespace spatial::vision {

cv::Mat PreprocessTestCard();

// One golden value of SpatialTensor(PreprocessTestCard(), 16, ...).
struct GoldenValue {
  std::string name;  // "depth_sum", "depth[0,0]", ...
  double expected;
  double tolerance;
  double actual;
  bool ok() const;
};
// Computes the spatial tensor of the test card and compares it with the
// golden values.
std::vector<GoldenValue> CheckSpatialGolden();

}  // namespace spatial::vision

#endif  // SPATIAL_VISION_TEST_CARD_H_
