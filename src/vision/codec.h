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
absl::StatusOr<cv::Mat> DecodeJpeg(absl::string_view bytes);
absl::StatusOr<cv::Mat> DecodePng(absl::string_view bytes);
absl::StatusOr<cv::Mat> DecodeWebp(absl::string_view bytes);

// Encode 8-bit BGR (JPEG, PNG, WebP) or 8-bit grey (PNG).
absl::StatusOr<std::string> EncodeJpeg(const cv::Mat& bgr, int quality);
absl::StatusOr<std::string> EncodePng(const cv::Mat& image);
absl::StatusOr<std::string> EncodeWebp(const cv::Mat& bgr, float quality);

}  // namespace spatial::vision

#endif  // SPATIAL_VISION_CODEC_H_
