#include "src/vision/codec.h"

// clang-format off
#include <png.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/encode.h>
// clang-format on

#include "absl/strings/str_cat.h"

namespace spatial::vision {
namespace {

// A TurboJPEG handle that is destroyed with its scope.
struct TjHandle {
  tjhandle h;
  explicit TjHandle(tjhandle handle) : h(handle) {}
  ~TjHandle() {
    if (h != nullptr) tjDestroy(h);
  }
};

}  // namespace

cv::Size JpegScaledSize(int width, int height, int min_side) {
  cv::Size best(width, height);
  if (min_side <= 0) return best;
  int n = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&n);
  for (int i = 0; factors != nullptr && i < n; ++i) {
    const tjscalingfactor& f = factors[i];
    if (f.num >= f.denom) continue;  // only shrink
    cv::Size s(TJSCALED(width, f), TJSCALED(height, f));
    if (s.width >= min_side && s.height >= min_side && s.area() < best.area())
      best = s;
  }
  return best;
}

absl::StatusOr<cv::Mat> DecodeJpeg(absl::string_view bytes, int min_side) {
  TjHandle tj(tjInitDecompress());
  if (tj.h == nullptr) return absl::InternalError("tjInitDecompress failed");
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.h, data, size, &w, &h, &subsamp, &colorspace) !=
      0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the jpeg image is damaged: ", tjGetErrorStr2(tj.h)));
  }
  const cv::Size out = JpegScaledSize(w, h, min_side);
  cv::Mat img(out.height, out.width, CV_8UC3);
  // A warning (e.g. "Premature end of JPEG file") is an error for an upload.
  // tjDecompress2 picks the scaling factor that yields the requested size.
  if (tjDecompress2(tj.h, data, size, img.data, out.width,
                    static_cast<int>(img.step), out.height, TJPF_BGR,
                    TJFLAG_STOPONWARNING) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the jpeg image is damaged or truncated: ", tjGetErrorStr2(tj.h)));
  }
  return img;
}

absl::StatusOr<std::string> EncodeJpeg(const cv::Mat& bgr, int quality) {
  if (bgr.type() != CV_8UC3)
    return absl::InvalidArgumentError("EncodeJpeg needs 8-bit BGR");
  TjHandle tj(tjInitCompress());
  if (tj.h == nullptr) return absl::InternalError("tjInitCompress failed");
  unsigned char* out = nullptr;
  unsigned long size = 0;
  if (tjCompress2(tj.h, bgr.data, bgr.cols, static_cast<int>(bgr.step),
                  bgr.rows, TJPF_BGR, &out, &size, TJSAMP_420, quality,
                  0) != 0) {
    tjFree(out);
    return absl::InternalError(
        absl::StrCat("jpeg encoding failed: ", tjGetErrorStr2(tj.h)));
  }
  std::string result(reinterpret_cast<char*>(out), size);
  tjFree(out);
  return result;
}

absl::StatusOr<cv::Mat> DecodePng(absl::string_view bytes) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    std::string msg = image.message;
    png_image_free(&image);
    return absl::InvalidArgumentError(
        absl::StrCat("the png image is damaged: ", msg));
  }
  image.format = PNG_FORMAT_BGR;
  cv::Mat img(static_cast<int>(image.height), static_cast<int>(image.width),
              CV_8UC3);
  if (!png_image_finish_read(&image, nullptr, img.data,
                             static_cast<png_int_32>(img.step), nullptr)) {
    std::string msg = image.message;
    png_image_free(&image);
    return absl::InvalidArgumentError(
        absl::StrCat("the png image is damaged or truncated: ", msg));
  }
  return img;
}

absl::StatusOr<std::string> EncodePng(const cv::Mat& image) {
  if (image.type() != CV_8UC3 && image.type() != CV_8UC1) {
    return absl::InvalidArgumentError("EncodePng needs 8-bit BGR or grey");
  }
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.cols);
  png.height = static_cast<png_uint_32>(image.rows);
  png.format = image.channels() == 3 ? PNG_FORMAT_BGR : PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  const auto stride = static_cast<png_int_32>(image.step);
  if (!png_image_write_get_memory_size(png, size, 0, image.data, stride,
                                       nullptr)) {
    return absl::InternalError(
        absl::StrCat("png encoding failed: ", png.message));
  }
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, image.data, stride,
                                 nullptr)) {
    return absl::InternalError(
        absl::StrCat("png encoding failed: ", png.message));
  }
  out.resize(size);
  return out;
}

absl::StatusOr<cv::Mat> DecodeWebp(absl::string_view bytes) {
  int w = 0, h = 0;
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  if (!WebPGetInfo(data, bytes.size(), &w, &h) || w <= 0 || h <= 0) {
    return absl::InvalidArgumentError("the webp image is damaged or truncated");
  }
  cv::Mat img(h, w, CV_8UC3);
  if (WebPDecodeBGRInto(data, bytes.size(), img.data, img.total() * 3,
                        static_cast<int>(img.step)) == nullptr) {
    return absl::InvalidArgumentError("the webp image is damaged or truncated");
  }
  return img;
}

absl::StatusOr<std::string> EncodeWebp(const cv::Mat& bgr, float quality) {
  if (bgr.type() != CV_8UC3)
    return absl::InvalidArgumentError("EncodeWebp needs 8-bit BGR");
  uint8_t* out = nullptr;
  size_t n = WebPEncodeBGR(bgr.data, bgr.cols, bgr.rows,
                           static_cast<int>(bgr.step), quality, &out);
  if (n == 0) return absl::InternalError("webp encoding failed");
  std::string result(reinterpret_cast<char*>(out), n);
  WebPFree(out);
  return result;
}

}  // namespace spatial::vision
