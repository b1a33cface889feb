// The operator console's static files (index.html, console.js, console.css
// under src/serving/console/assets/), compiled into the binary at build time
// by cmake/EmbedAssets.cmake: the console needs no file, CDN or network at
// run time. Immutable; thread-safe.
#ifndef SPATIAL_SERVING_CONSOLE_CONSOLE_ASSETS_H_
#define SPATIAL_SERVING_CONSOLE_CONSOLE_ASSETS_H_

#include <cstddef>
#include <vector>

namespace spatial::serving::console {

struct EmbeddedAsset {
  const char* name;  // path relative to assets/, e.g. "console.js"
  const unsigned char* data;
  size_t size;
};

// Every asset, in the order CMake listed them (defined in the generated
// console_assets.cc).
const std::vector<EmbeddedAsset>& EmbeddedAssets();

}  // namespace spatial::serving::console

#endif  // SPATIAL_SERVING_CONSOLE_CONSOLE_ASSETS_H_
