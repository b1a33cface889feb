// ConsoleApi's page, assets and registry views (console_api.h); the pipeline
// runs are in console_runs.cc. Thread-safe.
#include "src/serving/console/console_api.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "src/registry/audit.h"
#include "src/registry/legacy_json.h"
#include "src/serving/console/console_assets.h"
#include "src/serving/console/console_query.h"
#include "src/serving/responses.h"

namespace spatial::serving {
namespace {

using Json = nlohmann::json;
using http::HttpResponse;

// The page's own origin only: no CDN, no third-party request can load, and
// the page cannot be framed by another site. Inline style is allowed for the
// pipeline's HTML report, shown in a sandboxed frame (no script runs there).
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-src blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string ContentType(const std::string& name) {
  if (absl::EndsWith(name, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(name, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(name, ".css")) return "text/css; charset=utf-8";
  if (absl::EndsWith(name, ".svg")) return "image/svg+xml";
  if (absl::EndsWith(name, ".png")) return "image/png";
  return "application/octet-stream";
}

const console::EmbeddedAsset* FindAsset(const std::string& name) {
  for (const auto& a : console::EmbeddedAssets()) {
    if (name == a.name) return &a;
  }
  return nullptr;
}

HttpResponse AssetResponse(const console::EmbeddedAsset& a) {
  HttpResponse r;
  r.content_type = ContentType(a.name);
  r.body.assign(reinterpret_cast<const char*>(a.data), a.size);
  r.headers = {{"Content-Security-Policy", kContentSecurityPolicy},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-cache"}};
  return r;
}

Json EventJson(const registry::DeploymentEvent& e) {
  return {{"seq", e.seq},
          {"environment", e.environment},
          {"version_id", e.version_id},
          {"previous_version_id", e.previous_version_id},
          {"kind", std::string(registry::ToString(e.kind))},
          {"actor", e.actor},
          {"reason", e.reason},
          {"created_at", e.created_at}};
}

// The ids of an environment's trusted keys ([] when it trusts none).
Json TrustedKeyIds(const registry::Environment& env) {
  Json ids = Json::array();
  auto it = env.extra.find("trusted_keys");
  if (it == env.extra.end() || !it->is_array()) return ids;
  for (const auto& k : *it) {
    if (k.is_object() && k.contains("id") && k["id"].is_string())
      ids.push_back(k["id"]);
  }
  return ids;
}

Json EnvironmentJson(const registry::Environment& env) {
  Json requirements = Json::object();
  if (env.min_accuracy) requirements["accuracy"] = *env.min_accuracy;
  if (env.max_inference_time_ms)
    requirements["inference_time_ms"] = *env.max_inference_time_ms;
  return {{"name", env.name},
          {"supported_architectures", env.supported_architectures},
          {"requires_signature", env.requires_signature()},
          {"gpu_required", env.gpu_required()},
          {"trusted_keys", TrustedKeyIds(env)},
          {"performance_requirements", requirements}};
}

// What a row of the versions table shows.
Json SummaryJson(const registry::ModelVersion& v,
                 const std::map<std::string, std::string>& active_in) {
  Json active = Json::array();
  for (const auto& [env, id] : active_in) {
    if (id == v.version_id) active.push_back(env);
  }
  Json accuracy = nullptr;
  if (auto it = v.performance_metrics.find("accuracy");
      it != v.performance_metrics.end())
    accuracy = it->second;
  return {{"version_id", v.version_id},
          {"model_type", v.model_type},
          {"architecture", v.architecture},
          {"creation_date", v.creation_date},
          {"validation_status", std::string(ToString(v.validation_status))},
          {"deployment_environments", v.deployment_environments},
          {"declared_accuracy", accuracy},
          {"size_mb", v.size_mb()},
          {"active_in", active}};
}

}  // namespace

absl::StatusOr<registry::Registry*> ConsoleApi::RegistryOr503() {
  if (!options_.service) {
    return absl::UnavailableError(
        "this server runs without a registry (start it with --registry); the "
        "console shows a registry's versions");
  }
  return &options_.service->registry();
}

void ConsoleApi::Page(const RouteCall&, http::Responder respond) {
  const console::EmbeddedAsset* page = FindAsset("index.html");
  if (!page) return respond(Error(absl::InternalError("no console page")));
  respond(AssetResponse(*page));
}

void ConsoleApi::Asset(const RouteCall& call, http::Responder respond) {
  const std::string name = call.Param("name");
  const console::EmbeddedAsset* a = FindAsset(name);
  // index.html only at /console, so that the page has one address.
  if (!a || name == "index.html") {
    return respond(Error(absl::NotFoundError(
        absl::StrCat("no console asset '", name.substr(0, 64), "'"))));
  }
  respond(AssetResponse(*a));
}

void ConsoleApi::Session(const RouteCall& call, http::Responder respond) {
  const Role role = call.token ? call.token->role : Role::kViewer;
  Json j = {{"name", call.token ? call.token->name : ""},
            {"role", RoleName(role)},
            {"can_deploy", RoleAtLeast(role, Role::kDeployer)},
            {"serving", !options_.environment.empty()},
            {"environment", options_.environment.empty()
                                ? Json(nullptr)
                                : Json(options_.environment)},
            {"registry", options_.service
                             ? Json(options_.service->registry().Describe())
                             : Json(nullptr)}};
  respond(JsonResponse(200, j));
}

void ConsoleApi::Environments(const RouteCall&, http::Responder respond) {
  auto reg = RegistryOr503();
  if (!reg.ok()) return respond(Error(reg.status()));
  auto envs = (*reg)->ListEnvironments();
  if (!envs.ok()) return respond(Error(envs.status()));
  // The most recent changes of each environment; the rest are in the audit
  // log and `spatial model history`.
  constexpr size_t kHistoryShown = 25;
  Json list = Json::array();
  for (const auto& env : *envs) {
    Json e = EnvironmentJson(env);
    auto active = (*reg)->ActiveVersion(env.name);
    if (!active.ok()) return respond(Error(active.status()));
    e["active"] = *active ? Json(**active) : Json(nullptr);
    auto history = (*reg)->History(env.name);
    if (!history.ok()) return respond(Error(history.status()));
    Json h = Json::array();
    for (auto it = history->rbegin();
         it != history->rend() && h.size() < kHistoryShown; ++it)
      h.push_back(EventJson(*it));
    e["history"] = h;
    e["history_total"] = history->size();
    e["served_here"] = env.name == options_.environment;
    list.push_back(e);
  }
  respond(JsonResponse(200, {{"environments", list}}));
}

void ConsoleApi::RollbackPlan(const RouteCall& call, http::Responder respond) {
  if (auto reg = RegistryOr503(); !reg.ok())
    return respond(Error(reg.status()));
  auto plan = options_.service->PlanRollback(call.Param("env"));
  if (!plan.ok()) return respond(Error(plan.status()));
  Json candidates = Json::array();
  for (const auto& c : plan->candidates) {
    candidates.push_back(
        {{"version_id", c.version_id}, {"last_active_at", c.last_active_at}});
  }
  respond(JsonResponse(
      200, {{"environment", plan->environment},
            {"active_version", plan->active_version},
            {"candidates", candidates},
            {"target", plan->candidates.empty()
                           ? Json(nullptr)
                           : Json(plan->candidates.front().version_id)}}));
}

void ConsoleApi::Versions(const RouteCall& call, http::Responder respond) {
  auto reg = RegistryOr503();
  if (!reg.ok()) return respond(Error(reg.status()));
  auto page = ParsePageQuery(call.request.query, kDefaultPage, kMaxPage);
  if (!page.ok()) return respond(Error(page.status()));
  // Ids only for the whole registry; full rows for the page alone.
  auto ids = (*reg)->ListVersionIds();
  if (!ids.ok()) return respond(Error(ids.status()));
  const std::string q = absl::AsciiStrToLower(page->q);
  std::vector<std::string> matching;
  matching.reserve(ids->size());
  for (auto it = ids->rbegin(); it != ids->rend(); ++it) {
    if (q.empty() || absl::StrContains(absl::AsciiStrToLower(*it), q))
      matching.push_back(*it);
  }
  std::map<std::string, std::string> active_in;
  if (auto envs = (*reg)->ListEnvironments(); envs.ok()) {
    for (const auto& e : *envs) {
      auto a = (*reg)->ActiveVersion(e.name);
      if (a.ok() && *a) active_in[e.name] = **a;
    }
  }
  Json rows = Json::array();
  for (size_t i = page->offset;
       i < matching.size() && i < page->offset + page->limit; ++i) {
    auto v = (*reg)->GetVersion(matching[i]);
    if (!v.ok()) return respond(Error(v.status()));
    rows.push_back(SummaryJson(*v, active_in));
  }
  respond(JsonResponse(200, {{"total", matching.size()},
                             {"registry_total", ids->size()},
                             {"offset", page->offset},
                             {"limit", page->limit},
                             {"q", page->q},
                             {"versions", rows}}));
}

void ConsoleApi::Version(const RouteCall& call, http::Responder respond) {
  auto reg = RegistryOr503();
  if (!reg.ok()) return respond(Error(reg.status()));
  auto v = (*reg)->GetVersion(call.Param("id"));
  if (!v.ok()) return respond(Error(v.status()));
  auto validations = (*reg)->ListValidations(v->version_id);
  if (!validations.ok()) return respond(Error(validations.status()));
  auto signatures = (*reg)->ListSignatures(v->version_id);
  if (!signatures.ok()) return respond(Error(signatures.status()));
  auto envs = (*reg)->ListEnvironments();
  if (!envs.ok()) return respond(Error(envs.status()));
  auto history = (*reg)->History("");
  if (!history.ok()) return respond(Error(history.status()));

  Json j = {{"version", registry::VersionToJson(*v)}};
  Json vals = Json::array();
  for (const auto& r : *validations) {
    vals.push_back({{"environment", r.environment},
                    {"valid", r.valid},
                    {"actor", r.actor},
                    {"validated_at", r.validated_at},
                    {"override_reason", r.override_reason},
                    {"result", r.result}});
  }
  j["validations"] = vals;
  // Which environments trust each signature's key.
  Json sigs = Json::array();
  for (const auto& s : *signatures) {
    Json trusted_by = Json::array();
    for (const auto& e : *envs) {
      Json ids = TrustedKeyIds(e);
      if (std::find(ids.begin(), ids.end(), Json(s.key_id)) != ids.end())
        trusted_by.push_back(e.name);
    }
    sigs.push_back({{"key_id", s.key_id},
                    {"actor", s.actor},
                    {"signed_at", s.signed_at},
                    {"trusted_by", trusted_by}});
  }
  j["signatures"] = sigs;
  Json environments = Json::array();
  for (const auto& e : *envs) {
    Json ej = EnvironmentJson(e);
    auto a = (*reg)->ActiveVersion(e.name);
    ej["active"] = a.ok() && *a ? Json(**a) : Json(nullptr);
    environments.push_back(ej);
  }
  j["environments"] = environments;
  // Lineage: where the version came from, what it was trained with, and
  // every deployment that made it or unmade it active.
  Json deployments = Json::array();
  for (const auto& e : *history) {
    if (e.version_id == v->version_id || e.previous_version_id == v->version_id)
      deployments.push_back(EventJson(e));
  }
  j["lineage"] = {{"file_path", v->file_path},
                  {"creation_date", v->creation_date},
                  {"registered_by", v->actor},
                  {"checksum", v->checksum},
                  {"training_config", v->training_config},
                  {"parent", v->training_config.value("parent", Json())},
                  {"tags", v->tags},
                  {"deployments", deployments}};
  respond(JsonResponse(200, j));
}

void ConsoleApi::Audit(const RouteCall& call, http::Responder respond) {
  auto reg = RegistryOr503();
  if (!reg.ok()) return respond(Error(reg.status()));
  auto page = ParsePageQuery(call.request.query, kDefaultPage, kMaxPage);
  if (!page.ok()) return respond(Error(page.status()));
  auto records = (*reg)->ListAuditPage(page->offset, page->limit);
  if (!records.ok()) return respond(Error(records.status()));
  Json rows = Json::array();
  for (const auto& r : records->records)
    rows.push_back(registry::AuditRecordToJson(r));
  respond(JsonResponse(200, {{"total", records->total},
                             {"offset", page->offset},
                             {"limit", page->limit},
                             {"records", rows}}));
}

void ConsoleApi::AuditVerify(const RouteCall&, http::Responder respond) {
  auto reg = RegistryOr503();
  if (!reg.ok()) return respond(Error(reg.status()));
  auto records = (*reg)->ListAudit();
  if (!records.ok()) return respond(Error(records.status()));
  registry::AuditCheck check = registry::VerifyAuditChain(*records);
  respond(JsonResponse(
      200,
      {{"records", check.records},
       {"ok", !check.broken_seq.has_value()},
       {"broken_seq",
        check.broken_seq ? Json(*check.broken_seq) : Json(nullptr)},
       {"problem", check.problem},
       {"head", check.head},
       {"checked", "the hash chain of every record"},
       {"more",
        "`spatial audit verify` also checks the registry's rows against the "
        "log and the signed checkpoints"}}));
}

}  // namespace spatial::serving
