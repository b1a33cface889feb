// What `spatial serve` asks of the bundles it is given as directories
// (--model-dir, $SPATIAL_MODEL_PATH, the shipped ones): in an environment
// whose policy requires a signature (staging, production), DIR/model.sig must
// verify with a key that environment trusts, against the bytes the server
// copied into its private work directory; in the others an unsigned bundle is
// served with one warning line, and a model.sig that is present is checked
// all the same (one that fails is refused: a signature that does not match is
// a sign of tampering, wherever it is found).
//
// The trusted keys: with --registry, the keys the registry's environment
// trusts (`spatial keys trust`) that are also among the --trusted-key files
// (default: the files in $SPATIAL_TRUSTED_KEYS, separated by ':'), the trust
// anchor a server following a registry must be given where the environment
// requires a signature (security::PinTrust); else the environment's
// trusted_keys in the environments file (--config, $SPATIAL_CONFIG,
// config/environments.json, built in) together with every --trusted-key FILE.
// Not thread-safe (used by ModelManager::Start only).
#ifndef SPATIAL_CLI_SERVE_TRUST_H_
#define SPATIAL_CLI_SERVE_TRUST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/process_env.h"
#include "src/registry/model_version.h"
#include "src/security/bundle_signature.h"
#include "src/serving/bundle_copy.h"

namespace spatial::cli {

// The bundles served when neither --model-dir nor --registry is given:
// $SPATIAL_MODEL_PATH (plus the standard bundle when $MODEL_TYPE is standard
// or both), else both bundles under models/.
std::vector<std::string> DefaultModelDirs(const EnvLookup& env = ProcessEnv);

// Public key files given for the bundles, and how they were given (named in
// messages about them).
struct TrustedKeyFiles {
  std::vector<std::string> files;
  std::string given_by = "--trusted-key";  // or "$SPATIAL_TRUSTED_KEYS"
};

// The public keys of `key_files`; InvalidArgument naming a file that is not
// a signing.pub.
absl::StatusOr<std::vector<security::PublicKey>> LoadTrustedKeyFiles(
    const TrustedKeyFiles& key_files);

// Whether the environments file (`config_flag`, as LoadEnvironments) says
// `environment` requires a signature; false for one it does not list. A
// server following a registry asks it as well as the registry, whose
// require_signature whoever writes the registry could turn off.
bool EnvironmentsFileRequiresSignature(const std::string& environment,
                                       const std::string& config_flag);

// The trust for `environment`: from `registry_env` when serving a registry
// (non-null, already pinned to `key_files` by security::PinTrust when they
// are given), else from the environments file `config_flag` and the
// `key_files`. InvalidArgument for an environment the file does not know or
// a bad key file.
absl::StatusOr<security::BundleTrust> ResolveBundleTrust(
    const std::string& environment, const registry::Environment* registry_env,
    const std::string& config_flag, const TrustedKeyFiles& key_files);

// Admits bundles for ModelManager::Options::admit_bundle and says what it did.
class BundleGate {
 public:
  explicit BundleGate(security::BundleTrust trust) : trust_(std::move(trust)) {}
  // OK to load `copy`, the private copy of `source`; else why not (exit 1).
  absl::Status Admit(const std::string& source,
                     const serving::CopiedBundle& copy);
  // One line naming every unsigned bundle served; "" when there is none.
  std::string UnsignedWarning() const;

 private:
  security::BundleTrust trust_;
  std::vector<std::string> unsigned_;
};

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_SERVE_TRUST_H_
