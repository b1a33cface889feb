#include "cli/parse_errors.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace spatial::cli {
namespace {

// A small command tree: spatial {model {list, info}, serve}.
struct Tree {
  Tree() {
    CLI::App* model = app.add_subcommand("model");
    model->add_option("--registry", registry);
    model->add_flag("--json", json);
    model->add_subcommand("list");
    model->add_subcommand("info");
    app.add_subcommand("serve");
  }
  CLI::App app{"test", "spatial"};
  std::string registry;
  bool json = false;
};

// Table: the words given -> the message and the command whose usage applies.
TEST(DescribeParseErrorTest, NamesCloseCommandsAndTheCommandReached) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
    std::string command;
  };
  const Case cases[] = {
      {{"modle", "list"},
       "unknown command 'modle' for 'spatial' (did you mean: model?)",
       "spatial"},
      {{"model", "lsit"},
       "unknown command 'lsit' for 'spatial model' (did you mean: list?)",
       "spatial model"},
      // An option's value is not taken for a command.
      {{"model", "--registry", "lsit", "--json", "info"},
       "CLI11",
       "spatial model info"},
      // Nothing close: CLI11's own message stays.
      {{"zzzzzzzz"}, "CLI11", "spatial"},
      {{"model", "info"}, "CLI11", "spatial model info"},
  };
  for (const auto& c : cases) {
    Tree t;
    ParseErrorText text = DescribeParseError(t.app, c.args, "CLI11");
    EXPECT_EQ(text.message, c.message) << c.args[0];
    EXPECT_EQ(text.command, c.command) << c.args[0];
  }
}

}  // namespace
}  // namespace spatial::cli
