// The parse-error text of `spatial`; see cli/parse_errors.h.
#include "cli/parse_errors.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/base/text.h"

namespace spatial::cli {
namespace {

std::vector<const CLI::App*> Subcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App*) { return true; });
}

const CLI::App* FindSubcommand(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : Subcommands(app)) {
    if (sub->get_name() == name) return sub;
  }
  return nullptr;
}

// True when `token` is an option of `app` (or of a command above it) that
// takes a value given as the next word, e.g. "--registry" but not "--json".
bool TakesNextWord(const CLI::App& app, const std::string& token) {
  if (!absl::StartsWith(token, "-") || absl::StrContains(token, '=')) {
    return false;
  }
  for (const CLI::App* a = &app; a != nullptr; a = a->get_parent()) {
    if (const CLI::Option* o = a->get_option_no_throw(token)) {
      return o->get_items_expected_min() > 0;
    }
  }
  return false;
}

}  // namespace

ParseErrorText DescribeParseError(const CLI::App& app,
                                  const std::vector<std::string>& args,
                                  const std::string& error) {
  ParseErrorText out{error, app.get_name()};
  const CLI::App* cur = &app;
  bool value_next = false;
  for (const std::string& token : args) {
    if (value_next) {
      value_next = false;
      continue;
    }
    if (absl::StartsWith(token, "-")) {
      value_next = TakesNextWord(*cur, token);
      continue;
    }
    if (const CLI::App* sub = FindSubcommand(*cur, token)) {
      cur = sub;
      absl::StrAppend(&out.command, " ", token);
      continue;
    }
    if (Subcommands(*cur).empty()) continue;  // a positional argument
    std::vector<std::string> names;
    for (const CLI::App* sub : Subcommands(*cur)) {
      names.push_back(sub->get_name());
    }
    std::string close = base::DidYouMean(token, names);
    if (!close.empty()) {
      out.message = absl::StrCat("unknown command '", token, "' for '",
                                 out.command, "'", close);
    }
    break;
  }
  return out;
}

}  // namespace spatial::cli
