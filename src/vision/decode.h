// Image decoding with limits, for bytes that come from users: the format is
// told by its magic bytes, the dimensions are read from the header and
// checked before any pixel is decoded (no decompression bombs). Pure
// functions; thread-safe.
#ifndef SPATIAL_VISION_DECODE_H_
#define SPATIAL_VISION_DECODE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace spatial::vision {

enum class ImageFormat { kUnknown, kJpeg, kPng, kWebp };
const char* ToString(ImageFormat f);

struct DecodeLimits {
  uint64_t max_bytes = 10ull * 1024 * 1024;  // 10 MB, the original API's limit
  int max_side = 4096;                       // per dimension
  // > 0: JPEGs are decoded scaled down (libjpeg-turbo, in the DCT domain) to
  // the smallest size whose sides are both >= this, e.g. the model's input
  // size; the limits above still apply to the full size. 0 (default): full
  // size. Scaled pixels differ slightly from a full decode + area resize.
  int jpeg_min_side = 0;
};

struct ImageHeader {
  ImageFormat format = ImageFormat::kUnknown;
  int width = 0;
  int height = 0;
};

// Format and size from the header alone. InvalidArgument for an unknown
// format, a header too short or damaged to read.
absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes);

// Decodes to 8-bit BGR (JPEGs scaled per limits.jpeg_min_side). Errors (all
// with a message a client can act on):
//   OutOfRange:      more than max_bytes, or a side over max_side (HTTP 413)
//   InvalidArgument:   empty, not JPEG/PNG/WebP, zero size, truncated or
//   corrupt
absl::StatusOr<cv::Mat> DecodeImage(absl::string_view bytes,
                                    const DecodeLimits& limits = {});

}  // namespace spatial::vision

#endif  // SPATIAL_VISION_DECODE_H_
