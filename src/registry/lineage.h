// Lineage of a derived version: an int8 or pruned variant of a registered
// model names its parent at register time (`spatial model register
// --parent ID`), and the registry keeps the parent's id and checksum in the
// new version's training_config["parent"], where `model show` and the
// console's lineage read it. Pure over the registry it is given; as
// thread-safe as that registry.
#ifndef SPATIAL_REGISTRY_LINEAGE_H_
#define SPATIAL_REGISTRY_LINEAGE_H_

#include <string>

#include "absl/status/statusor.h"
#include "src/registry/model_version.h"
#include "src/registry/registry.h"

namespace spatial::registry {

// The record to keep as training_config["parent"] of a version registered
// from `bundle_path` with parent `parent_id`:
//   {version_id, checksum, onnx_sha256 (the parent's model.onnx, if any)}
// Errors, each naming what to do:
//  - InvalidArgument: `parent_id` is not an identifier, or `training_config`
//    already names another parent;
//  - NotFound: no version `parent_id` is registered;
//  - FailedPrecondition: the bundle's manifest.json says which graph it was
//    derived from ("parent": {"onnx_sha256": ...}) and the parent version's
//    model.onnx is another graph.
absl::StatusOr<Json> ParentRecord(Registry& registry,
                                  const std::string& parent_id,
                                  const std::string& bundle_path,
                                  const Json& training_config);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_LINEAGE_H_
