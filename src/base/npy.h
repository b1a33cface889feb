// Reading and writing NumPy .npy files (format 1.0, little-endian, C order)
// of float32 and int64: the hand-over between the C++ preprocessing and the
// Python training, and the reference tensors of the parity test.
// Pure functions over files; thread-safe.
#ifndef SPATIAL_BASE_NPY_H_
#define SPATIAL_BASE_NPY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spatial::base {

struct NpyArray {
  std::string dtype;  // "<f4" or "<i8"
  std::vector<int64_t> shape;
  std::vector<float> f32;    // when dtype is <f4
  std::vector<int64_t> i64;  // when dtype is <i8
  int64_t size() const;
};

absl::Status WriteNpy(const std::string& path,
                      const std::vector<int64_t>& shape, const float* data);
absl::Status WriteNpy(const std::string& path,
                      const std::vector<int64_t>& shape, const int64_t* data);
// InvalidArgument for another dtype, byte order, Fortran order or a damaged
// file.
absl::StatusOr<NpyArray> ReadNpy(const std::string& path);

}  // namespace spatial::base

#endif  // SPATIAL_BASE_NPY_H_
