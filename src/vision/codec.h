// Image codecs on TurboJPEG, libpng (simplified API) and libwebp directly.
// OpenCV's imgcodecs would do the same work but links 140 shared libraries
// (GDAL, DICOM, HDF5...) that cost every `spatial` process ~100 ms at start.
// Decoders treat a warning (a truncated JPEG) as an error.
// Thread-safe: no shared state.
#ifndef SPATIAL_VISION_CODEC_H_
#define SPATIAL_VISION_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace spatial::vision {

// Decode to 8-bit BGR. InvalidArgument with the library's message on failure.
// DecodeJpeg with min_side > 0 decodes scaled down in the DCT domain
// (libjpeg-turbo's scaling factors 1/8, 1/4, 3/8 ... 7/8) to
// JpegScaledSize(width, height, min_side): fewer pixels to decode and to
// resize, but not the pixels of a full decode followed by a resize.
absl::StatusOr<cv::Mat> DecodeJpeg(absl::string_view bytes, int min_side = 0);
// The smallest size libjpeg-turbo can decode a width x height JPEG to whose
// sides are both >= min_side; the full size when min_side <= 0 or when no
// factor below 1 keeps both sides that large.
cv::Size JpegScaledSize(int width, int height, int min_side);
absl::StatusOr<cv::Mat> DecodePng(absl::string_view bytes);
absl::StatusOr<cv::Mat> DecodeWebp(absl::string_view bytes);

// Encode 8-bit BGR (JPEG, PNG, WebP) or 8-bit grey (PNG).
absl::StatusOr<std::string> EncodeJpeg(const cv::Mat& bgr, int quality);
absl::StatusOr<std::string> EncodePng(const cv::Mat& image);
absl::StatusOr<std::string> EncodeWebp(const cv::Mat& bgr, float quality);

}  // namespace spatial::vision

#endif  // SPATIAL_VISION_CODEC_H_
