// Benchmark flags; see flags.h.
#include "bench/flags.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace spatial::bench {

Flags::Flags(std::string program, std::string usage)
    : program_(std::move(program)), usage_(std::move(usage)) {}

Flags& Flags::Add(const std::string& name, std::string expects,
                  std::function<bool(const std::string&)> set) {
  flags_.push_back({name, std::move(expects), std::move(set)});
  return *this;
}

Flags& Flags::Switch(const std::string& name, std::function<void()> on) {
  return Add(name, "", [on = std::move(on)](const std::string&) {
    on();
    return true;
  });
}

Flags& Flags::Text(const std::string& name, std::string* out) {
  return Add(name, "a value", [out](const std::string& v) {
    *out = v;
    return true;
  });
}

Flags& Flags::Int(const std::string& name, int* out, int min) {
  return Add(name, absl::StrCat("an integer >= ", min),
             [out, min](const std::string& v) {
               int n = 0;
               if (!absl::SimpleAtoi(v, &n) || n < min) return false;
               *out = n;
               return true;
             });
}

Flags& Flags::Number(const std::string& name, double* out, double max) {
  return Add(name,
             max < 1e300 ? absl::StrCat("a number in (0, ", max, "]")
                         : std::string("a positive number"),
             [out, max](const std::string& v) {
               double d = 0;
               if (!absl::SimpleAtod(v, &d) || !(d > 0) || d > max)
                 return false;
               *out = d;
               return true;
             });
}

Flags& Flags::Ints(const std::string& name, std::vector<int>* out) {
  return Add(name, "positive integers separated by commas",
             [out](const std::string& v) {
               std::vector<int> got;
               for (absl::string_view p : absl::StrSplit(v, ',')) {
                 int n = 0;
                 if (!absl::SimpleAtoi(p, &n) || n < 1) return false;
                 got.push_back(n);
               }
               *out = std::move(got);
               return true;
             });
}

void Flags::Parse(int argc, char** argv) const {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    const Flag* flag = nullptr;
    for (const Flag& f : flags_) {
      if (f.name == k) flag = &f;
    }
    if (flag == nullptr) Die(absl::StrCat("unknown flag ", k));
    if (flag->expects.empty()) {
      flag->set("");
      continue;
    }
    if (i + 1 >= argc) Die(absl::StrCat("missing value after ", k));
    const std::string v = argv[++i];
    if (!flag->set(v))
      Die(absl::StrCat(k, " needs ", flag->expects, ", got '", v, "'"));
  }
}

void Flags::Die(const std::string& why) const {
  std::fprintf(stderr, "%s: %s\n%s\n", program_.c_str(), why.c_str(),
               usage_.c_str());
  std::exit(2);
}

}  // namespace spatial::bench
