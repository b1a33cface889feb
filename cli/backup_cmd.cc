// `spatial model backup` / `restore`: flags -> backup options -> the backup
// library; errors go back to the shell (cli/command.h).
#include "cli/backup_cmd.h"

#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/base/status_macros.h"
#include "src/registry/backup/backup.h"

namespace spatial::cli {
namespace {

constexpr const char* kSpatialVersion = "0.1.0";

struct BackupFlags {
  std::string out, file;
  bool no_artifacts = false;
  bool force = false;
};

std::string Bytes(int64_t n) {
  if (n < 10 * 1024) return absl::StrCat(n, " bytes");
  if (n < 10 * 1024 * 1024) return absl::StrFormat("%.1f KiB", n / 1024.0);
  return absl::StrFormat("%.1f MiB", n / (1024.0 * 1024.0));
}

absl::StatusOr<int> RunBackup(const RegistryFlags& reg, const BackupFlags& f) {
  ASSIGN_OR_RETURN(ResolvedRegistry where, ResolveRegistryLocation(reg));
  registry::backup::BackupOptions o;
  o.registry = where.given;
  o.store_root = where.store;
  o.out_path = f.out;
  o.include_artifacts = !f.no_artifacts;
  o.spatial_version = kSpatialVersion;
  ASSIGN_OR_RETURN(auto s, registry::backup::CreateBackup(o));
  std::cout << "backed up " << s.source_kind << " registry to " << f.out << ": "
            << s.version_ids.size() << " version(s), " << s.blobs
            << " blob(s) of " << Bytes(s.blob_bytes)
            << (s.artifacts ? "" : " (manifest only, --no-artifacts)") << ", "
            << s.audit_records << " audit record(s); file "
            << Bytes(s.file_bytes) << ", " << absl::StrFormat("%.2f", s.seconds)
            << " s; verified (checksums, registry opens)\n";
  for (const auto& id : s.version_ids) std::cout << "  " << id << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunRestore(const RegistryFlags& reg, const BackupFlags& f) {
  ASSIGN_OR_RETURN(ResolvedRegistry where, ResolveRegistryLocation(reg));
  registry::backup::RestoreOptions o;
  o.backup_path = f.file;
  o.registry = where.given;
  o.store_root = where.store;
  o.force = f.force;
  ASSIGN_OR_RETURN(auto s, registry::backup::RestoreBackup(o));
  std::cout << "restored " << s.source_kind << " registry from " << f.file
            << ": " << s.version_ids.size() << " version(s), "
            << s.blobs_written << " blob(s) written to the store, "
            << s.blobs_present << " already there; every artifact checksum "
            << "and the audit chain (" << s.audit_records
            << " record(s)) verified, " << absl::StrFormat("%.2f", s.seconds)
            << " s\n";
  return kExitOk;
}

}  // namespace

void AddBackupCommands(CLI::App& model, std::shared_ptr<RegistryFlags> reg,
                       CommandAction* action) {
  auto f = std::make_shared<BackupFlags>();
  CLI::App* backup = model.add_subcommand(
      "backup",
      "Write a consistent snapshot of the registry and its artifact blobs to "
      "one file, while the registry is in use, and verify it");
  backup->fallthrough();
  backup->add_option("--out", f->out, "Backup file to write")->required();
  backup->add_flag("--no-artifacts", f->no_artifacts,
                   "Only the manifest (sha256, size) of the blobs, for a "
                   "shared store backed up separately");
  backup->callback(
      [reg, f, action] { *action = [reg, f] { return RunBackup(*reg, *f); }; });

  CLI::App* restore = model.add_subcommand(
      "restore",
      "Replace the registry with a backup (all or nothing), after putting "
      "its blobs into the store; verified like `model test` and `audit "
      "verify`");
  restore->fallthrough();
  restore->add_option("file", f->file, "Backup file")->required();
  restore->add_flag("--force", f->force,
                    "Replace a registry that already has versions");
  restore->callback([reg, f, action] {
    *action = [reg, f] { return RunRestore(*reg, *f); };
  });
}

}  // namespace spatial::cli
