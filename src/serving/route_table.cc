// The route table of pizza-api-spatial (the list itself is All(), below) and
// the dispatch over it. Thread-safe: the rows are built once, immutable.
#include "src/serving/route_table.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "src/serving/console/console_api.h"
#include "src/serving/management_api.h"
#include "src/serving/oip.h"
#include "src/serving/pizza_api.h"
#include "src/serving/responses.h"

namespace spatial::serving {
namespace {

using http::HttpRequest;
using Owner = Route::Owner;

// A member function of one of the APIs as a row's handler.
template <auto kMember>
void OnPizza(const Apis& a, const RouteCall& c, http::Responder r) {
  (a.pizza->*kMember)(c, std::move(r));
}
template <auto kMember>
void OnOip(const Apis& a, const RouteCall& c, http::Responder r) {
  (a.oip->*kMember)(c, std::move(r));
}
template <auto kMember>
void OnManagement(const Apis& a, const RouteCall& c, http::Responder r) {
  (a.management->*kMember)(c, std::move(r));
}
template <auto kMember>
void OnConsole(const Apis& a, const RouteCall& c, http::Responder r) {
  (a.console->*kMember)(c, std::move(r));
}

constexpr Access kOpen = Access::kOpen;
constexpr Access kViewerIfRequired = Access::kViewerIfRequireToken;

bool IsManagementPath(const std::string& path) {
  return path == "/api/v1" || absl::StartsWith(path, "/api/v1/");
}

// The path's segments after the leading '/'; under /api/v1/ without the
// empty ones.
std::vector<std::string> Segments(const std::string& path) {
  absl::string_view p = path;
  absl::ConsumePrefix(&p, "/");
  if (IsManagementPath(path)) return absl::StrSplit(p, '/', absl::SkipEmpty());
  return absl::StrSplit(p, '/');
}

// Whether `path` fits `pattern`; its {name}s into `params`.
bool Matches(const char* pattern, const std::vector<std::string>& path,
             std::map<std::string, std::string>* params) {
  std::vector<std::string> want = Segments(pattern);
  params->clear();
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "*" && i + 1 == want.size()) return i < path.size();
    if (i >= path.size()) return false;
    if (want[i].size() > 2 && want[i].front() == '{' && want[i].back() == '}') {
      if (path[i].empty()) return false;
      (*params)[want[i].substr(1, want[i].size() - 2)] = path[i];
    } else if (want[i] != path[i]) {
      return false;
    }
  }
  return want.size() == path.size();
}

bool MethodFits(const Route& r, const std::string& method) {
  return method == r.method ||
         (std::string(r.method) == "GET" && method == "HEAD");
}

bool Served(const Apis& apis, const Route& r) {
  switch (r.owner) {
    case Owner::kPizza:
      return apis.pizza != nullptr;
    case Owner::kOip:
      return apis.oip != nullptr;
    case Owner::kManagement:
      return apis.management != nullptr;
    case Owner::kConsole:
      return apis.console != nullptr;
  }
  return false;
}

// The caller's token when `access` lets the request through (nullopt inside
// for an open route); otherwise the refusal.
struct Admission {
  std::optional<TokenEntry> token;
  std::optional<http::HttpResponse> refusal;
};
Admission Admit(Access access, const AccessPolicy& policy,
                const HttpRequest& req) {
  std::optional<Role> role;
  switch (access) {
    case Access::kOpen:
      break;
    case Access::kViewerIfRequireToken:
      if (policy.require_token) role = Role::kViewer;
      break;
    case Access::kLabelerIfFeedbackNeedsToken:
      if (policy.feedback_needs_token) role = Role::kLabeler;
      break;
    case Access::kViewer:
      role = Role::kViewer;
      break;
    case Access::kDeployer:
      role = Role::kDeployer;
      break;
  }
  Admission a;
  if (!role) return a;
  AuthResult auth = Authorize(policy.tokens, req, *role);
  if (!auth.entry) {
    a.refusal = std::move(auth.refusal);
  } else {
    a.token = std::move(auth.entry);
  }
  return a;
}

http::HttpResponse NoManagementEndpoint(const HttpRequest& req) {
  return Error(absl::NotFoundError(absl::StrCat(
      "no management endpoint ", req.method, " ", req.path.substr(0, 200))));
}

}  // namespace

std::string RouteCall::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

// THE LIST. Every endpoint of the server is one row here (two where a
// pattern has an optional part); nothing else names a path.
const std::vector<Route>& RouteTable::All() {
  static const std::vector<Route>* rows = new std::vector<Route>{
      // clang-format off
      // method  pattern  access  metrics label  owner  handler  listed in GET /
      {"GET", "/", kOpen, "/", Owner::kPizza, OnPizza<&PizzaApi::Index>, false},
      {"GET", "/health", kOpen, "/health", Owner::kPizza, OnPizza<&PizzaApi::Health>, true},
      {"GET", "/status", kViewerIfRequired, "/status", Owner::kPizza, OnPizza<&PizzaApi::ServerStatus>, true},
      {"GET", "/metrics", kOpen, "/metrics", Owner::kPizza, OnPizza<&PizzaApi::MetricsText>, true},
      {"POST", "/classify", kViewerIfRequired, "/classify", Owner::kPizza, OnPizza<&PizzaApi::Classify>, true},
      {"POST", "/predict/spatial", kViewerIfRequired, "/predict/spatial", Owner::kPizza, OnPizza<&PizzaApi::PredictSpatial>, true},
      {"POST", "/predict/standard", kViewerIfRequired, "/predict/standard", Owner::kPizza, OnPizza<&PizzaApi::PredictStandard>, true},
      {"POST", "/feedback", Access::kLabelerIfFeedbackNeedsToken, "/feedback", Owner::kPizza, OnPizza<&PizzaApi::Feedback>, true},
      {"POST", "/ab-test/compare", kViewerIfRequired, "/ab-test/compare", Owner::kPizza, OnPizza<&PizzaApi::Compare>, true},
      {"GET", "/ab-test/status", kViewerIfRequired, "/ab-test/status", Owner::kPizza, OnPizza<&PizzaApi::AbTestStatus>, true},
      {"GET", "/visualizations/*", kViewerIfRequired, "/visualizations", Owner::kPizza, OnPizza<&PizzaApi::Visualization>, false},
      // Open Inference Protocol v2 (oip.h)
      {"GET", "/v2", kOpen, "/v2", Owner::kOip, OnOip<&OipApi::ServerMetadata>, true},
      {"GET", "/v2/", kOpen, "/v2", Owner::kOip, OnOip<&OipApi::ServerMetadata>, false},
      {"GET", "/v2/health/live", kOpen, "/v2/health/live", Owner::kOip, OnOip<&OipApi::Live>, true},
      {"GET", "/v2/health/ready", kOpen, "/v2/health/ready", Owner::kOip, OnOip<&OipApi::Ready>, true},
      {"GET", "/v2/models/{name}", kOpen, "/v2/models/metadata", Owner::kOip, OnOip<&OipApi::ModelMetadata>, true},
      {"GET", "/v2/models/{name}/versions/{version}", kOpen, "/v2/models/metadata", Owner::kOip, OnOip<&OipApi::ModelMetadata>, false},
      {"GET", "/v2/models/{name}/ready", kOpen, "/v2/models/ready", Owner::kOip, OnOip<&OipApi::ModelReady>, true},
      {"GET", "/v2/models/{name}/versions/{version}/ready", kOpen, "/v2/models/ready", Owner::kOip, OnOip<&OipApi::ModelReady>, false},
      {"POST", "/v2/models/{name}/infer", kViewerIfRequired, "/v2/models/infer", Owner::kOip, OnOip<&OipApi::Infer>, true},
      {"POST", "/v2/models/{name}/versions/{version}/infer", kViewerIfRequired, "/v2/models/infer", Owner::kOip, OnOip<&OipApi::Infer>, false},
      {"POST", "/v2/repository/index", kOpen, "/v2/repository/index", Owner::kOip, OnOip<&OipApi::RepositoryIndex>, false},
      // Management (management_api.h)
      {"GET", "/api/v1/models", Access::kViewer, "/api/v1/models", Owner::kManagement, OnManagement<&ManagementApi::ListModels>, false},
      {"GET", "/api/v1/models/{id}", Access::kViewer, "/api/v1/models/id", Owner::kManagement, OnManagement<&ManagementApi::GetModel>, false},
      {"GET", "/api/v1/audit", Access::kViewer, "/api/v1/audit", Owner::kManagement, OnManagement<&ManagementApi::Audit>, false},
      {"POST", "/api/v1/environments/{env}/promote", Access::kDeployer, "/api/v1/environments/promote", Owner::kManagement, OnManagement<&ManagementApi::Promote>, false},
      {"POST", "/api/v1/environments/{env}/rollback", Access::kDeployer, "/api/v1/environments/rollback", Owner::kManagement, OnManagement<&ManagementApi::Rollback>, false},
      {"POST", "/api/v1/reload", Access::kDeployer, "/api/v1/reload", Owner::kManagement, OnManagement<&ManagementApi::Reload>, false},
      // The operator console (console/console_api.h): the page is open, its
      // data needs a viewer token; its actions are the rows above.
      {"GET", "/console", kOpen, "/console", Owner::kConsole, OnConsole<&ConsoleApi::Page>, false},
      {"GET", "/console/", kOpen, "/console", Owner::kConsole, OnConsole<&ConsoleApi::Page>, false},
      {"GET", "/console/assets/{name}", kOpen, "/console/assets", Owner::kConsole, OnConsole<&ConsoleApi::Asset>, false},
      {"GET", "/console/api/session", Access::kViewer, "/console/api/session", Owner::kConsole, OnConsole<&ConsoleApi::Session>, false},
      {"GET", "/console/api/environments", Access::kViewer, "/console/api/environments", Owner::kConsole, OnConsole<&ConsoleApi::Environments>, false},
      {"GET", "/console/api/environments/{env}/rollback-plan", Access::kViewer, "/console/api/rollback-plan", Owner::kConsole, OnConsole<&ConsoleApi::RollbackPlan>, false},
      {"GET", "/console/api/versions", Access::kViewer, "/console/api/versions", Owner::kConsole, OnConsole<&ConsoleApi::Versions>, false},
      {"GET", "/console/api/versions/{id}", Access::kViewer, "/console/api/versions/id", Owner::kConsole, OnConsole<&ConsoleApi::Version>, false},
      {"GET", "/console/api/audit", Access::kViewer, "/console/api/audit", Owner::kConsole, OnConsole<&ConsoleApi::Audit>, false},
      {"GET", "/console/api/audit/verify", Access::kViewer, "/console/api/audit/verify", Owner::kConsole, OnConsole<&ConsoleApi::AuditVerify>, false},
      {"GET", "/console/api/runs", Access::kViewer, "/console/api/runs", Owner::kConsole, OnConsole<&ConsoleApi::Runs>, false},
      {"GET", "/console/api/runs/{run}/*", Access::kViewer, "/console/api/runs/file", Owner::kConsole, OnConsole<&ConsoleApi::RunFile>, false},
      // clang-format on
  };
  return *rows;
}

bool RouteTable::Dispatch(const Apis& apis, const AccessPolicy& policy,
                          const HttpRequest& req, http::Responder& respond,
                          bool not_found_is_404) {
  const std::vector<std::string> path = Segments(req.path);
  const bool management = apis.management && IsManagementPath(req.path);
  // The rows for the path (any method), and the one for the method too.
  std::vector<const Route*> for_path;
  const Route* route = nullptr;
  RouteCall call{.request = req};
  std::map<std::string, std::string> params;
  for (const Route& r : All()) {
    if (!Served(apis, r) || !Matches(r.pattern, path, &params)) continue;
    for_path.push_back(&r);
    if (!route && MethodFits(r, req.method)) {
      route = &r;
      call.params = params;
    }
  }
  if (for_path.empty() && !management && !not_found_is_404) return false;
  http::Responder reply = std::move(respond);
  if (for_path.empty() || (!route && management)) {
    reply(management ? NoManagementEndpoint(req)
                     : Error(absl::NotFoundError(absl::StrCat(
                           "no endpoint ", req.path.substr(0, 200)))));
    return true;
  }
  if (!route) {
    // A read's token guards every method on its path.
    const Route& r = *for_path.front();
    if (std::string(r.method) == "GET") {
      Admission a = Admit(r.access, policy, req);
      if (a.refusal) {
        reply(std::move(*a.refusal));
        return true;
      }
    }
    std::vector<std::string> methods;
    for (const Route* p : for_path) methods.push_back(p->method);
    reply(Error(absl::UnimplementedError(absl::StrCat(
        "method ", req.method.substr(0, 16), " is not allowed on ",
        req.path.substr(0, 200), "; use ", absl::StrJoin(methods, " or ")))));
    return true;
  }
  Admission a = Admit(route->access, policy, req);
  if (a.refusal) {
    reply(std::move(*a.refusal));
    return true;
  }
  call.token = std::move(a.token);
  route->handler(apis, call, std::move(reply));
  return true;
}

std::string RouteTable::Label(const std::string& path, Route::Owner owner) {
  const std::vector<std::string> segments = Segments(path);
  std::map<std::string, std::string> params;
  for (const Route& r : All()) {
    if (r.owner == owner && Matches(r.pattern, segments, &params))
      return r.label;
  }
  return "";
}

std::string RouteTable::Label(const std::string& path) {
  for (Owner o :
       {Owner::kPizza, Owner::kOip, Owner::kManagement, Owner::kConsole}) {
    if (std::string l = Label(path, o); !l.empty()) return l;
  }
  return absl::StartsWith(path, "/api/v1/") ? "/api/v1/other" : "other";
}

std::vector<std::string> RouteTable::Listed() {
  std::vector<std::string> out;
  for (const Route& r : All()) {
    if (r.listed) out.push_back(r.pattern);
  }
  return out;
}

}  // namespace spatial::serving
