#include "src/vision/decode.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "src/vision/codec.h"

namespace spatial::vision {
namespace {

uint32_t Be16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t Be32(const unsigned char* p) { return (Be16(p) << 16) | Be16(p + 2); }
uint32_t Le16(const unsigned char* p) { return (uint32_t{p[1]} << 8) | p[0]; }
uint32_t Le24(const unsigned char* p) {
  return (uint32_t{p[2]} << 16) | Le16(p);
}

absl::Status Damaged(const char* what) {
  return absl::InvalidArgumentError(
      absl::StrCat("the ", what, " header is truncated or damaged"));
}

absl::StatusOr<ImageHeader> PngHeader(const unsigned char* p, size_t n) {
  // Signature (8) + IHDR length (4) + "IHDR" (4) + width (4) + height (4).
  if (n < 24 ||
      std::string_view(reinterpret_cast<const char*>(p + 12), 4) != "IHDR") {
    return Damaged("PNG");
  }
  return ImageHeader{
      ImageFormat::kPng,
      static_cast<int>(std::min<uint32_t>(Be32(p + 16), 1u << 30)),
      static_cast<int>(std::min<uint32_t>(Be32(p + 20), 1u << 30))};
}

absl::StatusOr<ImageHeader> JpegHeader(const unsigned char* p, size_t n) {
  // Walk the markers to the first start-of-frame, which holds the size.
  size_t i = 2;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) return Damaged("JPEG");
    unsigned char marker = p[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) ||
        marker == 0x01) {
      i += 2;
      continue;
    }
    uint32_t len = Be16(p + i + 2);
    if (len < 2) return Damaged("JPEG");
    bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 &&
               marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (i + 9 > n) return Damaged("JPEG");
      return ImageHeader{ImageFormat::kJpeg, static_cast<int>(Be16(p + i + 7)),
                         static_cast<int>(Be16(p + i + 5))};
    }
    if (marker == 0xD9 || marker == 0xDA)
      break;  // end or scan before any frame
    i += 2 + len;
  }
  return Damaged("JPEG");
}

absl::StatusOr<ImageHeader> WebpHeader(const unsigned char* p, size_t n) {
  if (n < 30) return Damaged("WebP");
  std::string_view chunk(reinterpret_cast<const char*>(p + 12), 4);
  if (chunk == "VP8 ") {
    if (p[23] != 0x9d || p[24] != 0x01 || p[25] != 0x2a) return Damaged("WebP");
    return ImageHeader{ImageFormat::kWebp,
                       static_cast<int>(Le16(p + 26) & 0x3fff),
                       static_cast<int>(Le16(p + 28) & 0x3fff)};
  }
  if (chunk == "VP8L") {
    if (p[20] != 0x2f) return Damaged("WebP");
    uint32_t bits = p[21] | (uint32_t{p[22]} << 8) | (uint32_t{p[23]} << 16) |
                    (uint32_t{p[24]} << 24);
    return ImageHeader{ImageFormat::kWebp,
                       static_cast<int>((bits & 0x3fff) + 1),
                       static_cast<int>(((bits >> 14) & 0x3fff) + 1)};
  }
  if (chunk == "VP8X") {
    return ImageHeader{ImageFormat::kWebp, static_cast<int>(Le24(p + 24) + 1),
                       static_cast<int>(Le24(p + 27) + 1)};
  }
  return Damaged("WebP");
}

}  // namespace

const char* ToString(ImageFormat f) {
  switch (f) {
    case ImageFormat::kJpeg:
      return "jpeg";
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kWebp:
      return "webp";
    default:
      return "unknown";
  }
}

absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
    return JpegHeader(p, n);
  static const unsigned char kPng[8] = {0x89, 'P',  'N',  'G',
                                        '\r', '\n', 0x1a, '\n'};
  if (n >= 8 && std::equal(kPng, kPng + 8, p)) return PngHeader(p, n);
  if (n >= 12 && bytes.substr(0, 4) == "RIFF" && bytes.substr(8, 4) == "WEBP") {
    return WebpHeader(p, n);
  }
  return absl::InvalidArgumentError(
      "not a JPEG, PNG or WebP image (unrecognised leading bytes)");
}

absl::StatusOr<cv::Mat> DecodeImage(absl::string_view bytes,
                                    const DecodeLimits& limits) {
  if (bytes.empty())
    return absl::InvalidArgumentError("the image is empty (0 bytes)");
  if (bytes.size() > limits.max_bytes) {
    return absl::OutOfRangeError(absl::StrCat("the image is ", bytes.size(),
                                              " bytes, more than the limit of ",
                                              limits.max_bytes));
  }
  auto header = ReadImageHeader(bytes);
  if (!header.ok()) return header.status();
  if (header->width <= 0 || header->height <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", ToString(header->format), " image has a zero size (",
        header->width, "x", header->height, ")"));
  }
  if (header->width > limits.max_side || header->height > limits.max_side) {
    return absl::OutOfRangeError(absl::StrCat(
        "the image is ", header->width, "x", header->height,
        " pixels; the limit is ", limits.max_side, "x", limits.max_side));
  }
  absl::StatusOr<cv::Mat> img;
  cv::Size expected(header->width, header->height);
  switch (header->format) {
    case ImageFormat::kJpeg:
      img = DecodeJpeg(bytes, limits.jpeg_min_side);
      expected =
          JpegScaledSize(header->width, header->height, limits.jpeg_min_side);
      break;
    case ImageFormat::kPng:
      img = DecodePng(bytes);
      break;
    default:
      img = DecodeWebp(bytes);
      break;
  }
  if (!img.ok()) return img.status();
  if (img->cols != expected.width || img->rows != expected.height) {
    return absl::InvalidArgumentError(
        "the image's header and its data disagree about its size");
  }
  return img;
}

}  // namespace spatial::vision
