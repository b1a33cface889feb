// `spatial model status`; see cli/model_status.h.
#include "cli/model_status.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/model_output.h"
#include "src/base/status_macros.h"
#include "src/registry/measurement.h"
#include "src/security/policy.h"

namespace spatial::cli {
namespace {

using registry::Json;

// development, staging, production first, then the others by name.
int Rank(const std::string& name) {
  return name == "development"  ? 0
         : name == "staging"    ? 1
         : name == "production" ? 2
                                : 3;
}

Json ValidationJson(const std::vector<registry::ValidationRecord>& records,
                    const std::string& environment) {
  for (const auto& r : records) {
    if (r.environment != environment) continue;
    return {{"valid", r.valid},
            {"imported", registry::IsImportedValidation(r.result)},
            {"validated_at", r.validated_at},
            {"validated_by", r.actor},
            {"override_reason", r.override_reason}};
  }
  return nullptr;
}

// "verified" / "failed" where the environment requires a signature (checked
// now, on the stored files), else "signed" / "unsigned".
Json SignatureJson(RegistryContext& ctx, const registry::ModelVersion& v,
                   const registry::Environment& env,
                   const std::vector<registry::StoredSignature>& sigs) {
  Json keys = Json::array();
  for (const auto& s : sigs) keys.push_back(s.key_id);
  Json j = {{"required", env.requires_signature()}, {"key_ids", keys}};
  if (env.requires_signature()) {
    absl::Status s =
        security::CheckSigned(*ctx.registry, ctx.service->store(), v, env);
    j["state"] = s.ok() ? "verified" : "failed";
    j["message"] = s.ok() ? "" : std::string(s.message());
  } else {
    j["state"] = sigs.empty() ? "unsigned" : "signed";
    j["message"] = "";
  }
  return j;
}

absl::StatusOr<Json> EnvironmentStatus(RegistryContext& ctx,
                                       const registry::Environment& env) {
  Json j = {{"environment", env.name}, {"active_version", nullptr}};
  ASSIGN_OR_RETURN(auto active, ctx.registry->ActiveVersion(env.name));
  if (!active) return j;
  j["active_version"] = *active;
  ASSIGN_OR_RETURN(auto history, ctx.registry->History(env.name));
  // The change that made it active: the newest event naming it.
  auto it = std::find_if(history.rbegin(), history.rend(),
                         [&](const registry::DeploymentEvent& e) {
                           return e.version_id == *active;
                         });
  if (it != history.rend()) {
    j["since"] = it->created_at;
    j["by"] = it->actor;
    j["kind"] = std::string(registry::ToString(it->kind));
    j["reason"] = it->reason;
    j["previous_version"] = it->previous_version_id;
    j["seq"] = it->seq;
  }
  ASSIGN_OR_RETURN(auto v, ctx.registry->GetVersion(*active));
  ASSIGN_OR_RETURN(auto validations, ctx.registry->ListValidations(*active));
  j["validation"] = ValidationJson(validations, env.name);
  ASSIGN_OR_RETURN(auto sigs, ctx.registry->ListSignatures(*active));
  j["signature"] = SignatureJson(ctx, v, env, sigs);
  return j;
}

std::string ValidationCell(const Json& v) {
  if (!v.is_object()) return "none";
  std::string out = v.value("valid", false) ? "valid" : "INVALID";
  if (v.value("imported", false)) out += " (imported)";
  if (!v.value("override_reason", "").empty()) out += " (cpu override)";
  return out;
}

std::string SignatureCell(const Json& s) {
  if (!s.is_object()) return "-";
  const std::string state = s.value("state", "");
  std::string out = state == "failed" ? "FAILED" : state;
  if (!s["key_ids"].empty()) {
    std::vector<std::string> keys = s["key_ids"];
    absl::StrAppend(&out, " by ", absl::StrJoin(keys, ","));
  }
  absl::StrAppend(&out,
                  s.value("required", false) ? " (required)" : " (optional)");
  if (state == "failed") absl::StrAppend(&out, ": ", s.value("message", ""));
  return out;
}

std::string Cell(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string() || it->get<std::string>().empty())
    return "-";
  return it->get<std::string>();
}

}  // namespace

CommandResult RunInit(const ModelFlags&, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(auto envs, ctx.registry->ListEnvironments());
  ASSIGN_OR_RETURN(auto ids, ctx.registry->ListVersionIds());
  std::vector<std::string> names;
  for (const auto& e : envs) names.push_back(e.name);
  std::cout << "registry " << E(ctx.location) << " ready: " << ids.size()
            << " version(s), environments " << E(absl::StrJoin(names, ", "))
            << "\n";
  return kExitOk;
}

CommandResult RunStatus(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(auto envs, ctx.registry->ListEnvironments());
  std::stable_sort(envs.begin(), envs.end(), [](const auto& a, const auto& b) {
    return Rank(a.name) != Rank(b.name) ? Rank(a.name) < Rank(b.name)
                                        : a.name < b.name;
  });
  Json all = Json::array();
  for (const auto& env : envs) {
    if (!f.environment.empty() && env.name != f.environment) continue;
    ASSIGN_OR_RETURN(Json j, EnvironmentStatus(ctx, env));
    all.push_back(std::move(j));
  }
  // A required signature that fails now is a failed check (exit 1), so that
  // a script watching status notices; the report is printed all the same.
  std::vector<std::string> failing;
  for (const auto& j : all) {
    const Json sig = j.value("signature", Json());
    if (sig.is_object() && sig.value("required", false) &&
        sig.value("state", "") == "failed") {
      failing.push_back(j["environment"].get<std::string>());
    }
  }
  const int exit_code = failing.empty() ? kExitOk : kExitFailed;
  auto warn = [&] {
    if (failing.empty()) return;
    std::cerr << "status: the signature required in "
              << E(absl::StrJoin(failing, ", "))
              << " does not verify now (exit 1): its active version would not "
                 "be loaded by a server restarting there\n";
  };
  if (f.json) {
    std::cout << all.dump(2) << "\n";
    warn();
    return exit_code;
  }
  std::vector<std::vector<std::string>> rows = {{"ENVIRONMENT", "ACTIVE",
                                                 "SINCE", "BY", "HOW",
                                                 "VALIDATION", "SIGNATURE"}};
  bool any = false;
  for (const auto& j : all) {
    const bool active = j["active_version"].is_string();
    any |= active;
    rows.push_back(
        {j["environment"].get<std::string>(),
         active ? j["active_version"].get<std::string>() : "-",
         Cell(j, "since"), Cell(j, "by"), Cell(j, "kind"),
         active ? ValidationCell(j.value("validation", Json())) : "-",
         active ? SignatureCell(j.value("signature", Json())) : "-"});
  }
  std::cout << FormatTable(rows);
  if (!any) {
    std::cout << "nothing is active in " << E(ctx.location)
              << ": spatial model promote ID --environment ENV\n";
  }
  warn();
  return exit_code;
}

void AddStatusCommand(CLI::App* status, ModelFlags& f) {
  status->add_option("--environment", f.environment,
                     "Only this environment (default: all)");
  status->add_flag("--json", f.json, "JSON output");
}

}  // namespace spatial::cli
