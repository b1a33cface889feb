// DecodeLimits::jpeg_min_side: JPEGs decoded scaled down by libjpeg-turbo.
#include <cmath>
#include <string>

#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"
#include "src/vision/codec.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"

namespace spatial::vision {
namespace {

// The smallest libjpeg-turbo size with both sides >= min_side, never larger
// than the image.
TEST(DecodeScaledTest, ScaledSizeIsTheSmallestFactorKeepingBothSides) {
  struct Case {
    int w, h, min_side, want_w, want_h;
  } cases[] = {
      {128, 128, 64, 64, 64},     // 1/2
      {128, 128, 48, 48, 48},     // 3/8
      {128, 128, 65, 80, 80},     // 5/8
      {128, 128, 16, 16, 16},     // 1/8
      {128, 128, 0, 128, 128},    // off
      {64, 64, 64, 64, 64},       // already the size
      {40, 30, 64, 40, 30},       // smaller than asked: full size
      {100, 80, 64, 88, 70},      // 7/8, rounded up; 3/4 would give 60 rows
      {4000, 3000, 64, 500, 375}  // 1/8
  };
  for (const Case& c : cases) {
    cv::Size s = JpegScaledSize(c.w, c.h, c.min_side);
    EXPECT_EQ(s.width, c.want_w) << c.w << "x" << c.h << " min " << c.min_side;
    EXPECT_EQ(s.height, c.want_h) << c.w << "x" << c.h << " min " << c.min_side;
  }
}

// A rendered 128px pizza decodes straight to 64x64, close to (not equal to)
// the full decode shrunk with area interpolation.
TEST(DecodeScaledTest, DecodesRenderedPizzaToModelSize) {
  const std::string jpeg = RenderPizza(1, 99, 0, 128).jpeg;
  auto full = DecodeImage(jpeg);
  ASSERT_TRUE(full.ok()) << full.status();
  DecodeLimits limits;
  limits.jpeg_min_side = 64;
  auto scaled = DecodeImage(jpeg, limits);
  ASSERT_TRUE(scaled.ok()) << scaled.status();
  EXPECT_EQ(scaled->cols, 64);
  EXPECT_EQ(scaled->rows, 64);
  EXPECT_EQ(scaled->type(), CV_8UC3);
  cv::Mat area;
  cv::resize(*full, area, cv::Size(64, 64), 0, 0, cv::INTER_AREA);
  cv::Mat diff;
  cv::absdiff(area, *scaled, diff);
  const double mean = cv::mean(diff.reshape(1))[0];
  EXPECT_LT(mean, 3.0) << "mean absolute difference per channel";
}

// PNG has no scaled decode: it keeps its size; the limits still apply to the
// full size of a scaled JPEG; a truncated JPEG fails scaled as well.
TEST(DecodeScaledTest, LimitsAndErrorsStillApply) {
  cv::Mat img(128, 128, CV_8UC3, cv::Scalar(10, 120, 240));
  DecodeLimits limits;
  limits.jpeg_min_side = 64;
  auto png = DecodeImage(*EncodePng(img), limits);
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(png->cols, 128);

  const std::string jpeg = *EncodeJpeg(img, 90);
  limits.max_side = 100;
  EXPECT_EQ(DecodeImage(jpeg, limits).status().code(),
            absl::StatusCode::kOutOfRange);
  limits.max_side = 4096;
  auto cut = DecodeImage(jpeg.substr(0, jpeg.size() / 2), limits);
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spatial::vision
