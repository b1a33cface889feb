#include "src/security/test_bundles.h"

#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/registry/model_version.h"
#include "src/security/keys.h"
#include "src/security/signing.h"

namespace spatial::security {
namespace fs = std::filesystem;

absl::StatusOr<TestBundles> SignUnsignedBundles(
    const std::vector<std::string>& bundles, const std::string& out_dir) {
  TestBundles out;
  std::optional<PrivateKey> key;
  for (size_t i = 0; i < bundles.size(); ++i) {
    const fs::path src = fs::absolute(bundles[i]).lexically_normal();
    std::error_code ec;
    // What is not a bundle directory (missing, a file) goes to the server as
    // given: the server's own error says what is wrong with it.
    if (!fs::is_directory(src, ec) ||
        fs::exists(src / registry::kSignatureFile, ec)) {
      out.dirs.push_back(src.string());
      continue;
    }
    if (!key) {
      key.emplace(PrivateKey::Generate());
      fs::create_directories(out_dir, ec);
      fs::permissions(out_dir, fs::perms::owner_all, ec);
      out.public_key_file = (fs::path(out_dir) / kPublicKeyFile).string();
      RETURN_IF_ERROR(base::WriteFileAtomic(out.public_key_file,
                                            key->public_key().Base64() + "\n"));
    }
    std::string name = src.filename().string();
    const fs::path copy = fs::path(out_dir) / absl::StrCat(i, "-", name);
    // What is signed is what was hashed from the copy, as `model sign` does.
    fs::copy(src, copy,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot copy ", src.string(),
                                              " to ", copy.string(), ": ",
                                              ec.message()));
    }
    ASSIGN_OR_RETURN(auto files, HashDirectory(copy.string()));
    ASSIGN_OR_RETURN(Envelope e, SignFiles(name, std::move(files), *key));
    RETURN_IF_ERROR(base::WriteFileAtomic(
        (copy / registry::kSignatureFile).string(), e.Serialize() + "\n"));
    out.dirs.push_back(copy.string());
    out.signed_copies.push_back(copy.string());
  }
  return out;
}

}  // namespace spatial::security
