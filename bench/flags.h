// The command-line flags of a benchmark: `--name VALUE` pairs and bare
// switches (`--quick`), each bound to a variable, with one wording of the
// errors for every benchmark: a bad or unknown flag, or a missing value,
// prints "PROGRAM: ..." and the usage on stderr and exits 2 (the benchmarks'
// "could not run"). Not thread-safe; used once, at the start of main.
#ifndef SPATIAL_BENCH_FLAGS_H_
#define SPATIAL_BENCH_FLAGS_H_

#include <functional>
#include <string>
#include <vector>

namespace spatial::bench {

class Flags {
 public:
  Flags(std::string program, std::string usage);

  // A flag without a value.
  Flags& Switch(const std::string& name, std::function<void()> on);
  // Any text.
  Flags& Text(const std::string& name, std::string* out);
  // An integer >= `min`.
  Flags& Int(const std::string& name, int* out, int min = 1);
  // A number > 0 (and <= `max`).
  Flags& Number(const std::string& name, double* out, double max = 1e300);
  // Positive integers separated by commas: "8,16,32".
  Flags& Ints(const std::string& name, std::vector<int>* out);

  // Reads argv[1..]; exits 2 on the first flag it cannot take.
  void Parse(int argc, char** argv) const;

  // "PROGRAM: WHY" on stderr, exit 2.
  [[noreturn]] void Die(const std::string& why) const;

 private:
  struct Flag {
    std::string name;
    std::string expects;  // "" for a switch
    std::function<bool(const std::string&)> set;
  };
  Flags& Add(const std::string& name, std::string expects,
             std::function<bool(const std::string&)> set);

  std::string program_, usage_;
  std::vector<Flag> flags_;
};

}  // namespace spatial::bench

#endif  // SPATIAL_BENCH_FLAGS_H_
