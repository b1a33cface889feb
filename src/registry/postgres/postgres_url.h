// Helpers for PostgreSQL connection strings that need no server: telling a
// PostgreSQL URL from a file path, and masking the password before a URL is
// shown anywhere. Pure functions, thread-safe.
#ifndef SPATIAL_REGISTRY_POSTGRES_POSTGRES_URL_H_
#define SPATIAL_REGISTRY_POSTGRES_POSTGRES_URL_H_

#include <string>

#include "absl/strings/string_view.h"

namespace spatial::registry {

// True for "postgresql://..." and "postgres://..." (libpq's two URI schemes).
bool IsPostgresUrl(absl::string_view location);

// The URL or keyword/value connection string with every password replaced by
// "***": the user-info password ("user:secret@host"), a "password=" query
// parameter or keyword. Everything else is kept as written.
std::string MaskPostgresPassword(absl::string_view conninfo);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_POSTGRES_POSTGRES_URL_H_
