// The audit verify/checkpoint commands (audit_check.h). Run once per process
// on the main thread; each call opens its own registry.
#include "cli/audit_check.h"

#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/exit_codes.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/audit.h"
#include "src/registry/audit_links.h"
#include "src/registry/open/registry_open.h"
#include "src/security/checkpoint.h"
#include "src/security/keys.h"

namespace spatial::cli {
namespace {

constexpr size_t kMaxProblemsShown = 20;
constexpr uint64_t kMaxCheckpointFile = 1 << 20;

// The registry as it is: never created, no environments loaded (nothing the
// audit commands do may append to the log they check).
absl::StatusOr<std::unique_ptr<registry::Registry>> OpenExisting(
    const RegistryFlags& flags) {
  RegistryFlags f = flags;
  // The audit reads no artifacts, but a PostgreSQL location needs a store.
  if (f.store.empty()) f.store = std::string(1, '-');
  ASSIGN_OR_RETURN(ResolvedRegistry where, ResolveRegistryLocation(f));
  return OpenResolvedRegistry(where, /*must_exist=*/true);
}

// Checks the chain and the row links, printing the outcome; true when both
// hold.
bool CheckLog(const registry::AuditSnapshot& snap) {
  bool ok = true;
  registry::AuditCheck chain = registry::VerifyAuditChain(snap.records);
  if (chain.broken_seq) {
    std::cerr << "audit log BROKEN at seq " << *chain.broken_seq << ": "
              << base::EscapeForTerminal(chain.problem) << " (" << chain.records
              << " record(s) before it are intact)\n";
    ok = false;
  } else {
    std::cout << chain.records << " records, chain intact"
              << (chain.head.empty() ? ""
                                     : absl::StrCat(" (head ", chain.head, ")"))
              << "\n";
  }
  registry::AuditLinkCheck links = registry::CheckAuditLinks(snap);
  if (!links.problems.empty()) {
    std::cerr << "audit log and registry rows DISAGREE ("
              << links.problems.size() << " problem(s)):\n";
    for (size_t i = 0; i < links.problems.size() && i < kMaxProblemsShown;
         ++i) {
      std::cerr << "  " << base::EscapeForTerminal(links.problems[i]) << "\n";
    }
    if (links.problems.size() > kMaxProblemsShown) {
      std::cerr << "  ... and " << links.problems.size() - kMaxProblemsShown
                << " more\n";
    }
    ok = false;
  } else {
    std::cout << links.rows
              << " rows, each with the audit record that made it; "
              << links.linked
              << " records name their rows, and those rows are there; "
              << links.digested
              << " rows hold exactly what their record's digest says\n";
  }
  return ok;
}

}  // namespace

absl::StatusOr<int> RunAuditVerify(const AuditCheckFlags& f) {
  if (f.checkpoint.empty() != f.public_key.empty()) {
    return absl::InvalidArgumentError(
        "--checkpoint FILE and --public-key FILE go together: the checkpoint "
        "is only as good as the key that signed it");
  }
  std::optional<security::Checkpoint> checkpoint;
  if (!f.checkpoint.empty()) {
    ASSIGN_OR_RETURN(security::PublicKey key,
                     security::LoadPublicKey(f.public_key));
    ASSIGN_OR_RETURN(std::string text,
                     base::ReadFile(f.checkpoint, kMaxCheckpointFile));
    ASSIGN_OR_RETURN(checkpoint,
                     security::ReadCheckpoint(text, f.checkpoint, key));
  }
  ASSIGN_OR_RETURN(auto reg, OpenExisting(f.reg));
  ASSIGN_OR_RETURN(registry::AuditSnapshot snap, reg->ReadAuditSnapshot());
  bool ok = CheckLog(snap);
  if (checkpoint) {
    absl::Status contains =
        security::CheckLogContains(*checkpoint, snap, f.checkpoint);
    if (!contains.ok()) {
      // Another registry's checkpoint is an error of the caller, not a
      // finding about this log.
      if (contains.code() != absl::StatusCode::kDataLoss) return contains;
      std::cerr << "audit log FAILS its checkpoint: "
                << base::EscapeForTerminal(contains.message()) << "\n";
      ok = false;
    } else {
      std::cout << "contains checkpoint " << f.checkpoint << " (seq "
                << checkpoint->seq << ", taken " << checkpoint->time
                << ", signed by key " << checkpoint->key_id << ")\n";
    }
  }
  return ok ? kExitOk : kExitFailed;
}

absl::StatusOr<int> RunAuditCheckpoint(const AuditCheckFlags& f) {
  ASSIGN_OR_RETURN(std::string key_path,
                   security::ResolvePrivateKeyPath(f.key));
  ASSIGN_OR_RETURN(security::PrivateKey key,
                   security::LoadPrivateKey(key_path));
  ASSIGN_OR_RETURN(auto reg, OpenExisting(f.reg));
  ASSIGN_OR_RETURN(registry::AuditSnapshot snap, reg->ReadAuditSnapshot());
  if (!CheckLog(snap)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no checkpoint written: the audit log of ", reg->Describe(),
        " does not verify (above); a checkpoint must not vouch for it"));
  }
  ASSIGN_OR_RETURN(
      security::Checkpoint c,
      security::MakeCheckpoint(snap, base::FormatIso8601(absl::Now())));
  RETURN_IF_ERROR(
      base::WriteFileAtomic(f.out, security::SignCheckpoint(c, key)));
  std::cout << "wrote " << f.out << ": checkpoint of registry " << c.registry_id
            << " at seq " << c.seq << " (head " << c.head << "), signed by key "
            << key.public_key().key_id << "\n";
  return kExitOk;
}

}  // namespace spatial::cli
