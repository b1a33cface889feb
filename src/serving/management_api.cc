// ManagementApi's handlers (management_api.h) and Authorize. Thread-safe.
#include "src/serving/management_api.h"

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "src/registry/audit.h"
#include "src/registry/legacy_json.h"
#include "src/serving/http/status_mapping.h"
#include "src/serving/responses.h"

namespace spatial::serving {
namespace {

using Json = nlohmann::json;
using http::HttpRequest;
using http::HttpResponse;

Json EventJson(const registry::DeploymentEvent& e) {
  return {{"seq", e.seq},
          {"environment", e.environment},
          {"version_id", e.version_id},
          {"previous_version_id", e.previous_version_id},
          {"kind", e.kind == registry::DeploymentKind::kPromote ? "promote"
                                                                : "rollback"},
          {"actor", e.actor},
          {"reason", e.reason},
          {"created_at", e.created_at}};
}

// The string `field` of a request body: "" when absent (or null, as JSON
// clients send for "not given"); InvalidArgument naming the field when it is
// of another type, so that a 5 or a [] is a 400, never a thrown type error.
absl::StatusOr<std::string> OptionalString(const Json& body,
                                           const std::string& field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", field, "' must be a string, not ", it->type_name()));
  }
  return it->get<std::string>();
}

// InvalidArgument naming the first field of `body` not in `known`.
absl::Status OnlyFields(const Json& body, const std::vector<std::string>& known,
                        const std::string& what) {
  for (const auto& item : body.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field '", item.key().substr(0, 64), "'; ", what,
                       " takes ", absl::StrJoin(known, ", ")));
    }
  }
  return absl::OkStatus();
}

}  // namespace

AuthResult Authorize(const TokenTable* tokens, const HttpRequest& req,
                     Role role) {
  AuthResult r;
  auto refuse = [&](int status, const std::string& message) {
    r.refusal = Error(status == 401 ? absl::UnauthenticatedError(message)
                                    : absl::PermissionDeniedError(message));
    if (status == 401)
      r.refusal.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  };
  if (tokens == nullptr) {
    return refuse(401,
                  "this server has no tokens file (--tokens-file); nothing "
                  "here is open without one");
  }
  std::string auth = req.Header("authorization");
  if (!absl::StartsWithIgnoreCase(auth, "Bearer ")) {
    return refuse(401, "send Authorization: Bearer <token>");
  }
  auto entry = tokens->Find(std::string(
      absl::StripAsciiWhitespace(absl::string_view(auth).substr(7))));
  if (!entry) return refuse(401, "unknown token");
  if (!RoleAtLeast(entry->role, role)) {
    return refuse(403, absl::StrCat("token '", entry->name, "' has role ",
                                    RoleName(entry->role), "; this needs ",
                                    RoleName(role)));
  }
  r.entry = entry;
  return r;
}

HttpResponse ManagementApi::Serving() const {
  Json serving = Json::object();
  if (options_.manager) {
    auto set = options_.manager->Current();
    if (set->spatial) serving["spatial"] = set->spatial->version;
    if (set->standard) serving["standard"] = set->standard->version;
  }
  return JsonResponse(200, serving);
}

absl::StatusOr<registry::Registry*> ManagementApi::RegistryOr503() {
  if (!options_.service) {
    return absl::UnavailableError(
        "this server runs without a registry (start it with --registry)");
  }
  return &options_.service->registry();
}

void ManagementApi::Reload(const RouteCall&, http::Responder respond) {
  if (!options_.manager)
    return respond(Error(absl::UnavailableError("no model manager")));
  auto swapped = options_.manager->Refresh(/*force=*/true);
  if (!swapped.ok()) return respond(Error(swapped.status()));
  Json j = {{"swapped", *swapped}, {"serving", Json::parse(Serving().body)}};
  respond(JsonResponse(200, j));
}

void ManagementApi::ListModels(const RouteCall&, http::Responder respond) {
  auto reg = RegistryOr503();
  if (!reg.ok()) return respond(Error(reg.status()));
  auto versions = (*reg)->ListVersionSummaries();
  if (!versions.ok()) return respond(Error(versions.status()));
  Json list = Json::array();
  for (const auto& v : *versions) list.push_back(registry::VersionToJson(v));
  Json active = Json::object();
  if (auto envs = (*reg)->ListEnvironments(); envs.ok()) {
    for (const auto& e : *envs) {
      auto a = (*reg)->ActiveVersion(e.name);
      active[e.name] = a.ok() && *a ? Json(**a) : Json(nullptr);
    }
  }
  respond(JsonResponse(200, {{"versions", list}, {"active", active}}));
}

void ManagementApi::GetModel(const RouteCall& call, http::Responder respond) {
  auto reg = RegistryOr503();
  if (!reg.ok()) return respond(Error(reg.status()));
  auto v = (*reg)->GetVersion(call.Param("id"));
  if (!v.ok()) return respond(Error(v.status()));
  respond(JsonResponse(200, registry::VersionToJson(*v)));
}

void ManagementApi::Audit(const RouteCall&, http::Responder respond) {
  auto reg = RegistryOr503();
  if (!reg.ok()) return respond(Error(reg.status()));
  auto records = (*reg)->ListAudit();
  if (!records.ok()) return respond(Error(records.status()));
  Json list = Json::array();
  for (const auto& r : *records) list.push_back(registry::AuditRecordToJson(r));
  respond(JsonResponse(200, {{"records", list}}));
}

void ManagementApi::Promote(const RouteCall& call, http::Responder respond) {
  respond(Deploy(call, /*promote=*/true));
}

void ManagementApi::Rollback(const RouteCall& call, http::Responder respond) {
  respond(Deploy(call, /*promote=*/false));
}

// POST /api/v1/environments/{env}/promote|rollback
HttpResponse ManagementApi::Deploy(const RouteCall& call, bool promote) {
  if (auto reg = RegistryOr503(); !reg.ok()) return Error(reg.status());
  const HttpRequest& req = call.request;
  const std::string caller = call.token ? call.token->name : "";
  Json body = Json::parse(req.body.empty() ? "{}" : req.body, nullptr,
                          /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return Error(absl::InvalidArgumentError("the body must be a JSON object"));
  }
  const std::string env = call.Param("env");
  // Every field is checked before anything changes.
  if (absl::Status s =
          OnlyFields(body,
                     promote ? std::vector<std::string>{"version_id", "reason"}
                             : std::vector<std::string>{"to", "reason"},
                     promote ? "promote" : "rollback");
      !s.ok()) {
    return Error(s);
  }
  auto reason = OptionalString(body, "reason");
  if (!reason.ok()) return Error(reason.status());
  auto target = OptionalString(body, promote ? "version_id" : "to");
  if (!target.ok()) return Error(target.status());
  absl::StatusOr<registry::DeploymentEvent> event;
  if (promote) {
    if (target->empty()) {
      return Error(absl::InvalidArgumentError(
          "promote needs {\"version_id\": \"...\"}"));
    }
    if (env == options_.environment && options_.servable) {
      if (absl::Status s = options_.servable(*target); !s.ok()) {
        return Error(absl::FailedPreconditionError(
            absl::StrCat("not promoting ", *target, " in ", env,
                         ": this server would not load it: ", s.message())));
      }
    }
    event = options_.service->Promote(*target, env, caller, *reason);
  } else {
    event = options_.service->Rollback(env, *target, caller, *reason);
  }
  if (!event.ok()) return Error(event.status());
  Json j = {{"event", EventJson(*event)}};
  // This server's own environment changed: serve it now, not at the next poll.
  if (env == options_.environment && options_.manager) {
    auto swapped = options_.manager->Refresh();
    j["swap"] = swapped.ok() ? Json(*swapped ? "swapped" : "unchanged")
                             : Json(std::string(swapped.status().message()));
    j["serving"] = Json::parse(Serving().body);
  }
  return JsonResponse(200, j);
}

}  // namespace spatial::serving
