// Sandbox: a fresh directory for one black-box test of `spatial model`, with
// helpers to write artifacts into it and to run the binary against registries
// inside it. Owns the directory: removed at destruction unless the test
// failed (then kept for a look, and its path printed). Run methods are const
// and safe to call from several threads; the Write methods are not.
#ifndef SPATIAL_TESTS_INTEGRATION_CLI_SANDBOX_H_
#define SPATIAL_TESTS_INTEGRATION_CLI_SANDBOX_H_

#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/integration/process.h"

namespace spatial::integration {

using Json = nlohmann::json;

class Sandbox {
 public:
  Sandbox();
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& dir() const { return dir_; }
  // DIR/relative.
  std::string Path(const std::string& relative) const;
  // DIR/registry.db, the registry that Model() uses.
  std::string registry() const { return Path("registry.db"); }
  // DIR/store, where the default registry keeps its blobs.
  std::string store() const { return Path("store"); }

  // Runs `spatial model ARGS... --registry REGISTRY --config CONFIG --actor
  // tester` with the sandbox as working directory.
  ProcessResult Model(const std::vector<std::string>& args) const;
  ProcessResult ModelAt(const std::string& registry,
                        const std::vector<std::string>& args) const;
  // Runs the binary with exactly these arguments (no flags added).
  ProcessResult Spatial(const std::vector<std::string>& args) const;
  // `spatial ARGS --registry registry() [--config CONFIG]`; a test failure
  // unless exit 0.
  ProcessResult SpatialOk(std::vector<std::string> args,
                          const std::string& config = "") const;

  // `spatial model register PATH --version-id ID --architecture
  // dual-encoder EXTRA...` against `registry`; a test failure unless exit 0.
  void Register(const std::string& path, const std::string& id,
                const std::vector<std::string>& extra = {}) const;
  void RegisterAt(const std::string& registry, const std::string& path,
                  const std::string& id,
                  const std::vector<std::string>& extra = {}) const;
  // Registers PATH as ID, validates it for development and promotes it
  // there; a test failure unless each step exits 0.
  void RegisterAndPromote(const std::string& path, const std::string& id) const;
  // `spatial token add --name NAME --role ROLE --file DIR/tokens.json`,
  // recorded in registry(): the new token (a test failure and "" unless it
  // exits 0 with one).
  std::string AddToken(const std::string& name, const std::string& role) const;
  std::string tokens_file() const { return Path("tokens.json"); }
  // A copy of the shipped spatial bundle (same graph) under DIR/name whose
  // manifest differs by a note only: another checksum, the same answers.
  std::string VariantBundle(const std::string& name) const;
  // Runs ARGS with `--json` added and parses stdout; a test failure (and
  // null) unless it exits 0 with JSON on stdout.
  Json JsonAt(const std::string& registry, std::vector<std::string> args) const;
  Json ListJson() const { return JsonAt(registry(), {"list"}); }

  // Writes DIR/relative (creating parents) and returns its absolute path.
  std::string WriteFile(const std::string& relative,
                        const std::string& contents) const;
  // Writes `size` random bytes; each call gives different contents.
  std::string WriteRandomFile(const std::string& relative, size_t size);

 private:
  std::string dir_;
  std::mt19937_64 rng_;
};

// $SPATIAL_BINARY and $SPATIAL_SOURCE_DIR, else the paths CMake compiled in.
std::string SpatialBinary();
std::string SourceDir();
// A model bundle shipped with the repository: SourceDir()/models/NAME.
std::string ShippedBundle(const std::string& name);

// Parses JSON; a test failure and null when the text is not JSON.
Json ParseJsonOrFail(const std::string& text, const std::string& what);

// The file's bytes ("" when unreadable) and its sha256 hex.
std::string ReadBytes(const std::string& path);
std::string Sha256OfFile(const std::string& path);

// Sorted paths of every entry under `dir`, relative to it ({} when absent).
std::vector<std::string> ListTree(const std::string& dir);

// The rule named `rule` in a validation result's "rules"; null when absent.
Json FindRule(const Json& result, const std::string& rule);

// True when the NVIDIA driver lists a GPU (ProbeHost's source).
bool HostHasGpu();

}  // namespace spatial::integration

#endif  // SPATIAL_TESTS_INTEGRATION_CLI_SANDBOX_H_
