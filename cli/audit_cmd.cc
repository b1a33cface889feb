// `spatial audit list` and the audit command tree; verify and checkpoint run
// in cli/audit_check.cc. Errors go back to the shell (cli/command.h).
#include "cli/audit_cmd.h"

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/audit_check.h"
#include "cli/model_output.h"
#include "cli/registry_context.h"
#include "cli/registry_options.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/audit.h"

namespace spatial::cli {
namespace {

struct AuditFlags {
  RegistryFlags reg;
  std::string since;
  bool json = false;
};

absl::StatusOr<int> RunList(const AuditFlags& f) {
  std::optional<absl::Time> since;
  if (!f.since.empty()) {
    auto t = base::ParseIso8601(f.since);
    if (!t.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--since takes an ISO 8601 time such as 2026-01-31T12:00:00Z (",
          t.status().message(), ")"));
    }
    since = *t;
  }
  ASSIGN_OR_RETURN(RegistryContext ctx, OpenRegistryContext(f.reg));
  ASSIGN_OR_RETURN(auto records, ctx.registry->ListAudit());
  std::vector<registry::AuditRecord> shown;
  for (auto& r : records) {
    if (since) {
      auto t = base::ParseIso8601(r.time);
      if (t.ok() && *t < *since) continue;
    }
    shown.push_back(std::move(r));
  }
  if (f.json) {
    registry::Json arr = registry::Json::array();
    for (const auto& r : shown) arr.push_back(registry::AuditRecordToJson(r));
    std::cout << arr.dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"SEQ", "TIME", "ACTOR", "ACTION", "SUBJECT", "DETAILS"}};
  for (const auto& r : shown) {
    rows.push_back({absl::StrCat(r.seq), r.time, r.actor, r.action, r.subject,
                    r.details.dump()});
  }
  std::cout << FormatTable(rows);
  std::cout << shown.size() << " record(s) in "
            << base::EscapeForTerminal(ctx.location) << "\n";
  return kExitOk;
}

}  // namespace

void AddAuditCommand(CLI::App& app, CommandAction* action) {
  auto f = std::make_shared<AuditFlags>();
  CLI::App* audit = app.add_subcommand(
      "audit", "The registry's audit log: who changed what, hash-chained");
  audit->require_subcommand(1);
  CLI::App* list = audit->add_subcommand("list", "Print the audit records");
  list->add_option("--since", f->since,
                   "Only records at or after this ISO 8601 time");
  list->add_flag("--json", f->json, "JSON output");
  AddRegistryOptions(*list, f->reg);
  f->reg.must_exist = true;  // nothing the audit commands do creates one
  list->callback([f, action] {
    f->reg.quiet = f->json;  // JSON readers may merge stderr into it
    *action = [f] { return RunList(*f); };
  });
  auto c = std::make_shared<AuditCheckFlags>();
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Check the hash chain and that each registry row and its audit record "
      "point at each other (and, with --checkpoint, that the log still "
      "contains a signed checkpoint); exit 1 naming what is wrong");
  verify->add_option("--checkpoint", c->checkpoint,
                     "A checkpoint file written by `spatial audit checkpoint`: "
                     "the log must not be shorter than it or differ from it");
  verify->add_option("--public-key", c->public_key,
                     "The public key (signing.pub) that signs checkpoints; "
                     "required with --checkpoint");
  AddRegistryOptions(*verify, c->reg);
  verify->callback(
      [c, action] { *action = [c] { return RunAuditVerify(*c); }; });
  CLI::App* checkpoint = audit->add_subcommand(
      "checkpoint",
      "Verify the log, then sign a checkpoint of it (registry id, seq, head "
      "hash, time) with an Ed25519 key; keep the file where the registry's "
      "writers cannot change it");
  checkpoint->add_option("--key", c->key,
                         "Private key file (default "
                         "$SPATIAL_SIGNING_KEY_FILE)");
  checkpoint->add_option("--out", c->out, "Where to write the checkpoint")
      ->required();
  AddRegistryOptions(*checkpoint, c->reg);
  checkpoint->callback(
      [c, action] { *action = [c] { return RunAuditCheckpoint(*c); }; });
}

}  // namespace spatial::cli
