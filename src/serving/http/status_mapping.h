// The one mapping from a Status to an HTTP status code, and the error body
// every endpoint uses: {"error": "..."}.
#ifndef SPATIAL_SERVING_HTTP_STATUS_MAPPING_H_
#define SPATIAL_SERVING_HTTP_STATUS_MAPPING_H_

#include <string>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace spatial::serving::http {

inline int HttpStatusFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kOutOfRange:
      return 413;  // an upload over a size limit
    case absl::StatusCode::kUnimplemented:
      return 405;
    case absl::StatusCode::kResourceExhausted:  // queue full: shed load
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

// Messages may quote request bytes (a path, a field) that are not UTF-8:
// replaced, never thrown on (an exception here would end the server).
inline std::string ErrorJson(const absl::Status& s) {
  return nlohmann::json{{"error", std::string(s.message())}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace spatial::serving::http

#endif  // SPATIAL_SERVING_HTTP_STATUS_MAPPING_H_
