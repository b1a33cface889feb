#include "src/vision/decode.h"

#include <vector>

#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"
#include "src/vision/codec.h"

namespace spatial::vision {
namespace {

std::string Encode(const char* ext, int w, int h) {
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(10, 120, 240));
  cv::circle(img, {w / 2, h / 2}, std::min(w, h) / 3, cv::Scalar(200, 30, 30),
             -1);
  std::string ext_s = ext;
  auto out = ext_s == ".jpg"   ? EncodeJpeg(img, 90)
             : ext_s == ".png" ? EncodePng(img)
                               : EncodeWebp(img, 90);
  EXPECT_TRUE(out.ok());
  return out.value_or("");
}

// Every supported format decodes to BGR at its own size.
TEST(DecodeTest, DecodesJpegPngWebp) {
  for (const char* ext : {".jpg", ".png", ".webp"}) {
    auto img = DecodeImage(Encode(ext, 40, 30));
    ASSERT_TRUE(img.ok()) << ext << ": " << img.status();
    EXPECT_EQ(img->cols, 40);
    EXPECT_EQ(img->rows, 30);
    EXPECT_EQ(img->type(), CV_8UC3);
    auto header = ReadImageHeader(Encode(ext, 40, 30));
    ASSERT_TRUE(header.ok()) << ext;
    EXPECT_EQ(header->width, 40);
    EXPECT_EQ(header->height, 30);
  }
}

// Table of hostile inputs and the code each gets.
TEST(DecodeTest, RejectsHostileInputsWithSpecificCodes) {
  std::string jpeg = Encode(".jpg", 64, 64);
  std::string png = Encode(".png", 64, 64);
  std::string big_header = png;
  // Rewrite the PNG's IHDR width to 100000 pixels: refused before decoding.
  big_header[16] = 0;
  big_header[17] = 1;
  big_header[18] = static_cast<char>(0x86);
  big_header[19] = static_cast<char>(0xA0);
  std::string zero = png;
  for (int i = 16; i < 24; ++i) zero[i] = 0;
  struct Case {
    std::string name;
    std::string bytes;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {"empty", "", absl::StatusCode::kInvalidArgument},
      {"text", "hello, this is not an image",
       absl::StatusCode::kInvalidArgument},
      {"gif", "GIF89a\x01\x00\x01\x00", absl::StatusCode::kInvalidArgument},
      {"truncated jpeg", jpeg.substr(0, jpeg.size() / 2),
       absl::StatusCode::kInvalidArgument},
      {"jpeg header only", jpeg.substr(0, 3),
       absl::StatusCode::kInvalidArgument},
      {"truncated png", png.substr(0, png.size() / 2),
       absl::StatusCode::kInvalidArgument},
      {"png signature only", png.substr(0, 8),
       absl::StatusCode::kInvalidArgument},
      {"huge dimensions", big_header, absl::StatusCode::kOutOfRange},
      {"zero size", zero, absl::StatusCode::kInvalidArgument},
      {"too many bytes", std::string(11 << 20, 'x'),
       absl::StatusCode::kOutOfRange},
  };
  for (const auto& c : cases) {
    auto r = DecodeImage(c.bytes);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), c.code) << c.name << ": " << r.status();
    EXPECT_FALSE(r.status().message().empty()) << c.name;
  }
}

// The side limit is configurable and applies to either dimension.
TEST(DecodeTest, SideLimitAppliesToEachDimension) {
  DecodeLimits limits;
  limits.max_side = 32;
  EXPECT_EQ(DecodeImage(Encode(".png", 33, 8), limits).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(DecodeImage(Encode(".png", 8, 33), limits).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(DecodeImage(Encode(".png", 32, 32), limits).ok());
}

// Random bytes behind a valid magic never crash the decoder.
TEST(DecodeTest, SurvivesCorruptedBodies) {
  std::string jpeg = Encode(".jpg", 64, 64);
  uint32_t state = 12345;
  for (int round = 0; round < 200; ++round) {
    std::string b = jpeg;
    for (int k = 0; k < 8; ++k) {
      state = state * 1664525u + 1013904223u;
      size_t pos = 4 + state % (b.size() - 4);
      b[pos] = static_cast<char>(state >> 24);
    }
    auto r = DecodeImage(b);  // either decodes or fails cleanly
    if (r.ok()) {
      EXPECT_EQ(r->type(), CV_8UC3);
    }
  }
}

}  // namespace
}  // namespace spatial::vision
