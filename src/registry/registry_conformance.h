// The behaviour every Registry adapter must show, as one parameterised gtest
// suite. An adapter's test file instantiates it with a factory:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, RegistryConformanceTest,
//                            ::testing::Values(RegistryFactory{...}));
#ifndef SPATIAL_REGISTRY_REGISTRY_CONFORMANCE_H_
#define SPATIAL_REGISTRY_REGISTRY_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "src/registry/registry.h"

namespace spatial::registry {

struct RegistryFactory {
  std::string name;
  // Opens a new, empty registry; each call gives an independent one.
  std::function<std::unique_ptr<Registry>()> open;
};

inline std::ostream& operator<<(std::ostream& os, const RegistryFactory& f) {
  return os << f.name;
}

class RegistryConformanceTest
    : public ::testing::TestWithParam<RegistryFactory> {
 protected:
  void SetUp() override;
  std::unique_ptr<Registry> reg_;
};

// Helpers shared with adapter-specific tests.
Environment TestEnvironment(const std::string& name);
ModelVersion TestVersion(const std::string& id,
                         const std::string& checksum_seed = "");
ValidationRecord TestValidation(const std::string& id, const std::string& env,
                                bool valid);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_REGISTRY_CONFORMANCE_H_
