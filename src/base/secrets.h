// Keeping database passwords out of everything we print, log or export:
// messages, logs, /status, metrics labels, reports. The one place that knows
// where a PostgreSQL location (a postgresql:// URL or a keyword/value
// conninfo string) carries a password. Pure functions, thread-safe.
#ifndef SPATIAL_BASE_SECRETS_H_
#define SPATIAL_BASE_SECRETS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace spatial::base {

// `location` with every password replaced by "***", everything else kept as
// written: the user-info password ("user:secret@host") and every URL query
// parameter or keyword whose name, percent-decoded as libpq decodes it and
// ignoring case, contains "password" (password, sslpassword, pass%77ord...).
// A location that is neither (a SQLite path) comes back unchanged.
std::string RedactLocation(absl::string_view location);

// The password values `location` carries, as written and as libpq
// percent-decodes them (empty ones left out).
std::vector<std::string> LocationSecrets(absl::string_view location);

// `text` (e.g. an error a database client library wrote, which may echo parts
// of the connection string) with every password of `location` replaced by
// "***" and every copy of the location itself redacted.
std::string RedactSecrets(absl::string_view text, absl::string_view location);

}  // namespace spatial::base

#endif  // SPATIAL_BASE_SECRETS_H_
