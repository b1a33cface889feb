// `spatial model sign` / `verify`: versions in the registry or bundle
// directories; a verification that fails is exit 1, not an error.
#include "cli/sign_cmd.h"

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/security/signing.h"

namespace spatial::cli {
namespace {
namespace fs = std::filesystem;

struct SignFlags {
  std::shared_ptr<RegistryFlags> reg;
  std::string target;  // a version id or a bundle directory
  std::string key_file, public_key_file;
};

// A directory is a bundle; anything else must be a version id.
bool IsBundlePath(const std::string& target) {
  std::error_code ec;
  return fs::is_directory(target, ec) || target.find('/') != std::string::npos;
}

absl::StatusOr<int> SignBundle(const std::string& dir,
                               const security::PrivateKey& key) {
  ASSIGN_OR_RETURN(auto files, security::HashDirectory(dir));
  // The subject's name: the directory's own name.
  fs::path p = fs::absolute(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  const std::string name = p.filename().string();
  ASSIGN_OR_RETURN(auto envelope, security::SignFiles(name, files, key));
  const std::string out = (fs::path(dir) / registry::kSignatureFile).string();
  RETURN_IF_ERROR(base::WriteFileAtomic(out, envelope.Serialize() + "\n"));
  std::cout << "wrote " << out << ": " << files.size()
            << " file(s) signed with key " << key.public_key().key_id << "\n";
  return kExitOk;
}

absl::StatusOr<int> SignVersion(const SignFlags& f,
                                const security::PrivateKey& key) {
  RETURN_IF_ERROR(base::CheckIdentifier(f.target, "version id"));
  ASSIGN_OR_RETURN(RegistryContext ctx, OpenRegistryContext(*f.reg));
  ASSIGN_OR_RETURN(registry::ModelVersion v,
                   ctx.registry->GetVersion(f.target));
  // Never sign files that are not what was registered.
  if (absl::Status s = ctx.service->store().VerifyVersion(v); !s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to sign ", v.version_id, ": ", s.message()));
  }
  ASSIGN_OR_RETURN(auto files,
                   security::HashStoredVersion(ctx.service->store(), v));
  ASSIGN_OR_RETURN(auto envelope,
                   security::SignFiles(v.version_id, files, key));
  RETURN_IF_ERROR(ctx.registry->AddSignature(
      {v.version_id, key.public_key().key_id, envelope.Serialize(), ctx.actor,
       base::FormatIso8601(absl::Now())}));
  std::cout << "signed " << v.version_id << " (" << files.size()
            << " file(s), sha256:" << v.checksum << ") with key "
            << key.public_key().key_id << "\n";
  return kExitOk;
}

absl::StatusOr<int> RunSign(const SignFlags& f) {
  ASSIGN_OR_RETURN(std::string key_path,
                   security::ResolvePrivateKeyPath(f.key_file));
  ASSIGN_OR_RETURN(security::PrivateKey key,
                   security::LoadPrivateKey(key_path));
  if (IsBundlePath(f.target)) return SignBundle(f.target, key);
  return SignVersion(f, key);
}

// Verification failures are failed checks (exit 1), whatever their code.
absl::StatusOr<int> Failed(const absl::Status& s) {
  std::cerr << "verification FAILED: " << base::EscapeForTerminal(s.message())
            << "\n";
  return kExitFailed;
}

absl::StatusOr<int> RunVerify(const SignFlags& f) {
  ASSIGN_OR_RETURN(security::PublicKey key,
                   security::LoadPublicKey(f.public_key_file));
  if (IsBundlePath(f.target)) {
    const std::string sig_path =
        (fs::path(f.target) / registry::kSignatureFile).string();
    auto text = base::ReadFile(sig_path, 1 << 20);
    if (!text.ok()) {
      return Failed(absl::NotFoundError(absl::StrCat(
          f.target, " has no readable ", registry::kSignatureFile,
          " (sign it: spatial model sign ", f.target, " --key FILE)")));
    }
    auto envelope = security::Envelope::Parse(*text, sig_path);
    if (!envelope.ok()) return Failed(envelope.status());
    absl::Status s = security::VerifyDirectory(f.target, *envelope, {key});
    if (!s.ok()) return Failed(s);
    std::cout << "OK: " << f.target << " is signed by key " << key.key_id
              << " and every file matches\n";
    return kExitOk;
  }
  RETURN_IF_ERROR(base::CheckIdentifier(f.target, "version id"));
  ASSIGN_OR_RETURN(RegistryContext ctx, OpenRegistryContext(*f.reg));
  ASSIGN_OR_RETURN(registry::ModelVersion v,
                   ctx.registry->GetVersion(f.target));
  ASSIGN_OR_RETURN(auto signatures, ctx.registry->ListSignatures(v.version_id));
  if (signatures.empty()) {
    return Failed(absl::FailedPreconditionError(
        absl::StrCat("version ", v.version_id, " is unsigned")));
  }
  std::string problems;
  for (const auto& sig : signatures) {
    auto envelope = security::Envelope::Parse(sig.envelope, "stored signature");
    absl::Status s = envelope.ok()
                         ? security::VerifyStoredVersion(ctx.service->store(),
                                                         v, *envelope, {key})
                         : envelope.status();
    if (s.ok()) {
      std::cout << "OK: version " << v.version_id << " is signed by key "
                << key.key_id << " (by " << sig.actor << " at " << sig.signed_at
                << ") and every file matches\n";
      return kExitOk;
    }
    absl::StrAppend(&problems, problems.empty() ? "" : "; ", s.message());
  }
  return Failed(absl::FailedPreconditionError(problems));
}

}  // namespace

void AddSignCommands(CLI::App& model, std::shared_ptr<RegistryFlags> reg,
                     CommandAction* action) {
  auto f = std::make_shared<SignFlags>();
  f->reg = std::move(reg);
  CLI::App* sign = model.add_subcommand(
      "sign",
      "Sign a registered version (stored in the registry) or a bundle "
      "directory (writes DIR/model.sig)");
  sign->fallthrough();
  sign->add_option("target", f->target,
                   "Version id, or a bundle directory (a path with '/' or an "
                   "existing directory)")
      ->required();
  sign->add_option("--key", f->key_file,
                   "Private key file (default: the file named by "
                   "$SPATIAL_SIGNING_KEY_FILE)");
  sign->callback([f, action] {
    f->reg->must_exist = true;  // a version to sign is in an existing one
    *action = [f] { return RunSign(*f); };
  });

  CLI::App* verify = model.add_subcommand(
      "verify",
      "Check a version's stored signature, or a bundle's model.sig, against a "
      "public key and the files' bytes (exit 1 if it fails)");
  verify->fallthrough();
  verify->add_option("target", f->target, "Version id, or a bundle directory")
      ->required();
  verify
      ->add_option("--public-key", f->public_key_file,
                   "Public key file (signing.pub)")
      ->required();
  verify->callback([f, action] {
    f->reg->must_exist = true;
    *action = [f] { return RunVerify(*f); };
  });
}

}  // namespace spatial::cli
