// The JSON and error responses every handler of pizza-api-spatial sends
// (errors: the one mapping of http/status_mapping.h). Pure; thread-safe.
#ifndef SPATIAL_SERVING_RESPONSES_H_
#define SPATIAL_SERVING_RESPONSES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "src/base/text.h"
#include "src/serving/http/http_server.h"
#include "src/serving/http/status_mapping.h"

namespace spatial::serving {

// `j` as the body; bytes that are not UTF-8 are replaced, never thrown on.
inline http::HttpResponse JsonResponse(int status, const nlohmann::json& j) {
  http::HttpResponse r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

// {"error": message} with the status's HTTP code; 503 says when to retry.
inline http::HttpResponse Error(const absl::Status& s) {
  return http::ErrorResponse(s);
}

// The "timestamp" of a response: now, ISO 8601 in UTC.
inline std::string Now() { return base::FormatIso8601(absl::Now()); }

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_RESPONSES_H_
