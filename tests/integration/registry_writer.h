// What the registry_writer test process (registry_writer.cc) writes, shared
// with the test that checks it afterwards (postgres_process_test.cc).
#ifndef SPATIAL_TESTS_INTEGRATION_REGISTRY_WRITER_H_
#define SPATIAL_TESTS_INTEGRATION_REGISTRY_WRITER_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "src/base/sha256.h"
#include "src/registry/model_version.h"

namespace spatial::integration {

// The id of writer `writer`'s `i`th version.
inline std::string WriterVersionId(int writer, int i) {
  return absl::StrCat("w", writer, "-", i);
}

// The version registered under `id`: its checksum and file digests derive
// from the id, so that a reader can tell an intact row from a mixed one.
inline registry::ModelVersion WriterVersion(const std::string& id) {
  registry::ModelVersion v;
  v.version_id = id;
  v.model_type = "spatial-mllm";
  v.architecture = "dual-encoder";
  v.file_path = "/models/" + id;
  v.creation_date = "2026-11-26T00:00:00.000000Z";
  const std::string onnx = base::Sha256Hex(id + "/model.onnx");
  const std::string manifest = base::Sha256Hex(id + "/manifest.json");
  v.files = {{"manifest.json", manifest, 100}, {"model.onnx", onnx, 4096}};
  v.checksum = base::Sha256Hex(absl::StrCat(manifest, onnx));
  v.size_bytes = 4196;
  v.is_directory = true;
  v.performance_metrics = {{"accuracy", 0.9}};
  v.tags = {id};
  v.actor = "writer";
  return v;
}

}  // namespace spatial::integration

#endif  // SPATIAL_TESTS_INTEGRATION_REGISTRY_WRITER_H_
