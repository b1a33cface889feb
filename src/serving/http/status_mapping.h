// The one mapping from a Status to an HTTP status code, and the one error
// response every part of the server sends (the handlers and the HTTP adapter
// alike): {"error": "..."}, 503 with Retry-After. Pure functions; thread-safe.
#ifndef SPATIAL_SERVING_HTTP_STATUS_MAPPING_H_
#define SPATIAL_SERVING_HTTP_STATUS_MAPPING_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "nlohmann/json.hpp"
#include "src/serving/http/http_server.h"

namespace spatial::serving::http {

// An HTTP status no canonical code stands for (431: the request headers are
// too large) rides on the Status as this payload; HttpStatusFor honours it.
inline constexpr char kHttpStatusPayload[] = "spatial/http-status";
inline absl::Status WithHttpStatus(absl::Status s, int http_status) {
  s.SetPayload(kHttpStatusPayload, absl::Cord(std::to_string(http_status)));
  return s;
}

inline int HttpStatusFor(const absl::Status& s) {
  if (auto p = s.GetPayload(kHttpStatusPayload); p.has_value()) {
    int code = 0;
    if (absl::SimpleAtoi(std::string(*p), &code)) return code;
  }
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

// {"error": message} with the status's HTTP code; 503 says when to retry.
inline HttpResponse ErrorResponse(const absl::Status& s) {
  HttpResponse r;
  r.status = HttpStatusFor(s);
  r.body = ErrorJson(s);
  if (r.status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace spatial::serving::http

#endif  // SPATIAL_SERVING_HTTP_STATUS_MAPPING_H_
