// models/model_versions.json as `spatial model import` reads it
// (src/registry/legacy_json.h). What parses must write back and parse again
// to the same JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "src/registry/legacy_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace r = spatial::registry;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto j = r::ParseJson(text, "model_versions.json");
  if (!j.ok()) return 0;
  auto versions = r::VersionsFromJson(*j, "model_versions.json");
  if (!versions.ok()) return 0;
  r::Json written = r::VersionsToJson(*versions);
  auto again = r::VersionsFromJson(written, "written");
  if (!again.ok() || r::VersionsToJson(*again) != written) abort();
  (void)written.dump();
  return 0;
}
