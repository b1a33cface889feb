#include "src/base/npy.h"

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/base/files.h"

namespace spatial::base {
namespace {

std::string Header(const std::string& dtype,
                   const std::vector<int64_t>& shape) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i)
    absl::StrAppend(&dims, i ? ", " : "", shape[i]);
  if (shape.size() == 1) dims += ",";
  std::string dict =
      absl::StrCat("{'descr': '", dtype,
                   "', 'fortran_order': False, 'shape': (", dims, "), }");
  // Magic (6) + version (2) + length (2) + dict + newline, padded to 64 bytes.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict;
}

template <typename T>
absl::Status Write(const std::string& path, const std::string& dtype,
                   const std::vector<int64_t>& shape, const T* data) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::string out = Header(dtype, shape);
  out.append(reinterpret_cast<const char*>(data),
             static_cast<size_t>(n) * sizeof(T));
  return WriteFileAtomic(path, out);
}

}  // namespace

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::Status WriteNpy(const std::string& path,
                      const std::vector<int64_t>& shape, const float* data) {
  return Write(path, "<f4", shape, data);
}

absl::Status WriteNpy(const std::string& path,
                      const std::vector<int64_t>& shape, const int64_t* data) {
  return Write(path, "<i8", shape, data);
}

absl::StatusOr<NpyArray> ReadNpy(const std::string& path) {
  auto bytes = ReadFile(path, 8ull << 30);
  if (!bytes.ok()) return bytes.status();
  const std::string& b = *bytes;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a supported .npy file: ", why));
  };
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0)
    return bad("no NUMPY magic");
  if (b[6] != 1) return bad("only format version 1.0 is supported");
  size_t len = static_cast<unsigned char>(b[8]) |
               (static_cast<size_t>(static_cast<unsigned char>(b[9])) << 8);
  if (10 + len > b.size()) return bad("truncated header");
  std::string dict = b.substr(10, len);
  NpyArray a;
  if (dict.find("'descr': '<f4'") != std::string::npos) {
    a.dtype = "<f4";
  } else if (dict.find("'descr': '<i8'") != std::string::npos) {
    a.dtype = "<i8";
  } else {
    return bad("dtype must be little-endian float32 or int64");
  }
  if (dict.find("'fortran_order': False") == std::string::npos)
    return bad("Fortran order");
  size_t open = dict.find("'shape': (");
  size_t close = dict.find(')', open);
  if (open == std::string::npos || close == std::string::npos)
    return bad("no shape");
  std::string dims = dict.substr(open + 10, close - open - 10);
  for (absl::string_view d :
       absl::StrSplit(dims, ',', absl::SkipWhitespace())) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(d), &v) || v < 0)
      return bad("bad shape");
    a.shape.push_back(v);
  }
  size_t elem = a.dtype == "<f4" ? 4 : 8;
  size_t need = static_cast<size_t>(a.size()) * elem;
  if (b.size() - 10 - len != need)
    return bad("data size does not match the shape");
  const char* data = b.data() + 10 + len;
  if (a.dtype == "<f4") {
    a.f32.resize(static_cast<size_t>(a.size()));
    std::memcpy(a.f32.data(), data, need);
  } else {
    a.i64.resize(static_cast<size_t>(a.size()));
    std::memcpy(a.i64.data(), data, need);
  }
  return a;
}

}  // namespace spatial::base
