// The load generator's flag values (src/loadtest/parse.h, threshold.h):
// --duration, --concurrency and --threshold as a user types them.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "src/loadtest/parse.h"
#include "src/loadtest/threshold.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace l = spatial::loadtest;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = l::ParseDuration(text);
  if (d.ok() && *d < absl::ZeroDuration()) abort();
  auto levels = l::ParseConcurrencyLevels(text);
  if (levels.ok()) {
    for (int n : *levels)
      if (n < 1 || n > 100000) abort();
  }
  auto t = l::ParseThreshold(text);
  if (t.ok() && !std::isfinite(t->limit)) abort();
  return 0;
}
