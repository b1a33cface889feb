#include "cli/legacy_aliases.h"

#include <map>

#include "absl/strings/str_cat.h"

namespace spatial::cli {

absl::StatusOr<std::vector<std::string>> RewriteModelAliases(
    const std::vector<std::string>& args) {
  // alias -> (subcommand, takes a value)
  static const std::map<std::string, std::pair<std::string, bool>> kAliases = {
      {"--register", {"register", true}}, {"--validate", {"validate", true}},
      {"--list", {"list", false}},        {"--info", {"info", true}},
      {"--latest", {"latest", false}},    {"--test", {"test", false}},
  };
  std::vector<std::string> rest;
  std::vector<std::string> front;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string word = args[i];
    std::string value;
    bool has_inline_value = false;
    if (auto eq = word.find('=');
        eq != std::string::npos && word.rfind("--", 0) == 0) {
      value = word.substr(eq + 1);
      word = word.substr(0, eq);
      has_inline_value = true;
    }
    auto it = kAliases.find(word);
    if (it == kAliases.end()) {
      rest.push_back(args[i]);
      continue;
    }
    if (!front.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("use one of --register, --validate, --list, --info, "
                       "--latest, --test at a time (got ",
                       front.front(), " and ", it->second.first, ")"));
    }
    front.push_back(it->second.first);
    if (it->second.second) {
      if (!has_inline_value) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat(word, " needs a value"));
        }
        value = args[++i];
      }
      front.push_back(value);
    } else if (has_inline_value) {
      return absl::InvalidArgumentError(absl::StrCat(word, " takes no value"));
    }
  }
  front.insert(front.end(), rest.begin(), rest.end());
  return front;
}

}  // namespace spatial::cli
