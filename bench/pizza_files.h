// The images the serving benchmarks send: real rendered pizzas (two of each
// of the six classes, by default), as JPEG bytes and as files. Functions
// only; thread-compatible.
#ifndef SPATIAL_BENCH_PIZZA_FILES_H_
#define SPATIAL_BENCH_PIZZA_FILES_H_

#include <string>
#include <vector>

namespace spatial::bench {

struct PizzaFiles {
  std::vector<std::string> jpegs;  // the bytes of each image
  std::vector<std::string> files;  // DIR/pizzaI.jpg, the same bytes
};

// `n` renders of `size` px, class i % 6, variant i / 6, from `seed`,
// written to `dir`.
PizzaFiles WritePizzas(const std::string& dir, int n, int seed, int size);

}  // namespace spatial::bench

#endif  // SPATIAL_BENCH_PIZZA_FILES_H_
