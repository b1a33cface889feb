// Telling a PostgreSQL URL from a file path, without a server. (Masking its
// password before it is shown: base::RedactLocation.) Pure, thread-safe.
#ifndef SPATIAL_REGISTRY_POSTGRES_POSTGRES_URL_H_
#define SPATIAL_REGISTRY_POSTGRES_POSTGRES_URL_H_

#include <string>

#include "absl/strings/string_view.h"

namespace spatial::registry {

// True for "postgresql://..." and "postgres://..." (libpq's two URI schemes).
bool IsPostgresUrl(absl::string_view location);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_POSTGRES_POSTGRES_URL_H_
