// Image bytes from users (src/vision/decode.h): header, then the decode with
// limits small enough that a fuzzer's bomb is refused, not allocated.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "src/vision/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)spatial::vision::ReadImageHeader(bytes);
  spatial::vision::DecodeLimits limits;
  limits.max_bytes = 1 << 20;
  limits.max_side = 512;
  auto img = spatial::vision::DecodeImage(bytes, limits);
  if (img.ok() &&
      (img->cols <= 0 || img->rows <= 0 || img->cols > limits.max_side ||
       img->rows > limits.max_side || img->type() != CV_8UC3))
    abort();  // outside what DecodeImage promises
  return 0;
}
