// `spatial keys`: flags -> key files or the registry's trust policy; errors
// go back to the shell (cli/command.h).
#include "cli/keys_cmd.h"

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/registry_context.h"
#include "cli/registry_options.h"
#include "nlohmann/json.hpp"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/security/keys.h"
#include "src/security/policy.h"

namespace spatial::cli {
namespace {

struct KeysFlags {
  RegistryFlags reg;
  std::string out_dir, public_key_file, key_id, environment;
  bool off = false;
  bool json = false;
};

// Environment names and key ids as typed or stored, safe for the terminal.
std::string E(absl::string_view text) { return base::EscapeForTerminal(text); }

absl::StatusOr<int> RunGenerate(const KeysFlags& f) {
  security::PrivateKey key = security::PrivateKey::Generate();
  RETURN_IF_ERROR(security::WriteKeyPair(key, f.out_dir));
  std::cout << "wrote " << E(f.out_dir) << "/" << security::kPrivateKeyFile
            << " (mode 0600; keep it secret) and " << E(f.out_dir) << "/"
            << security::kPublicKeyFile << "; key id "
            << key.public_key().key_id << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunTrust(const KeysFlags& f) {
  ASSIGN_OR_RETURN(security::PublicKey key,
                   security::LoadPublicKey(f.public_key_file));
  ASSIGN_OR_RETURN(RegistryContext ctx, OpenRegistryContext(f.reg));
  RETURN_IF_ERROR(ctx.registry->UpdateEnvironment(
      f.environment,
      [&](registry::Environment& e) { return security::AddTrustedKey(e, key); },
      {ctx.actor,
       "key.trust",
       f.environment,
       {{"key_id", key.key_id}, {"public_key", key.Base64()}}}));
  std::cout << E(f.environment) << " now trusts key " << E(key.key_id) << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunUntrust(const KeysFlags& f) {
  ASSIGN_OR_RETURN(RegistryContext ctx, OpenRegistryContext(f.reg));
  RETURN_IF_ERROR(ctx.registry->UpdateEnvironment(
      f.environment,
      [&](registry::Environment& e) {
        return security::RemoveTrustedKey(e, f.key_id);
      },
      {ctx.actor, "key.untrust", f.environment, {{"key_id", f.key_id}}}));
  std::cout << E(f.environment) << " no longer trusts key " << E(f.key_id)
            << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunRequire(const KeysFlags& f) {
  ASSIGN_OR_RETURN(RegistryContext ctx, OpenRegistryContext(f.reg));
  const bool required = !f.off;
  RETURN_IF_ERROR(
      ctx.registry->UpdateEnvironment(f.environment,
                                      [&](registry::Environment& e) {
                                        e.extra["require_signature"] = required;
                                        return absl::OkStatus();
                                      },
                                      {ctx.actor,
                                       "policy.require_signature",
                                       f.environment,
                                       {{"require_signature", required}}}));
  std::cout << E(f.environment)
            << (required ? " now requires" : " no longer requires")
            << " a signature by a trusted key\n";
  return kExitOk;
}

absl::StatusOr<int> RunList(const KeysFlags& f) {
  ASSIGN_OR_RETURN(RegistryContext ctx, OpenRegistryContext(f.reg));
  ASSIGN_OR_RETURN(auto envs, ctx.registry->ListEnvironments());
  bool found = f.environment.empty();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : envs) {
    if (!f.environment.empty() && e.name != f.environment) continue;
    found = true;
    ASSIGN_OR_RETURN(auto keys, security::TrustedKeys(e));
    if (f.json) {
      nlohmann::json ks = nlohmann::json::array();
      for (const auto& k : keys)
        ks.push_back({{"key_id", k.key_id}, {"public_key", k.Base64()}});
      out.push_back({{"environment", e.name},
                     {"requires_signature", e.requires_signature()},
                     {"trusted_keys", ks}});
      continue;
    }
    std::cout << E(e.name) << " (signature "
              << (e.requires_signature() ? "required" : "not required") << "):";
    if (keys.empty()) std::cout << " no trusted keys";
    std::cout << "\n";
    for (const auto& k : keys)
      std::cout << "  " << E(k.key_id) << "  " << k.Base64() << "\n";
  }
  if (!found)
    RETURN_IF_ERROR(ctx.registry->GetEnvironment(f.environment).status());
  if (f.json) std::cout << out.dump(2) << "\n";
  return kExitOk;
}

}  // namespace

void AddKeysCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<KeysFlags>();
  CLI::App* keys = app.add_subcommand(
      "keys", "Signing keys: generate a key pair, trust keys per environment");
  keys->require_subcommand(1);
  auto on = [&](CLI::App* c, absl::StatusOr<int> (*run)(const KeysFlags&)) {
    c->callback([f, run, action] {
      *action = [f, run]() -> CommandResult {
        if (!f->environment.empty()) {  // an unknown one is a usage error
          ASSIGN_OR_RETURN(RegistryContext ctx, OpenRegistryContext(f->reg));
          RETURN_IF_ERROR(RequireEnvironment(*ctx.registry, f->environment));
        }
        return run(*f);
      };
    });
  };

  CLI::App* gen = keys->add_subcommand(
      "generate",
      "Write a new Ed25519 key pair: DIR/signing.key (0600) and "
      "DIR/signing.pub");
  gen->add_option("--out", f->out_dir, "Directory for the two files")
      ->required();
  on(gen, RunGenerate);

  CLI::App* trust = keys->add_subcommand(
      "trust", "Trust a public key for an environment's signature checks");
  trust
      ->add_option("public_key", f->public_key_file,
                   "Public key file (signing.pub)")
      ->required();
  trust->add_option("--environment", f->environment, "Environment name")
      ->required();
  AddRegistryOptions(*trust, f->reg);
  on(trust, RunTrust);

  CLI::App* untrust = keys->add_subcommand(
      "untrust", "Stop trusting a key (by id) in an environment");
  untrust->add_option("key_id", f->key_id, "Key id (spatial keys list)")
      ->required();
  untrust->add_option("--environment", f->environment, "Environment name")
      ->required();
  AddRegistryOptions(*untrust, f->reg);
  on(untrust, RunUntrust);

  CLI::App* require = keys->add_subcommand(
      "require",
      "Require a trusted signature in an environment (validation, promotion, "
      "serving); --off lifts it");
  require->add_option("--environment", f->environment, "Environment name")
      ->required();
  require->add_flag("--off", f->off, "Stop requiring signatures");
  AddRegistryOptions(*require, f->reg);
  on(require, RunRequire);

  CLI::App* list = keys->add_subcommand(
      "list", "The trusted keys of every environment (or of one)");
  list->add_option("--environment", f->environment, "Environment name");
  list->add_flag("--json", f->json,
                 "JSON output: [{environment, requires_signature, "
                 "trusted_keys: [{key_id, public_key}]}]");
  AddRegistryOptions(*list, f->reg);
  on(list, RunList);
  // Reading commands never create a registry (a mistyped path is an error).
  for (CLI::App* reads : {untrust, list})
    reads->preparse_callback([f](size_t) { f->reg.must_exist = true; });
}

}  // namespace spatial::cli
