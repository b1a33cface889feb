// Bundles for the servers that test tools start (envtest's fleet, the
// pipeline's benchmark server). A server whose environment requires a
// signature loads only bundles signed by a key it trusts, and the bundles
// shipped in models/ are unsigned. So each bundle without a model.sig is
// copied to OUT/N-NAME and signed there with a key made for this run only:
// its public half is written to OUT/signing.pub for the servers'
// --trusted-key, its private half is never written anywhere. A bundle that
// carries a model.sig is used as it is, and the server verifies it against
// the keys its environment trusts (a tampered one still fails), and so is a
// path that is not a directory (the server says why it cannot load it).
// Thread-safe.
#ifndef SPATIAL_SECURITY_TEST_BUNDLES_H_
#define SPATIAL_SECURITY_TEST_BUNDLES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spatial::security {

struct TestBundles {
  std::vector<std::string> dirs;  // to give the servers, in the given order
  std::vector<std::string> signed_copies;  // those signed here
  std::string public_key_file;  // OUT/signing.pub; "" when nothing was signed
};

// `out_dir` is made (mode 0700) when a bundle needs signing.
absl::StatusOr<TestBundles> SignUnsignedBundles(
    const std::vector<std::string>& bundles, const std::string& out_dir);

}  // namespace spatial::security

#endif  // SPATIAL_SECURITY_TEST_BUNDLES_H_
