// Fetch: one blocking HTTP/1.1 request to 127.0.0.1:PORT on a fresh
// connection (Connection: close), bounded by a timeout. What envtest's API and
// classification tests use to talk to a server; the load test uses the load
// generator instead. Thread-safe (no shared state).
#ifndef SPATIAL_ENVTEST_HTTP_CLIENT_H_
#define SPATIAL_ENVTEST_HTTP_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace spatial::envtest {

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

struct FetchOptions {
  std::string method = "GET";
  std::string content_type;  // sent when non-empty
  std::string body;
  absl::Duration timeout = absl::Seconds(10);
};

// Unavailable when no connection can be made or no complete answer arrives in
// time; the server may answer before the body is sent (413) and close.
absl::StatusOr<HttpReply> Fetch(int port, absl::string_view path,
                                const FetchOptions& options = {});

// A multipart/form-data upload. Each part is (name, content type, data); a
// part with a content type is sent as a file.
struct FormPart {
  std::string name, content_type, data;
};
std::string MultipartForm(const std::vector<FormPart>& parts,
                          absl::string_view boundary);
inline constexpr char kFormBoundary[] = "SpatialEnvtestBoundary7f3a";
inline constexpr char kFormContentType[] =
    "multipart/form-data; boundary=SpatialEnvtestBoundary7f3a";

}  // namespace spatial::envtest

#endif  // SPATIAL_ENVTEST_HTTP_CLIENT_H_
