// Test helpers for backup/restore: fills a real registry (SQLite or
// PostgreSQL) through RegistryService with versions, a validation, a
// promotion and so an audit log; and reads a registry back for comparison.
#ifndef SPATIAL_REGISTRY_BACKUP_BACKUP_TEST_SUPPORT_H_
#define SPATIAL_REGISTRY_BACKUP_BACKUP_TEST_SUPPORT_H_

#include <string>
#include <vector>

#include "src/registry/registry.h"

namespace spatial::registry::backup::testing {

// A fresh directory under the test temp dir, named after the running test.
std::string FreshDir(const std::string& tag);

// Registers versions a, b (a file each) and c (a directory of two files)
// from random bytes written under `dir`, validates and promotes a in
// "development". A test failure on any error.
void Populate(const std::string& registry, const std::string& store,
              const std::string& dir, const std::string& prefix = "");

// Everything a restore must reproduce, in a comparable form: version ids
// with checksums and files, history, and the audit records' hashes.
struct Contents {
  std::vector<std::string> versions;
  std::vector<std::string> history;
  std::vector<std::string> audit;
  bool operator==(const Contents&) const = default;
};
Contents Read(const std::string& registry);

}  // namespace spatial::registry::backup::testing

#endif  // SPATIAL_REGISTRY_BACKUP_BACKUP_TEST_SUPPORT_H_
