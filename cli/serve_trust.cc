// Which keys `spatial serve` trusts for its bundles, and the gate that
// checks each bundle's signature before it is loaded.
#include "cli/serve_trust.h"

#include <sys/stat.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/registry_context.h"
#include "src/base/status_macros.h"
#include "src/security/policy.h"

namespace spatial::cli {
namespace {

// Where LoadEnvironments reads from, for messages.
std::string EnvironmentsSource(const std::string& config_flag) {
  if (!config_flag.empty()) return config_flag;
  if (std::string env = ProcessEnv("SPATIAL_CONFIG"); !env.empty()) return env;
  std::error_code ec;
  if (std::filesystem::exists("config/environments.json", ec))
    return "config/environments.json";
  return "the built-in environments";
}

void AddKey(std::vector<security::PublicKey>& keys, security::PublicKey k) {
  for (const auto& have : keys) {
    if (have.key_id == k.key_id) return;
  }
  keys.push_back(std::move(k));
}

}  // namespace

std::vector<std::string> DefaultModelDirs(const EnvLookup& env) {
  // The original compose file named the model with these variables.
  std::vector<std::string> dirs;
  std::string type = env("MODEL_TYPE"), path = env("SPATIAL_MODEL_PATH");
  if (!path.empty()) dirs.push_back(path);
  if (path.empty() || type == "standard" || type == "both") {
    for (const char* d :
         {"models/spatial-pizza-v1", "models/standard-pizza-v1"}) {
      if (path.empty() ||
          std::string(d).find("standard") != std::string::npos) {
        dirs.push_back(d);
      }
    }
  }
  return dirs;
}

absl::StatusOr<std::vector<security::PublicKey>> LoadTrustedKeyFiles(
    const TrustedKeyFiles& key_files) {
  std::vector<security::PublicKey> keys;
  for (const auto& file : key_files.files) {
    // Whoever can write the file chooses what the server trusts: as the
    // tokens file, it must not be writable by group or others.
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s %s is writable by group or others (mode %04o): whoever can "
          "write it chooses the keys this server trusts (chmod go-w %s)",
          key_files.given_by, file, st.st_mode & 07777, file));
    }
    auto k = security::LoadPublicKey(file);
    if (!k.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          key_files.given_by, " ", file, ": ", k.status().message(),
          " (give the signing.pub that `spatial keys generate` wrote)"));
    }
    AddKey(keys, std::move(*k));
  }
  return keys;
}

bool EnvironmentsFileRequiresSignature(const std::string& environment,
                                       const std::string& config_flag) {
  auto envs = LoadEnvironments(config_flag);
  if (!envs.ok()) return false;
  for (const auto& e : *envs) {
    if (e.name == environment) return e.requires_signature();
  }
  return false;
}

absl::StatusOr<security::BundleTrust> ResolveBundleTrust(
    const std::string& environment, const registry::Environment* registry_env,
    const std::string& config_flag, const TrustedKeyFiles& key_files) {
  security::BundleTrust trust;
  trust.environment = environment;
  if (registry_env != nullptr) {
    trust.require_signature = registry_env->requires_signature();
    ASSIGN_OR_RETURN(trust.trusted, security::TrustedKeys(*registry_env));
    trust.source = key_files.files.empty()
                       ? std::string("the registry")
                       : absl::StrCat("the registry and ", key_files.given_by);
    return trust;
  }
  const std::string& flag = key_files.given_by;
  const std::string where = EnvironmentsSource(config_flag);
  ASSIGN_OR_RETURN(auto envs, LoadEnvironments(config_flag));
  const registry::Environment* env = nullptr;
  std::vector<std::string> names;
  for (const auto& e : envs) {
    names.push_back(e.name);
    if (e.name == environment) env = &e;
  }
  if (env == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown environment '", environment, "' (", where,
                     " has: ", absl::StrJoin(names, ", "), ")"));
  }
  trust.require_signature = env->requires_signature();
  ASSIGN_OR_RETURN(auto listed, security::TrustedKeys(*env));
  for (auto& k : listed) AddKey(trust.trusted, std::move(k));
  ASSIGN_OR_RETURN(auto given, LoadTrustedKeyFiles(key_files));
  for (auto& k : given) AddKey(trust.trusted, std::move(k));
  trust.source = absl::StrCat(
      where, key_files.files.empty() ? "" : absl::StrCat(" and ", flag));
  return trust;
}

absl::Status BundleGate::Admit(const std::string& source,
                               const serving::CopiedBundle& copy) {
  ASSIGN_OR_RETURN(security::BundleCheck check,
                   security::CheckBundleSignature(source, copy.signature,
                                                  copy.files, trust_));
  switch (check.verdict) {
    case security::BundleVerdict::kVerified:
      std::cout << "verified " << source << ": signed by key " << check.key_id
                << ", trusted in " << trust_.environment << " ("
                << trust_.source << "), every file matches" << std::endl;
      break;
    case security::BundleVerdict::kIntegrityOnly:
      std::cout << "checked " << source << ": its model.sig (key "
                << check.key_id << ") matches every file; "
                << trust_.environment
                << " trusts no key, so the signer is not verified" << std::endl;
      break;
    case security::BundleVerdict::kUnsigned:
      unsigned_.push_back(source);
      break;
  }
  return absl::OkStatus();
}

std::string BundleGate::UnsignedWarning() const {
  if (unsigned_.empty()) return "";
  return absl::StrCat(
      "warning: serving unsigned bundle", unsigned_.size() > 1 ? "s " : " ",
      absl::StrJoin(unsigned_, ", "), " in ", trust_.environment,
      " (no model.sig; staging and production refuse unsigned "
      "bundles: spatial model sign DIR --key signing.key)");
}

}  // namespace spatial::cli
