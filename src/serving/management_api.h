// ManagementApi: the server's /api/v1 routes, behind bearer tokens.
//   GET  /api/v1/models                          viewer
//   GET  /api/v1/models/{id}                     viewer
//   GET  /api/v1/audit                           viewer
//   POST /api/v1/environments/{env}/promote      deployer
//        {"version_id": "...", "reason"?: "..."}
//   POST /api/v1/environments/{env}/rollback     deployer
//        {"to"?: "...", "reason"?: "..."}
//   POST /api/v1/reload                          deployer
// Roles are ordered (tokens.h): a higher role may do what a lower one may.
// 401 without a token or with an unknown one, 403 when the token's role is
// too low; 400 naming the field for a body field that is unknown or not a
// string (null counts as not given); 409 for a promotion of this server's
// environment to a version it would not load. The token's name is the actor
// recorded in the registry's history and audit log. The routes, their roles and
// their 404 for anything else under /api/v1 are rows of the one route table
// (route_table.cc), which checks the token before a handler runs. Thread-safe
// (the registry serialises its own use).
#ifndef SPATIAL_SERVING_MANAGEMENT_API_H_
#define SPATIAL_SERVING_MANAGEMENT_API_H_

#include <functional>
#include <optional>
#include <string>

#include "src/registry/registry_service.h"
#include "src/serving/http/http_server.h"
#include "src/serving/model_manager.h"
#include "src/serving/route_table.h"
#include "src/serving/tokens.h"

namespace spatial::serving {

// The caller's token entry when it has at least `role`; otherwise the 401 or
// 403 response to send. With no token table every call is refused (401).
struct AuthResult {
  std::optional<TokenEntry> entry;
  http::HttpResponse refusal;
};
AuthResult Authorize(const TokenTable* tokens, const http::HttpRequest& req,
                     Role role);

class ManagementApi {
 public:
  struct Options {
    const TokenTable* tokens = nullptr;            // not owned; null: all 401
    registry::RegistryService* service = nullptr;  // not owned; null: 503
    ModelManager* manager = nullptr;               // not owned
    std::string environment;                       // the server's
    // OK when this server would load the version in its environment (the
    // keys it was given, cli/serve_trust.h): a promotion there that it would
    // refuse is answered 409 before the registry changes. Null: no check.
    std::function<absl::Status(const std::string& version_id)> servable;
  };
  explicit ManagementApi(Options options) : options_(std::move(options)) {}

 private:
  friend class RouteTable;  // the handlers below are its rows'
  // `call.token` is the caller's, checked by the table.
  void ListModels(const RouteCall& call, http::Responder respond);
  void GetModel(const RouteCall& call, http::Responder respond);
  void Audit(const RouteCall& call, http::Responder respond);
  void Promote(const RouteCall& call, http::Responder respond);
  void Rollback(const RouteCall& call, http::Responder respond);
  void Reload(const RouteCall& call, http::Responder respond);
  // Promote or roll back call.Param("env").
  http::HttpResponse Deploy(const RouteCall& call, bool promote);
  // The registry, or the 503 of a server without one.
  absl::StatusOr<registry::Registry*> RegistryOr503();
  http::HttpResponse Serving() const;

  Options options_;
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_MANAGEMENT_API_H_
