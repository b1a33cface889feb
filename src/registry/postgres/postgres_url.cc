#include "src/registry/postgres/postgres_url.h"

#include "absl/strings/match.h"

namespace spatial::registry {

bool IsPostgresUrl(absl::string_view location) {
  return absl::StartsWith(location, "postgresql://") ||
         absl::StartsWith(location, "postgres://");
}

}  // namespace spatial::registry
