// Reading the process environment behind a function, so that code which
// resolves flags against environment variables (cli/serve_config.h) stays
// pure and is tested with a table instead of setenv(). ProcessEnv is as
// thread-safe as getenv: fine while nothing calls setenv.
#ifndef SPATIAL_CLI_PROCESS_ENV_H_
#define SPATIAL_CLI_PROCESS_ENV_H_

#include <cstdlib>
#include <functional>
#include <string>

namespace spatial::cli {

// The value of an environment variable, "" when it is unset.
using EnvLookup = std::function<std::string(const char* name)>;

// The real environment.
inline std::string ProcessEnv(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_PROCESS_ENV_H_
