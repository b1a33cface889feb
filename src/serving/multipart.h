// A strict parser of multipart/form-data bodies (RFC 7578) for uploads: parts
// with their names, filenames, content types and bodies, as views into the
// request body. Pure; thread-safe.
#ifndef SPATIAL_SERVING_MULTIPART_H_
#define SPATIAL_SERVING_MULTIPART_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace spatial::serving {

struct FormPart {
  std::string name;          // from Content-Disposition
  std::string filename;      // "" when the part is a plain field
  std::string content_type;  // "" when absent
  absl::string_view body;    // points into the request body
};

// The boundary parameter of a Content-Type header value
// ("multipart/form-data; boundary=..."). InvalidArgument when the type is not
// multipart/form-data or has no valid boundary.
absl::StatusOr<std::string> MultipartBoundary(absl::string_view content_type);

struct MultipartLimits {
  size_t max_parts = 32;
  size_t max_header_bytes = 8192;  // per part
};

// Parses `body`; the views in the result live as long as `body`.
// InvalidArgument naming what is wrong (missing boundary line, a part without
// Content-Disposition, no closing boundary, too many parts...).
absl::StatusOr<std::vector<FormPart>> ParseMultipart(
    absl::string_view body, absl::string_view boundary,
    const MultipartLimits& limits = {});
// The parts would view a string destroyed at the end of the call's statement
// (the heap-use-after-free ASan found in multipart_test): keep the body alive
// in a variable.
absl::StatusOr<std::vector<FormPart>> ParseMultipart(
    std::string&& body, absl::string_view boundary,
    const MultipartLimits& limits = {}) = delete;

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_MULTIPART_H_
