// A minimal blocking HTTP/1.1 client for the pipeline's probes: health
// polling and the post-deploy canary (one request per connection,
// Connection: close, plain http only).
#ifndef SPATIAL_PIPELINE_HTTP_CLIENT_H_
#define SPATIAL_PIPELINE_HTTP_CLIENT_H_

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace spatial::pipeline {

struct HttpUrl {
  std::string host;
  int port = 80;
  std::string path = "/";  // path of the base URL, without a trailing '/'
};

// Parses http://HOST[:PORT][/PATH]; InvalidArgument otherwise.
absl::StatusOr<HttpUrl> ParseHttpUrl(const std::string& url);

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// GET base.path + path. Unavailable when there is no answer in `timeout`.
absl::StatusOr<HttpAnswer> HttpGet(const HttpUrl& base, const std::string& path,
                                   std::chrono::milliseconds timeout);

// POST multipart/form-data with `data` as field "file" (image/jpeg or
// image/png by the file name).
absl::StatusOr<HttpAnswer> HttpPostFile(const HttpUrl& base,
                                        const std::string& path,
                                        const std::string& file_name,
                                        const std::string& data,
                                        std::chrono::milliseconds timeout);

}  // namespace spatial::pipeline

#endif  // SPATIAL_PIPELINE_HTTP_CLIENT_H_
