// Paths a test needs: the source tree (models/, config/) and the `spatial`
// binary. $SPATIAL_SOURCE_DIR / $SPATIAL_BINARY win; otherwise the values
// spatial_test() compiles in. Header-only so that each test target's own
// definitions apply.
#ifndef SPATIAL_TESTS_TEST_PATHS_H_
#define SPATIAL_TESTS_TEST_PATHS_H_

#include <cstdlib>
#include <string>

namespace spatial::testing {

inline std::string SourceDir() {
  const char* e = std::getenv("SPATIAL_SOURCE_DIR");
  return e != nullptr ? e : SPATIAL_DEFAULT_SOURCE_DIR;
}

inline std::string SpatialBinary() {
  const char* e = std::getenv("SPATIAL_BINARY");
  return e != nullptr ? e : SPATIAL_DEFAULT_BINARY;
}

}  // namespace spatial::testing

#endif  // SPATIAL_TESTS_TEST_PATHS_H_
