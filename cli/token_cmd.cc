// `spatial token add`: flags -> a new token whose sha256 goes into the tokens
// file; the token itself is printed once.
#include "cli/token_cmd.h"

#include <sys/stat.h>

#include <filesystem>
#include <iostream>

#include "nlohmann/json.hpp"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/serving/tokens.h"

namespace spatial::cli {
namespace {

struct TokenFlags {
  std::string name, role = "viewer", file;
};

absl::StatusOr<int> AddToken(const TokenFlags& f) {
  auto E = [](absl::string_view t) { return base::EscapeForTerminal(t); };
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
  add->callback([f, action] { *action = [f] { return AddToken(*f); }; });
}

}  // namespace spatial::cli
