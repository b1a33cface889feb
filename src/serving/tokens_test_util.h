// For the serving tests: a token table of viewer1, labeler1 and deployer1
// (one token each, made as `spatial token` makes them). Single-threaded use.
#ifndef SPATIAL_SERVING_TOKENS_TEST_UTIL_H_
#define SPATIAL_SERVING_TOKENS_TEST_UTIL_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "src/serving/tokens.h"

namespace spatial::serving {

// The table; each name's plain token into `plain`.
inline absl::StatusOr<TokenTable> TestTokenTable(
    std::map<std::string, std::string>* plain) {
  nlohmann::json file = {{"tokens", nlohmann::json::array()}};
  for (auto [name, role] : std::vector<std::pair<std::string, Role>>{
           {"viewer1", Role::kViewer},
           {"labeler1", Role::kLabeler},
           {"deployer1", Role::kDeployer}}) {
    auto [token, entry] = NewToken(name, role);
    (*plain)[name] = token;
    file["tokens"].push_back(
        {{"name", name}, {"role", RoleName(role)}, {"sha256", entry.sha256}});
  }
  return TokenTable::Parse(file.dump(), "tokens.json");
}

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_TOKENS_TEST_UTIL_H_
