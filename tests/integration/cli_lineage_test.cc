// Black-box tests of lineage: the shipped int8 variant registered with
// `--parent` keeps its parent (id, checksum, graph) in its record; a parent
// that is not registered, or that holds another graph than the one the
// bundle was derived from, is refused and nothing is registered.
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/test_paths.h"

namespace spatial::integration {
namespace {

using ::testing::HasSubstr;

std::string Bundle(const std::string& name) {
  return spatial::testing::SourceDir() + "/models/" + name;
}

// The graph sha256 the int8 bundle's manifest says it was made from.
std::string DeclaredParentGraph() {
  std::ifstream in(Bundle("spatial-pizza-v1-int8") + "/manifest.json");
  return Json::parse(in)["parent"]["onnx_sha256"].get<std::string>();
}

TEST(CliLineageTest, Int8VariantRecordsItsParent) {
  Sandbox box;
  box.Register(Bundle("spatial-pizza-v1"), "fp32");
  box.Register(Bundle("spatial-pizza-v1-int8"), "int8", {"--parent", "fp32"});
  Json parent = box.JsonAt(box.registry(), {"info", "fp32"});
  Json child = box.JsonAt(box.registry(), {"info", "int8"});
  ASSERT_TRUE(child.is_object()) << child;
  const Json& p = child["training_config"]["parent"];
  EXPECT_EQ(p["version_id"], "fp32") << child.dump(2);
  EXPECT_EQ(p["checksum"], parent["checksum"]) << child.dump(2);
  EXPECT_EQ(p["onnx_sha256"], DeclaredParentGraph()) << child.dump(2);
  // The parent itself names none.
  EXPECT_FALSE(parent["training_config"].contains("parent")) << parent;
}

TEST(CliLineageTest, UnregisteredParentIsRefusedAndNothingRegistered) {
  Sandbox box;
  box.Register(Bundle("spatial-pizza-v1"), "fp32");
  ProcessResult r =
      box.Model({"register", Bundle("spatial-pizza-v1-int8"), "--version-id",
                 "int8", "--parent", "no-such-version"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("parent version 'no-such-version' is not "
                               "registered"))
      << r;
  EXPECT_EQ(box.ListJson().size(), 1u);
}

TEST(CliLineageTest, ParentHoldingAnotherGraphIsRefused) {
  Sandbox box;
  ProcessResult s = box.Model(
      {"register", Bundle("standard-pizza-v1"), "--version-id", "standard"});
  ASSERT_EQ(s.exit_code, 0) << s;
  ProcessResult r = box.Model({"register", Bundle("spatial-pizza-v1-int8"),
                               "--version-id", "int8", "--parent", "standard"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("says it was derived from the graph sha256:" +
                               DeclaredParentGraph()))
      << r;
  EXPECT_THAT(r.err, HasSubstr("version 'standard' holds sha256:")) << r;
  EXPECT_EQ(box.ListJson().size(), 1u);
}

}  // namespace
}  // namespace spatial::integration
