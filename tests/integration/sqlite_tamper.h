// Editing a SQLite registry file behind spatial's back, as anyone with write
// access to the file can: the tamper tests' one way in. Not thread-safe
// (one test, one file at a time).
#ifndef SPATIAL_TESTS_INTEGRATION_SQLITE_TAMPER_H_
#define SPATIAL_TESTS_INTEGRATION_SQLITE_TAMPER_H_

#include <string>

namespace spatial::integration {

// Runs `sql` on the registry at `path`, dropping the audit log's append-only
// triggers first; a failed statement fails the calling test.
void TamperSqlite(const std::string& path, const std::string& sql);

}  // namespace spatial::integration

#endif  // SPATIAL_TESTS_INTEGRATION_SQLITE_TAMPER_H_
