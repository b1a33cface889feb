// The pipeline's two HTTP probes (health polling and the post-deploy canary)
// over base::HttpFetch, the one blocking client: the base URL's path is put
// in front of each request path. Thread-safe: no shared state.
#ifndef SPATIAL_PIPELINE_HTTP_CLIENT_H_
#define SPATIAL_PIPELINE_HTTP_CLIENT_H_

#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "src/base/http_client.h"

namespace spatial::pipeline {

using base::HttpUrl;
// Parses http://HOST[:PORT][/PATH]; InvalidArgument otherwise.
using base::ParseHttpUrl;
using HttpAnswer = base::HttpReply;

// GET url.path + path. Unavailable when there is no connection,
// DeadlineExceeded when there is no answer in `timeout`.
absl::StatusOr<HttpAnswer> HttpGet(const HttpUrl& url, const std::string& path,
                                   std::chrono::milliseconds timeout);

// POST multipart/form-data with `data` as field "file" (image/jpeg or
// image/png by the file name).
absl::StatusOr<HttpAnswer> HttpPostFile(const HttpUrl& url,
                                        const std::string& path,
                                        const std::string& file_name,
                                        const std::string& data,
                                        std::chrono::milliseconds timeout);

}  // namespace spatial::pipeline

#endif  // SPATIAL_PIPELINE_HTTP_CLIENT_H_
