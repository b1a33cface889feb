// HttpFetch: the one blocking HTTP/1.1 client of envtest, the pipeline, the
// integration tests and the benchmarks. One request per fresh connection
// (Connection: close), plain http, the whole exchange bounded by one timeout;
// the answer is framed by Content-Length, chunked encoding or the close.
// Errors name the method, host:port and path. The load generator
// (src/loadtest/http) keeps its own non-blocking client. Also the small
// helpers its callers share: http:// URL parsing and multipart/form-data
// bodies. Thread-safe: no shared state.
#ifndef SPATIAL_BASE_HTTP_CLIENT_H_
#define SPATIAL_BASE_HTTP_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace spatial::base {

struct HttpOptions {
  std::string method = "GET";
  std::string content_type;          // sent when non-empty
  std::vector<std::string> headers;  // more "Name: value" lines
  // Sent with a Content-Length, which is also sent for an empty body unless
  // the method is GET or HEAD.
  std::string body;
  // Resolve, connect, send and receive, all told. Default 10 s.
  absl::Duration timeout = absl::Seconds(10);
};

struct HttpReply {
  int status = 0;
  std::string headers;       // status line and header lines, CRLF-separated
  std::string content_type;  // the Content-Type header's value
  std::string body;          // de-chunked
  // A header's value by case-insensitive name; "" when absent.
  std::string Header(absl::string_view name) const;
};

// One request to http://HOST:PORT TARGET (TARGET starts with '/').
// Unavailable when the host cannot be resolved or connected to, the
// connection closes before a complete answer, or the answer is not HTTP;
// DeadlineExceeded when there is no complete answer within the timeout. A
// server that answers before the body is sent (413) and closes is an answer.
absl::StatusOr<HttpReply> HttpFetch(const std::string& host, int port,
                                    absl::string_view target,
                                    const HttpOptions& options = {});
// The same on 127.0.0.1.
inline absl::StatusOr<HttpReply> HttpFetch(int port, absl::string_view target,
                                           const HttpOptions& options = {}) {
  return HttpFetch("127.0.0.1", port, target, options);
}

// http://HOST[:PORT][/PATH], split.
struct HttpUrl {
  std::string host;
  int port = 80;
  std::string path;  // the URL's path without a trailing '/'; "" for none
};
// InvalidArgument naming the URL when it is not of that form.
absl::StatusOr<HttpUrl> ParseHttpUrl(const std::string& url);

// A multipart/form-data body. A part with a content type is sent as a file
// upload (`filename`, "upload" when empty).
struct FormPart {
  std::string name, content_type, data, filename;
};
std::string MultipartBody(const std::vector<FormPart>& parts,
                          absl::string_view boundary);
// "multipart/form-data; boundary=BOUNDARY".
std::string MultipartContentType(absl::string_view boundary);

}  // namespace spatial::base

#endif  // SPATIAL_BASE_HTTP_CLIENT_H_
