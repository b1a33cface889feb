// Helpers of the black-box tests of `spatial serve`: start the real binary on
// 127.0.0.1 port 0 and talk HTTP/1.1 to it (base::HttpFetch). Thread-safe.
#ifndef SPATIAL_TESTS_INTEGRATION_SERVE_CLIENT_H_
#define SPATIAL_TESTS_INTEGRATION_SERVE_CLIENT_H_

#include <sys/types.h>

#include <string>
#include <tuple>
#include <vector>

#include "nlohmann/json.hpp"

namespace spatial::integration {

struct Reply {
  int status = 0;  // 0 when there was no (complete) answer
  std::string headers;
  std::string body;
};

// One request on a fresh connection (Connection: close), bounded by a 30 s
// timeout.
Reply Request(int port, const std::string& method, const std::string& path,
              const std::string& content_type = "",
              const std::string& body = "");

// The same with extra header lines ("Name: value").
Reply RequestWithHeaders(int port, const std::string& method,
                         const std::string& path,
                         const std::vector<std::string>& headers,
                         const std::string& content_type = "",
                         const std::string& body = "");

// The same with "Authorization: Bearer TOKEN" (none when `token` is "").
Reply RequestAs(int port, const std::string& method, const std::string& path,
                const std::string& token, const std::string& body = "",
                const std::string& content_type = "application/json");

// A multipart/form-data body of (field name, content type, data) parts; a
// part with a content type is sent as a file upload. Boundary as in kForm.
std::string Multipart(
    const std::vector<std::tuple<std::string, std::string, std::string>>& parts,
    const std::string& boundary = "SpatialBoundary");
inline const std::string kForm =
    "multipart/form-data; boundary=SpatialBoundary";

// The reply's body as JSON; is_discarded() when it is not JSON.
inline nlohmann::json ParseJsonBody(const Reply& r) {
  return nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
}

struct ServeProcess {
  pid_t pid = -1;
  int port = 0;  // 0 when the server did not come up
};

// Runs `spatial serve --port 0 --address 127.0.0.1 --port-file F <args>` in
// the source directory (so that it finds models/) and waits up to 30 s for
// it to be ready (/v2/health/ready). Never asserts: check `port`
// (SetUpTestSuite must not ASSERT).
ServeProcess StartServe(const std::vector<std::string>& args);

// SIGKILL and reap, if still running. Idempotent.
void KillServe(ServeProcess* server);

}  // namespace spatial::integration

#endif  // SPATIAL_TESTS_INTEGRATION_SERVE_CLIENT_H_
