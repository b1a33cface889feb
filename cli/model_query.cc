// The read-only `spatial model` commands; see cli/model_query.h.
#include "cli/model_query.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/model_output.h"
#include "src/base/status_macros.h"
#include "src/registry/legacy_json.h"

namespace spatial::cli {

using registry::Json;

namespace {

absl::StatusOr<std::map<std::string, std::string>> ActiveVersions(
    registry::Registry& reg) {
  std::map<std::string, std::string> active;
  ASSIGN_OR_RETURN(auto envs, reg.ListEnvironments());
  for (const auto& e : envs) {
    ASSIGN_OR_RETURN(auto id, reg.ActiveVersion(e.name));
    if (id) active[e.name] = *id;
  }
  return active;
}

// version id -> environments of its imported validations (history only).
absl::StatusOr<std::map<std::string, std::vector<std::string>>>
ImportedValidations(registry::Registry& reg) {
  std::map<std::string, std::vector<std::string>> out;
  ASSIGN_OR_RETURN(auto imported, reg.ListImportedValidations());
  for (auto& [version_id, environment] : imported)
    out[version_id].push_back(std::move(environment));
  return out;
}

}  // namespace

CommandResult RunList(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(auto versions, f.json
                                      ? ctx.registry->ListVersions()
                                      : ctx.registry->ListVersionSummaries());
  if (!f.environment.empty()) {
    ASSIGN_OR_RETURN(auto env, ctx.registry->GetEnvironment(f.environment));
    std::erase_if(versions, [&](const registry::ModelVersion& v) {
      const auto& e = v.deployment_environments;
      return std::find(e.begin(), e.end(), env.name) == e.end();
    });
  }
  if (f.json) {
    ASSIGN_OR_RETURN(auto imported, ImportedValidations(*ctx.registry));
    Json arr = Json::array();
    for (const auto& v : versions) {
      Json j = registry::VersionToJson(v);
      if (auto it = imported.find(v.version_id); it != imported.end())
        j["imported_validations"] = it->second;
      arr.push_back(std::move(j));
    }
    std::cout << arr.dump(2) << "\n";
    return kExitOk;
  }
  ASSIGN_OR_RETURN(auto active, ActiveVersions(*ctx.registry));
  ASSIGN_OR_RETURN(auto imported, ImportedValidations(*ctx.registry));
  std::cout << FormatVersionList(versions, active, imported);
  std::cout << versions.size() << " version(s) in " << E(ctx.location)
            << (f.environment.empty()
                    ? ""
                    : absl::StrCat(" validated for ", E(f.environment)))
            << "\n";
  return kExitOk;
}

CommandResult RunInfo(const ModelFlags& f, RegistryContext& ctx) {
  RETURN_IF_ERROR(base::CheckIdentifier(f.id, "version id"));
  ASSIGN_OR_RETURN(auto v, ctx.registry->GetVersion(f.id));
  ASSIGN_OR_RETURN(auto validations,
                   ctx.registry->ListValidations(v.version_id));
  ASSIGN_OR_RETURN(auto signatures, ctx.registry->ListSignatures(v.version_id));
  if (f.json) {
    Json j = registry::VersionToJson(v);
    Json vals = Json::array();
    for (const auto& r : validations) {
      vals.push_back({{"environment", r.environment},
                      {"valid", r.valid},
                      {"imported", registry::IsImportedValidation(r.result)},
                      {"validated_at", r.validated_at},
                      {"actor", r.actor},
                      {"override_reason", r.override_reason},
                      {"result", r.result}});
    }
    j["validations"] = vals;
    Json sigs = Json::array();
    for (const auto& s : signatures) {
      sigs.push_back({{"key_id", s.key_id},
                      {"actor", s.actor},
                      {"signed_at", s.signed_at}});
    }
    j["signatures"] = sigs;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << FormatVersionInfo(v, validations);
    std::cout << "signatures" << (signatures.empty() ? "             none" : "")
              << "\n";
    for (const auto& s : signatures) {
      std::cout << "  key " << E(s.key_id) << "  by " << E(s.actor) << "  at "
                << E(s.signed_at) << "\n";
    }
  }
  return kExitOk;
}

CommandResult RunLatest(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(auto v, ctx.service->Latest(f.environment));
  if (f.json) {
    std::cout << registry::VersionToJson(v).dump(2) << "\n";
  } else {
    std::cout << E(v.version_id) << "\n";
  }
  return kExitOk;
}

CommandResult RunTest(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(auto checks, ctx.service->Test());
  int bad = 0;
  Json arr = Json::array();
  for (const auto& c : checks) {
    if (!c.status.ok()) ++bad;
    arr.push_back(
        {{"version_id", c.version_id},
         {"ok", c.status.ok()},
         {"error", c.status.ok() ? "" : std::string(c.status.message())}});
    if (!f.json) {
      std::cout << (c.status.ok() ? "ok    " : "FAIL  ") << E(c.version_id)
                << (c.status.ok() ? ""
                                  : absl::StrCat(": ", E(c.status.message())))
                << "\n";
    }
  }
  if (f.json) {
    std::cout << Json{{"registry", ctx.location},
                      {"versions", arr},
                      {"failed", bad},
                      {"passed", static_cast<int>(checks.size()) - bad}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << checks.size() - bad << " of " << checks.size()
              << " version(s) intact in " << E(ctx.location) << "\n";
  }
  return bad == 0 ? kExitOk : kExitFailed;
}

CommandResult RunHistory(const ModelFlags& f, RegistryContext& ctx) {
  if (!f.environment.empty()) {
    RETURN_IF_ERROR(ctx.registry->GetEnvironment(f.environment).status());
  }
  ASSIGN_OR_RETURN(auto events, ctx.registry->History(f.environment));
  if (f.json) {
    Json arr = Json::array();
    for (const auto& e : events) arr.push_back(EventToJson(e));
    std::cout << arr.dump(2) << "\n";
  } else {
    std::cout << FormatHistory(events);
  }
  return kExitOk;
}

CommandResult RunEnvironments(const ModelFlags& f, RegistryContext& ctx) {
  ASSIGN_OR_RETURN(auto envs, ctx.registry->ListEnvironments());
  if (f.json) {
    std::cout << registry::EnvironmentsToJson(envs).dump(2) << "\n";
    return kExitOk;
  }
  ASSIGN_OR_RETURN(auto active, ActiveVersions(*ctx.registry));
  std::vector<std::vector<std::string>> rows = {
      {"ENVIRONMENT", "ACTIVE", "ARCHITECTURES", "MEMORY GB", "GPU",
       "ACCURACY >=", "LATENCY <= MS"}};
  for (const auto& e : envs) {
    auto on = active.find(e.name);
    std::string archs;
    for (const auto& a : e.supported_architectures)
      archs += (archs.empty() ? "" : ",") + a;
    rows.push_back({e.name, on == active.end() ? "-" : on->second, archs,
                    absl::StrCat(e.memory_requirements_gb),
                    e.gpu_required()
                        ? absl::StrCat("required ", e.min_gpu_memory_gb, " GB")
                        : "optional",
                    e.min_accuracy ? absl::StrCat(*e.min_accuracy) : "-",
                    e.max_inference_time_ms
                        ? absl::StrCat(*e.max_inference_time_ms)
                        : "-"});
  }
  std::cout << FormatTable(rows)
            << "who promoted the active versions, and when: spatial model "
               "status\n";
  return kExitOk;
}

}  // namespace spatial::cli
