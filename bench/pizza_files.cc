// Rendered pizzas for the serving benchmarks; see pizza_files.h.
#include "bench/pizza_files.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "src/vision/renderer.h"

namespace spatial::bench {

PizzaFiles WritePizzas(const std::string& dir, int n, int seed, int size) {
  PizzaFiles out;
  for (int i = 0; i < n; ++i) {
    out.jpegs.push_back(vision::RenderPizza(i % 6, seed, i / 6, size).jpeg);
    out.files.push_back(absl::StrCat(dir, "/pizza", i, ".jpg"));
    std::ofstream(out.files.back(), std::ios::binary) << out.jpegs.back();
  }
  return out;
}

}  // namespace spatial::bench
