// The throw-away PostgreSQL server of postgres_threads_test (CI's TSan run of
// the listener and concurrency tests); postgres_registry_test.cc registers
// it for the whole suite.
#include "gtest/gtest.h"
#include "src/registry/postgres/test_server.h"
#include "src/registry/registry_conformance.h"

namespace spatial::registry {

// Linked for its helpers (TestVersion, ...); the conformance suite itself
// runs in postgres_registry_test.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RegistryConformanceTest);

namespace {

[[maybe_unused]] ::testing::Environment* const kPostgres =
    ::testing::AddGlobalTestEnvironment(new pgtest::PostgresEnvironment);

}  // namespace
}  // namespace spatial::registry
