// RouteTable: the one list of pizza-api-spatial's endpoints (route_table.cc).
// Each row is method, path pattern, who may call it, metrics label -> the
// handler that answers it; dispatch, access checks, 404/405 and the metrics
// labels all read that list and nothing else. To find an endpoint's handler,
// look up its row.
//
// Patterns: literal segments; {name} is one non-empty segment (handed to the
// handler in RouteCall::params); a final * is the rest of the path (at least
// one segment, maybe empty). Paths under /api/v1/ ignore empty segments
// ("/api/v1//models/" is "/api/v1/models").
//
// Rules beyond the rows, in one place (Dispatch):
//   - no row for the path: 404 "no endpoint PATH" (under /api/v1: "no
//     management endpoint METHOD PATH");
//   - a row for the path but not for the method: 405 naming the method(s) to
//     use, except under /api/v1, where it is the 404 above. A read (GET) row's
//     access guards every method on its path: a caller without the token
//     learns nothing, not even which methods exist; a write row checks access
//     for its own method only;
//   - the access check runs before the handler sees anything of the request.
// Thread-safe: the table is immutable; Dispatch keeps no state.
#ifndef SPATIAL_SERVING_ROUTE_TABLE_H_
#define SPATIAL_SERVING_ROUTE_TABLE_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "src/serving/http/http_server.h"
#include "src/serving/tokens.h"

namespace spatial::serving {

class PizzaApi;
class OipApi;
class ManagementApi;
class ConsoleApi;

// Who may call a route.
enum class Access {
  kOpen,
  // A viewer token when the server runs with --require-token (inference,
  // /status, visualizations).
  kViewerIfRequireToken,
  // A labeler token where FeedbackNeedsToken() says so (POST /feedback).
  kLabelerIfFeedbackNeedsToken,
  kViewer,    // always a viewer token (/api/v1 reads)
  kDeployer,  // always a deployer token (/api/v1 changes)
};

// What access needs to know of the server.
struct AccessPolicy {
  const TokenTable* tokens = nullptr;  // not owned; null: every token is 401
  bool require_token = false;
  bool feedback_needs_token = false;
};

// What a handler gets besides its responder.
struct RouteCall {
  const http::HttpRequest& request;
  std::map<std::string, std::string> params;  // the pattern's {name}s
  // The caller's token, where the route's access checked one.
  std::optional<TokenEntry> token;
  // The param `name`, "" when the pattern has none of that name.
  std::string Param(const std::string& name) const;
};

// The APIs whose methods answer the rows; a null one's rows are not served.
struct Apis {
  PizzaApi* pizza = nullptr;
  const OipApi* oip = nullptr;
  ManagementApi* management = nullptr;
  ConsoleApi* console = nullptr;  // the operator console (console/)
};

struct Route {
  enum class Owner { kPizza, kOip, kManagement, kConsole };
  using Handler = void (*)(const Apis&, const RouteCall&, http::Responder);
  const char* method;   // "GET" (answers HEAD too) or "POST"
  const char* pattern;  // see above
  Access access;
  const char* label;  // the metrics label (fixed: never the raw path)
  Owner owner;
  Handler handler;
  bool listed;  // named in GET /'s "endpoints"
};

class RouteTable {
 public:
  // The rows, in the order GET / lists them.
  static const std::vector<Route>& All();

  // Answers `request` by its row (consuming `respond`) and returns true.
  // With no row for the path among `apis`' returns false and leaves `respond`
  // alone, unless `not_found_is_404`: then answers 404 and returns true.
  static bool Dispatch(const Apis& apis, const AccessPolicy& policy,
                       const http::HttpRequest& request,
                       http::Responder& respond, bool not_found_is_404);

  // The metrics label of a path, whatever the method: its row's, else
  // "/api/v1/other" under /api/v1/, else "other" (a scan of random paths
  // cannot grow the label set).
  static std::string Label(const std::string& path);
  // The label among `owner`'s rows only; "" when none has the path.
  static std::string Label(const std::string& path, Route::Owner owner);

  // The patterns GET / lists.
  static std::vector<std::string> Listed();
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_ROUTE_TABLE_H_
