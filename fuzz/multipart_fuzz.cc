// multipart/form-data (src/serving/multipart.h), as POST /classify gets it:
// the first line is the Content-Type header value, the rest the body. Every
// part returned must lie inside the body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "src/serving/multipart.h"

namespace {

void CheckInside(const std::vector<spatial::serving::FormPart>& parts,
                 absl::string_view body) {
  for (const auto& p : parts) {
    if (p.body.data() < body.data() ||
        p.body.data() + p.body.size() > body.data() + body.size())
      abort();  // a part that views memory outside the request body
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  size_t eol = in.find('\n');
  absl::string_view content_type = in.substr(0, eol);
  absl::string_view body =
      eol == absl::string_view::npos ? absl::string_view() : in.substr(eol + 1);
  auto boundary = spatial::serving::MultipartBoundary(content_type);
  if (boundary.ok()) {
    auto parts = spatial::serving::ParseMultipart(body, *boundary);
    if (parts.ok()) CheckInside(*parts, body);
  }
  // The same body under a fixed boundary, so that mutations of the body are
  // not wasted on a content type that does not parse.
  spatial::serving::MultipartLimits limits;
  limits.max_parts = 4;
  limits.max_header_bytes = 256;
  auto parts = spatial::serving::ParseMultipart(body, "B", limits);
  if (parts.ok()) CheckInside(*parts, body);
  return 0;
}
