#include "cli/audit_cmd.h"

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
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

absl::StatusOr<int> RunVerify(const AuditFlags& f) {
  ASSIGN_OR_RETURN(RegistryContext ctx, OpenRegistryContext(f.reg));
  ASSIGN_OR_RETURN(auto records, ctx.registry->ListAudit());
  registry::AuditCheck check = registry::VerifyAuditChain(records);
  if (check.broken_seq) {
    std::cerr << "audit log BROKEN at seq " << *check.broken_seq << ": "
              << base::EscapeForTerminal(check.problem) << " (" << check.records
              << " record(s) before it are intact)\n";
    return kExitFailed;
  }
  std::cout << check.records << " records, chain intact"
            << (check.head.empty() ? ""
                                   : absl::StrCat(" (head ", check.head, ")"))
            << "\n";
  return kExitOk;
}

int Report(const absl::StatusOr<int>& rc) {
  return rc.ok() ? *rc : ReportError(rc.status());
}

}  // namespace

void AddAuditCommand(CLI::App& app, std::function<int()>* action) {
  auto f = std::make_shared<AuditFlags>();
  CLI::App* audit = app.add_subcommand(
      "audit", "The registry's audit log: who changed what, hash-chained");
  audit->require_subcommand(1);
  CLI::App* list = audit->add_subcommand("list", "Print the audit records");
  list->add_option("--since", f->since,
                   "Only records at or after this ISO 8601 time");
  list->add_flag("--json", f->json, "JSON output");
  AddRegistryOptions(*list, f->reg);
  list->callback(
      [f, action] { *action = [f] { return Report(RunList(*f)); }; });
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Check the hash chain; exit 1 naming the first edited, deleted or "
      "reordered record");
  AddRegistryOptions(*verify, f->reg);
  verify->callback(
      [f, action] { *action = [f] { return Report(RunVerify(*f)); }; });
}

}  // namespace spatial::cli
