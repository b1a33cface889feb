// config/environments.json and deployment_environments.json
// (src/registry/legacy_json.h), and the load_profile envtest reads from each
// environment (src/envtest/targets.h). What parses must round-trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "src/envtest/targets.h"
#include "src/registry/legacy_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace r = spatial::registry;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto j = r::ParseJson(text, "environments.json");
  if (!j.ok()) return 0;
  auto envs = r::EnvironmentsFromJson(*j, "environments.json");
  if (!envs.ok()) return 0;
  for (const auto& e : *envs) (void)spatial::envtest::TargetsFor(e);
  r::Json written = r::EnvironmentsToJson(*envs);
  auto again = r::EnvironmentsFromJson(written, "written");
  if (!again.ok() || r::EnvironmentsToJson(*again) != written) abort();
  (void)written.dump();
  return 0;
}
