// Signing what the pipeline deploys (SignForDeployment in stages.h). It runs
// before the stages because staging and production check the signature at
// validation already, not only at promotion and at the servers' load.
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/pipeline/stages.h"

namespace spatial::pipeline {

namespace fs = std::filesystem;

absl::Status SignForDeployment(PipelineConfig* config, PipelineState* s) {
  const PipelineConfig& c = *config;
  if (c.signing_key.empty()) return absl::OkStatus();
  constexpr const char* kLog = "signing";
  std::vector<std::string> args = {"model"};
  std::string target = s->version_id;
  if (c.model_version.empty() && !s->bundle_dir.empty()) {
    // The bundle itself is not written to (it may be the checked-out
    // repository); its copy is signed and registered instead.
    fs::path copy = fs::path(ArtifactPath(c, "bundle")) /
                    fs::path(s->bundle_dir).filename();
    std::error_code ec;
    fs::create_directories(copy.parent_path(), ec);
    fs::copy(s->bundle_dir, copy, fs::copy_options::recursive, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("copying ", s->bundle_dir,
                                              " to sign it: ", ec.message()));
    }
    target = copy.string();
  } else {
    for (auto& a : RegistryArgs(c)) args.push_back(a);
  }
  args.insert(args.end(), {"sign", target, "--key", c.signing_key});
  const std::string out = ArtifactPath(c, "signing.out");
  auto r = RunSpatial(c, kLog, args, out);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("spatial model sign ", target, " exited with ",
                     r->exit_code, " (see ", LogPath(c, kLog), ")"));
  }
  // "... with key KEYID": the id the environment must trust.
  auto said = base::ReadFile(out);
  std::string key_id;
  if (said.ok()) {
    auto at = said->rfind("with key ");
    if (at != std::string::npos) {
      key_id =
          std::string(absl::StripAsciiWhitespace(said->substr(at + 9, 16)));
    }
  }
  const bool bundle = target != s->version_id;
  if (bundle) config->model_dir = s->bundle_dir = target;
  s->signing = {{"signed", bundle ? "bundle copy" : "registered version"},
                {"target", target},
                {"key_id", key_id},
                {"log", LogPath(c, kLog)}};
  return absl::OkStatus();
}

}  // namespace spatial::pipeline
