// Shared pieces of the tensor ops' reference kernels (tensor.cpp: data movement; tensor_index.cpp: index- and
// value-driven ops): element-size dispatch, output allocation, index reading and strided copies.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "ir/data_type.h"
#include "ir/ops/tensor_shapes.h"
#include "kernels/reference/common.h"

namespace lowp::kernels::ref::tensor {

using Ints = std::vector<int64_t>;
using ir::Shape;

constexpr int64_t kGrain = 1 << 14;

inline Status fail(const KernelContext& ctx, const Status& s) {
  return s.code() == StatusCode::kUnsupported ? ctx.unsupported(s.message()) : ctx.invalid(s.message());
}

inline std::string typeName(DataType t) {
  return std::string(ir::dataTypeInfo(t).name);
}

inline int64_t elementSize(DataType t) {
  return ir::dataTypeInfo(t).storageBytes;
}

/// The product of v[from, to), clipped to v's size.
inline int64_t product(const Ints& v, size_t from = 0, size_t to = SIZE_MAX) {
  to = std::min(to, v.size());
  if (from >= to) return 1;
  return std::accumulate(v.begin() + static_cast<std::ptrdiff_t>(from),
                         v.begin() + static_cast<std::ptrdiff_t>(to), int64_t{1}, std::multiplies<>());
}

/// Output i with the given type and shape: the tensor the runtime allocated when it matches, else a new one.
inline Tensor& outputFor(KernelContext& ctx, size_t i, DataType type, const Ints& shape) {
  Tensor& out = ctx.output(i);
  const bool usable = out.data() != nullptr || product(shape) == 0;
  if (out.type() == type && out.shape() == shape && usable) return out;
  return ctx.allocateOutput(i, type, shape);
}

/// The values of an int32/int64 tensor.
inline Ints readInts(const Tensor& t) {
  Ints out(static_cast<size_t>(t.elementCount()));
  for (size_t k = 0; k < out.size(); ++k) {
    out[k] = t.type() == DataType::kInt32 ? t.data<int32_t>()[k] : t.data<int64_t>()[k];
  }
  return out;
}

inline std::optional<Ints> optionalInts(const KernelContext& ctx, size_t i) {
  return ctx.hasInput(i) ? std::optional<Ints>(readInts(ctx.input(i))) : std::nullopt;
}

/// Calls f.template operator()<W>() with W the unsigned word of `bytes` bytes; false for other sizes.
template <typename F>
bool dispatchWord(int64_t bytes, F&& f) {
  switch (bytes) {
    case 1:
      f.template operator()<uint8_t>();
      return true;
    case 2:
      f.template operator()<uint16_t>();
      return true;
    case 4:
      f.template operator()<uint32_t>();
      return true;
    case 8:
      f.template operator()<uint64_t>();
      return true;
    default:
      return false;
  }
}

inline void copyBytes(const Tensor& in, Tensor& out) {
  if (out.data() != in.data() && in.byteSize() > 0) {
    std::memcpy(out.data(), in.data(), static_cast<size_t>(in.byteSize()));
  }
}

/// out[i] = in[base + Σ_d index_d · strides[d]], where index is element i's multi-index in `shape` (row-major
/// over out's elements; `shape` may split out's dims further, as Tile and DepthToSpace do).
inline void stridedCopy(const KernelContext& ctx, const Tensor& in, Tensor& out, const Ints& shape,
                        const Ints& strides, int64_t base) {
  const int64_t n = out.elementCount();
  if (n == 0) return;
  dispatchWord(elementSize(in.type()), [&]<typename W>() {
    const W* src = static_cast<const W*>(in.data()) + base;
    W* dst = static_cast<W*>(out.data());
    const std::array<Ints, 1> s{strides};
    ctx.parallelFor(n, kGrain, [&](int64_t begin, int64_t end) {
      forEachBroadcast<1>(shape, s, begin, end, [&](int64_t i, const auto& off) { dst[i] = src[off[0]]; });
    });
  });
}

/// The bytes of `value` in type `type` (saturated to its range); nullopt where lowp cannot encode it.
inline std::optional<std::vector<std::byte>> encodeScalar(DataType type, double value) {
  std::vector<std::byte> bytes(static_cast<size_t>(elementSize(type)));
  bool ok = dispatchType(type, [&]<typename T>() {
    T v;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // Saturate: converting an out-of-range double to an integer is undefined.
      using Limits = std::numeric_limits<T>;
      const double t = std::trunc(value);
      v = t >= static_cast<double>(Limits::max())      ? Limits::max()
          : t <= static_cast<double>(Limits::lowest()) ? Limits::lowest()
          : std::isnan(t)                              ? T{0}
                                                       : static_cast<T>(t);
    } else {
      v = fromCompute<T>(static_cast<Compute<T>>(value));
    }
    std::memcpy(bytes.data(), &v, sizeof(T));
  });
  if (ok) return bytes;
  if (type == DataType::kFloat8E4M3FN || type == DataType::kFloat8E5M2) {
    const bool e4m3 = type == DataType::kFloat8E4M3FN;
    bytes[0] = static_cast<std::byte>(
        ir::floatToFloat8(static_cast<float>(value), e4m3 ? 3 : 2, e4m3 ? 7 : 15, !e4m3, true));
    return bytes;
  }
  if (value == 0.0 && !bytes.empty()) return bytes;  // +0 is all zero bits in every remaining type
  return std::nullopt;
}

/// Fills `out` with copies of the element at `value`.
inline void fillWith(const KernelContext& ctx, Tensor& out, const std::byte* value) {
  const int64_t n = out.elementCount();
  dispatchWord(elementSize(out.type()), [&]<typename W>() {
    W v;
    std::memcpy(&v, value, sizeof(W));
    W* dst = static_cast<W*>(out.data());
    ctx.parallelFor(n, kGrain, [&](int64_t b, int64_t e) { std::fill(dst + b, dst + e, v); });
  });
}

inline Shape shapeOfTensor(const Tensor& t) {
  return Shape::fromSizes(t.shape());
}

/// Registers the kernels of tensor_index.cpp (called by registerTensorKernels).
void registerTensorIndexKernels(KernelRegistry& registry);

}  // namespace lowp::kernels::ref::tensor
