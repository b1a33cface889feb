// `spatial token add|list|revoke`: a new token whose sha256 goes into the
// tokens file (the token itself is printed once); the file's entries (never a
// token); an entry removed, which a running server honours at its next reload
// of the file (SIGHUP). Add and revoke are audit events in the registry
// (token.add, token.revoke), recorded before the file changes: a server
// following that registry admits only the entries the log vouches for.
#include "cli/token_cmd.h"

#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/registry_context.h"
#include "cli/registry_options.h"
#include "nlohmann/json.hpp"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/audit_tokens.h"
#include "src/serving/tokens.h"

namespace spatial::cli {
namespace {

struct TokenFlags {
  std::string name, role = "viewer", file;
  bool json = false;
  RegistryFlags reg;
};

// Records `note` in the registry the flags name, before the file changes;
// with --no-registry, says that nothing records it.
absl::Status Audit(
    const TokenFlags& f, bool must_exist,
    const std::function<registry::AuditNote(const std::string& actor,
                                            const std::string& file)>& note) {
  if (f.reg.no_registry) {
    std::cerr << "warning: --no-registry: this change is in no audit log, and "
                 "a server following a registry refuses the token\n";
    return absl::OkStatus();
  }
  RegistryFlags flags = f.reg;
  flags.must_exist = must_exist;
  ASSIGN_OR_RETURN(RegistryContext ctx, OpenRegistryContext(flags));
  std::error_code ec;
  std::string file = std::filesystem::absolute(f.file, ec).string();
  if (ec) file = f.file;
  return ctx.registry->RecordEvent(note(ctx.actor, file));
}

std::string E(absl::string_view t) { return base::EscapeForTerminal(t); }

absl::StatusOr<int> ListTokens(const TokenFlags& f) {
  ASSIGN_OR_RETURN(serving::TokenTable table,
                   serving::TokenTable::Load(f.file));
  const std::vector<serving::TokenEntry> entries = table.Entries();
  if (f.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : entries) {
      out.push_back({{"name", e.name},
                     {"role", serving::RoleName(e.role)},
                     {"sha256", e.sha256}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  // The hash's first 12 digits tell entries apart; the token is nowhere.
  std::cout << absl::StrFormat("%-24s %-9s %s\n", "NAME", "ROLE", "SHA256");
  for (const auto& e : entries) {
    std::cout << absl::StrFormat("%-24s %-9s %s...\n", E(e.name),
                                 serving::RoleName(e.role),
                                 e.sha256.substr(0, 12));
  }
  std::cerr << entries.size() << " token(s) in " << E(f.file) << "\n";
  return kExitOk;
}

absl::StatusOr<int> RevokeToken(const TokenFlags& f) {
  // Validates the file (and its permissions) before it is rewritten.
  ASSIGN_OR_RETURN(serving::TokenTable table,
                   serving::TokenTable::Load(f.file));
  ASSIGN_OR_RETURN(std::string text, base::ReadFile(f.file, 1 << 20));
  nlohmann::json j = nlohmann::json::parse(text);
  nlohmann::json kept = nlohmann::json::array();
  std::vector<std::string> names;
  std::string sha256;
  for (const auto& e : j["tokens"]) {
    names.push_back(e["name"]);
    if (e["name"] != f.name) {
      kept.push_back(e);
    } else {
      sha256 = e["sha256"];
    }
  }
  if (kept.size() == j["tokens"].size()) {
    return absl::NotFoundError(absl::StrCat(
        "no token named '", E(f.name), "' in ", E(f.file),
        " (names: ", names.empty() ? "none" : E(absl::StrJoin(names, ", ")),
        "); nothing changed"));
  }
  j["tokens"] = kept;
  RETURN_IF_ERROR(Audit(f, /*must_exist=*/true,
                        [&](const std::string& actor, const std::string& file) {
                          return registry::TokenRevokeNote(actor, f.name,
                                                           sha256, file);
                        }));
  RETURN_IF_ERROR(base::WriteFileAtomic(f.file, j.dump(2) + "\n"));
  chmod(f.file.c_str(), 0600);
  std::cout << "revoked token '" << E(f.name) << "' in " << E(f.file)
            << "; a running server refuses it after its next reload of the "
               "file (kill -HUP its pid, or a restart)\n";
  return kExitOk;
}

absl::StatusOr<int> AddToken(const TokenFlags& f) {
  ASSIGN_OR_RETURN(serving::Role role, serving::ParseRole(f.role));
  if (f.name.empty() || f.name.size() > 64)
    return absl::InvalidArgumentError("--name must be 1..64 characters");
  nlohmann::json j = {{"tokens", nlohmann::json::array()}};
  if (std::filesystem::exists(f.file)) {
    // Validates the file before it is rewritten.
    RETURN_IF_ERROR(serving::TokenTable::Load(f.file).status());
    ASSIGN_OR_RETURN(std::string text, base::ReadFile(f.file, 1 << 20));
    j = nlohmann::json::parse(text);
    for (const auto& e : j["tokens"]) {
      if (e["name"] == f.name) {
        return absl::AlreadyExistsError("a token named '" + f.name +
                                        "' exists in " + f.file);
      }
    }
  }
  auto [token, entry] = serving::NewToken(f.name, role);
  RETURN_IF_ERROR(Audit(
      f, /*must_exist=*/false,
      [&, &entry = entry](const std::string& actor, const std::string& file) {
        return registry::TokenAddNote(actor, entry.name,
                                      serving::RoleName(entry.role),
                                      entry.sha256, file);
      }));
  j["tokens"].push_back({{"name", entry.name},
                         {"role", serving::RoleName(entry.role)},
                         {"sha256", entry.sha256}});
  RETURN_IF_ERROR(base::WriteFileAtomic(f.file, j.dump(2) + "\n"));
  chmod(f.file.c_str(), 0600);
  // The only time the token exists outside its user's hands: the file keeps
  // its hash only.
  std::cerr << "added token '" << E(f.name) << "' (" << E(f.role) << ") to "
            << E(f.file) << "; it is printed once, on stdout:\n";
  std::cout << token << "\n";
  return kExitOk;
}

// --registry, --store, --config, --actor: the registry whose audit log records
// the change; --no-registry for a server run without one.
void AddTokenRegistryFlags(CLI::App& app, RegistryFlags& reg) {
  CLI::Option* registry = AddRegistryFlag(
      app, reg.registry, "Registry whose audit log records the change");
  AddStoreFlag(app, reg.store);
  AddConfigFlag(app, reg.config);
  app.add_option("--actor", reg.actor,
                 "Who is acting, for the audit log (default $SPATIAL_ACTOR, "
                 "else the OS user)");
  AddNoRegistryFlag(app, reg.no_registry, registry)
      ->description(
          "Record the change in no audit log (for a server run with "
          "--no-registry; a server following a registry refuses the token)");
}

}  // namespace

void AddTokenCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<TokenFlags>();
  CLI::App* token = app.add_subcommand(
      "token", "Bearer tokens for the server's management API");
  token->require_subcommand(1);
  CLI::App* add = token->add_subcommand(
      "add",
      "Make a token, store its sha256 in the tokens file, print it once");
  add->add_option("--name", f->name, "Who holds it (the audit log's actor)")
      ->required();
  add->add_option(
         "--role", f->role,
         "viewer | labeler (viewer + POST /feedback) | deployer | admin")
      ->capture_default_str();
  add->add_option("--file", f->file, "Tokens file (created 0600)")->required();
  AddTokenRegistryFlags(*add, f->reg);
  add->callback([f, action] { *action = [f] { return AddToken(*f); }; });

  CLI::App* list = token->add_subcommand(
      "list",
      "The tokens file's entries: name, role, hash prefix (never a "
      "token)");
  list->add_option("--file", f->file, "Tokens file")->required();
  list->add_flag("--json", f->json, "JSON output (with the full sha256)");
  list->callback([f, action] { *action = [f] { return ListTokens(*f); }; });

  CLI::App* revoke = token->add_subcommand(
      "revoke",
      "Remove a token from the tokens file; a running server refuses it after "
      "its next reload of the file (SIGHUP)");
  revoke->add_option("--name", f->name, "The token's name")->required();
  revoke->add_option("--file", f->file, "Tokens file")->required();
  AddTokenRegistryFlags(*revoke, f->reg);
  revoke->callback([f, action] { *action = [f] { return RevokeToken(*f); }; });
}

}  // namespace spatial::cli
