// The query string of the console's paged listings:
// ?offset=N&limit=N&q=TEXT (all optional; q is percent-decoded, '+' is a
// space). Pure; thread-safe.
#ifndef SPATIAL_SERVING_CONSOLE_CONSOLE_QUERY_H_
#define SPATIAL_SERVING_CONSOLE_CONSOLE_QUERY_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace spatial::serving {

struct PageQuery {
  size_t offset = 0;
  size_t limit = 0;
  std::string q;  // "" = everything
};

// InvalidArgument naming the parameter for an offset or limit that is not a
// whole number, a limit outside 1..max_limit, an unknown parameter or a q
// longer than 200 bytes. limit defaults to `default_limit`.
absl::StatusOr<PageQuery> ParsePageQuery(absl::string_view query,
                                         int default_limit, int max_limit);

// `s` with %XX decoded and '+' as a space; InvalidArgument for a bad escape.
absl::StatusOr<std::string> DecodeQueryValue(absl::string_view s);

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_CONSOLE_CONSOLE_QUERY_H_
