// HttpGet and HttpPostFile over base::HttpFetch. Thread-safe: no shared
// state.
#include "src/pipeline/http_client.h"

#include "absl/strings/match.h"
#include "absl/time/time.h"

namespace spatial::pipeline {

absl::StatusOr<HttpAnswer> HttpGet(const HttpUrl& url, const std::string& path,
                                   std::chrono::milliseconds timeout) {
  return base::HttpFetch(url.host, url.port, url.path + path,
                         {.timeout = absl::FromChrono(timeout)});
}

absl::StatusOr<HttpAnswer> HttpPostFile(const HttpUrl& url,
                                        const std::string& path,
                                        const std::string& file_name,
                                        const std::string& data,
                                        std::chrono::milliseconds timeout) {
  constexpr char kBoundary[] = "----spatial-pipeline-7d4f1c";
  const char* type =
      absl::EndsWith(file_name, ".png") ? "image/png" : "image/jpeg";
  return base::HttpFetch(url.host, url.port, url.path + path,
                         {.method = "POST",
                          .content_type = base::MultipartContentType(kBoundary),
                          .body = base::MultipartBody({{.name = "file",
                                                        .content_type = type,
                                                        .data = data,
                                                        .filename = file_name}},
                                                      kBoundary),
                          .timeout = absl::FromChrono(timeout)});
}

}  // namespace spatial::pipeline
