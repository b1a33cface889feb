#include "src/registry/lineage.h"

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"

namespace spatial::registry {
namespace fs = std::filesystem;

namespace {

// The sha256 of the graph a bundle says it was derived from, or "".
std::string DeclaredParentGraph(const std::string& bundle_path) {
  std::error_code ec;
  if (!fs::is_directory(bundle_path, ec)) return "";
  auto text = base::ReadFile(bundle_path + "/manifest.json");
  if (!text.ok()) return "";
  Json m = Json::parse(*text, nullptr, false);
  if (!m.is_object() || !m.contains("parent") || !m["parent"].is_object())
    return "";
  return m["parent"].value("onnx_sha256", "");
}

}  // namespace

absl::StatusOr<Json> ParentRecord(Registry& registry,
                                  const std::string& parent_id,
                                  const std::string& bundle_path,
                                  const Json& training_config) {
  RETURN_IF_ERROR(base::CheckIdentifier(parent_id, "parent version id"));
  if (training_config.is_object() && training_config.contains("parent")) {
    const Json& given = training_config["parent"];
    const bool same =
        given.is_object() && given.value("version_id", "") == parent_id;
    if (!same) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the training config already names a parent (", given.dump(),
          ") other than --parent ", parent_id, "; drop one of them"));
    }
  }
  auto parent = registry.GetVersion(parent_id);
  if (absl::IsNotFound(parent.status())) {
    return absl::NotFoundError(
        absl::StrCat("parent version '", parent_id,
                     "' is not registered; register the model it was "
                     "derived from first, then pass its id to --parent"));
  }
  if (!parent.ok()) return parent.status();
  std::string parent_onnx;
  for (const auto& f : parent->files) {
    if (f.path == "model.onnx" ||
        (!parent->is_directory && absl::EndsWith(f.path, ".onnx"))) {
      parent_onnx = f.sha256;
    }
  }
  const std::string declared = DeclaredParentGraph(bundle_path);
  if (!declared.empty() && declared != parent_onnx) {
    return absl::FailedPreconditionError(
        absl::StrCat(bundle_path,
                     "/manifest.json says it was derived from the graph "
                     "sha256:",
                     declared, " but version '", parent_id, "' holds ",
                     parent_onnx.empty() ? std::string("no model.onnx")
                                         : absl::StrCat("sha256:", parent_onnx),
                     "; pass the version registered from the parent bundle"));
  }
  Json record = {{"version_id", parent->version_id},
                 {"checksum", parent->checksum}};
  if (!parent_onnx.empty()) record["onnx_sha256"] = parent_onnx;
  return record;
}

}  // namespace spatial::registry
