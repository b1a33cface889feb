// The dispatch between `spatial` and `spatial-full`; see dispatch.h.
#include "cli/dispatch.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/command.h"
#include "cli/legacy_aliases.h"
#include "cli/registry_context.h"
#include "src/registry/registry_location.h"

namespace spatial::cli {
namespace fs = std::filesystem;

std::unique_ptr<CLI::App> NewTopLevelApp() {
  auto app = std::make_unique<CLI::App>(
      "spatial: version, validate, serve, load-test and deploy the pizza "
      "classifier",
      "spatial");
  app->require_subcommand(1);
  app->set_version_flag("--version", std::string(kVersionText));
  return app;
}

absl::StatusOr<std::vector<std::string>> RewriteArgs(
    std::vector<std::string> args) {
  // The seed's `model --register PATH ...` forms become subcommands.
  if (args.empty() || args[0] != "model") return args;
  auto rewritten = RewriteModelAliases({args.begin() + 1, args.end()});
  if (!rewritten.ok()) return rewritten.status();
  args.resize(1);
  args.insert(args.end(), rewritten->begin(), rewritten->end());
  return args;
}

bool StartsWithLightCommand(const std::vector<std::string>& args) {
  if (args.empty()) return false;
  const std::string& first = args[0];
  return first == "model" || first == "audit" || first == "keys" ||
         first == "token" || first == "--version";
}

std::string ChosenCommand(const CLI::App& app) {
  std::vector<std::string> path;
  const CLI::App* at = &app;
  while (true) {
    auto chosen = at->get_subcommands();
    if (chosen.empty()) break;
    at = chosen.front();
    path.push_back(at->get_name());
  }
  return absl::StrJoin(path, " ");
}

bool NeedsEngine(const std::string& chosen) {
  return chosen == "model register" || chosen == "model validate";
}

bool NamesPostgresRegistry(const CLI::App& app) {
  auto is_postgres = [](const std::string& location) {
    auto where = registry::ParseRegistryLocation(location);
    return where.ok() && where->is_postgres();
  };
  // The flags sit on `model`, `keys`, ... or on the subcommand itself; any
  // of them may name one (--registry, migrate's --from and --to).
  std::vector<const CLI::App*> chain = {&app};
  while (!chain.back()->get_subcommands().empty())
    chain.push_back(chain.back()->get_subcommands().front());
  bool registry_given = false;
  for (const CLI::App* at : chain) {
    for (const CLI::Option* o : at->get_options()) {
      if (o->count() == 0) continue;
      const std::string& name = o->get_name();
      if (name == "--registry" || name == "--no-registry")
        registry_given = true;
      for (const std::string& value : o->results()) {
        if (is_postgres(value)) return true;
      }
    }
  }
  if (registry_given) return false;
  std::optional<std::string> env = RegistryFromEnvironment();
  return env && is_postgres(*env);
}

absl::StatusOr<std::string> FullBinaryPath(const std::string& self) {
  fs::path dir = fs::path(self).parent_path();
  fs::path beside = dir / kFullBinaryName;
  fs::path libexec = dir / ".." / "libexec" / "spatial" / kFullBinaryName;
  for (const fs::path& p : {beside, libexec}) {
    if (::access(p.c_str(), X_OK) == 0) return p.lexically_normal().string();
  }
  return absl::NotFoundError(absl::StrCat(
      "cannot find ", kFullBinaryName, " (", beside.string(), " or ",
      libexec.lexically_normal().string(),
      "), the program with the commands that run a model; install it beside "
      "spatial"));
}

std::string DispatcherPath() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : DispatcherPathFor(self.string());
}

std::string DispatcherPathFor(const std::string& self) {
  fs::path p(self);
  if (p.filename() != kFullBinaryName) return self;
  fs::path dir = p.parent_path();
  for (const fs::path& d :
       {dir / "spatial", dir / ".." / ".." / "bin" / "spatial"}) {
    if (::access(d.c_str(), X_OK) == 0) return d.lexically_normal().string();
  }
  return self;
}

int ExecFull(char** argv) {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return Finish(absl::InternalError(absl::StrCat(
        "cannot find this program's path (/proc/self/exe): ", ec.message())));
  }
  auto full = FullBinaryPath(self.string());
  if (!full.ok()) return Finish(full.status());
  ::execv(full->c_str(), argv);
  int err = errno;
  return Finish(absl::InternalError(
      absl::StrCat("cannot run ", *full, ": ", std::strerror(err))));
}

}  // namespace spatial::cli
