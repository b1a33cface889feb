#include "src/serving/tokens.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "src/base/files.h"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"

namespace spatial::serving {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kViewer:
      return "viewer";
    case Role::kLabeler:
      return "labeler";
    case Role::kDeployer:
      return "deployer";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

absl::StatusOr<Role> ParseRole(const std::string& name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "labeler") return Role::kLabeler;
  if (name == "deployer") return Role::kDeployer;
  if (name == "admin") return Role::kAdmin;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown role '", name, "' (viewer, labeler, deployer or admin)"));
}

absl::StatusOr<TokenTable> TokenTable::Parse(const std::string& text,
                                             const std::string& where) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("tokens") ||
      !j["tokens"].is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where,
        ": not a tokens file (want {\"tokens\": [{\"name\", \"role\", "
        "\"sha256\"}]})"));
  }
  TokenTable t;
  EntryList entries;
  for (const auto& e : j["tokens"]) {
    if (!e.is_object() || !e.value("name", nlohmann::json()).is_string() ||
        !e.value("role", nlohmann::json()).is_string() ||
        !e.value("sha256", nlohmann::json()).is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": every token needs string name, role and sha256"));
    }
    TokenEntry entry;
    entry.name = e["name"];
    auto role = ParseRole(e["role"]);
    if (!role.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": token '", entry.name, "': ", role.status().message()));
    }
    entry.role = *role;
    entry.sha256 = e["sha256"];
    if (!base::IsSha256Hex(entry.sha256)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": token '", entry.name,
          "': sha256 must be 64 lowercase hex digits (the hash, not the "
          "token)"));
    }
    entries.push_back(std::move(entry));
  }
  t.entries_ = std::make_shared<const EntryList>(std::move(entries));
  return t;
}

std::shared_ptr<const TokenTable::EntryList> TokenTable::Snapshot() const {
  std::lock_guard<std::mutex> lock(*mu_);
  return entries_;
}

void TokenTable::Replace(const TokenTable& fresh) {
  std::shared_ptr<const EntryList> entries = fresh.Snapshot();
  std::lock_guard<std::mutex> lock(*mu_);
  entries_ = std::move(entries);
}

TokenTable TokenTable::FromEntries(std::vector<TokenEntry> entries) {
  TokenTable t;
  t.entries_ = std::make_shared<const EntryList>(std::move(entries));
  return t;
}

absl::StatusOr<TokenTable> TokenTable::Load(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("no tokens file at ", path));
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return absl::PermissionDeniedError(absl::StrCat(
        path, " is writable by others; anyone could add a token (chmod 600)"));
  }
  auto text = base::ReadFile(path, 1 << 20);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

std::optional<TokenEntry> TokenTable::Find(const std::string& token) const {
  const std::string digest = base::Sha256Hex(token);
  std::optional<TokenEntry> found;
  for (const auto& e : *Snapshot()) {
    // Every entry is compared in full: no early exit on a match or a byte.
    bool same =
        e.sha256.size() == digest.size() &&
        CRYPTO_memcmp(e.sha256.data(), digest.data(), digest.size()) == 0;
    if (same && !found) found = e;
  }
  return found;
}

std::pair<std::string, TokenEntry> NewToken(const std::string& name,
                                            Role role) {
  unsigned char bytes[32];
  RAND_bytes(bytes, sizeof(bytes));
  std::string token = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  return {token, TokenEntry{name, role, base::Sha256Hex(token)}};
}

}  // namespace spatial::serving
