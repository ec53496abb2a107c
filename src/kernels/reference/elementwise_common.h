// Shared pieces of the elementwise reference kernels: the type classes each op accepts, dispatch restricted
// to a class, exact integer helpers (wrap-around arithmetic, checked float-to-int conversion), and the
// unary / broadcast-binary loops. Every value is computed in Compute<T> (float for FP16/BF16) and rounded
// once to the stored type.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ir/shape.h"
#include "kernels/reference/common.h"

namespace lowp::kernels::ref::elementwise {

/// Elements per parallel chunk: elementwise work is cheap, so chunks must be large to pay for a thread.
inline constexpr int64_t kGrain = 1 << 14;

/// The element types an op's kernel accepts (the union of its ONNX type constraints over opsets).
enum class Types { kFloat, kSignedNumeric, kNumeric, kNumericOrBool, kInteger, kUnsigned, kBool, kPowBase };

template <typename T>
inline constexpr bool kIsFloat = std::is_floating_point_v<T> || kIsReducedFloat<T>;
template <typename T>
inline constexpr bool kIsInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <Types K, typename T>
inline constexpr bool kAccepts = K == Types::kFloat ? kIsFloat<T>
                                 : K == Types::kSignedNumeric
                                     ? kIsFloat<T> || (kIsInt<T> && std::is_signed_v<T>)
                                 : K == Types::kNumeric ? kIsFloat<T> || kIsInt<T>
                                 : K == Types::kNumericOrBool
                                     ? kIsFloat<T> || kIsInt<T> || std::is_same_v<T, bool>
                                 : K == Types::kInteger  ? kIsInt<T>
                                 : K == Types::kUnsigned ? kIsInt<T>&& std::is_unsigned_v<T>
                                 : K == Types::kBool     ? std::is_same_v<T, bool>
                                 : K == Types::kPowBase
                                     ? kIsFloat<T> || std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>
                                     : false;

/// The registry's type set of a class.
inline TypeSet typeSetOf(Types k) {
  switch (k) {
    case Types::kFloat:
      return floatTypes();
    case Types::kSignedNumeric:
      return floatTypes() | signedIntTypes();
    case Types::kNumeric:
      return numericTypes();
    case Types::kNumericOrBool:
      return numericTypes() | TypeSet{DataType::kBool};
    case Types::kInteger:
      return intTypes();
    case Types::kUnsigned:
      return unsignedIntTypes();
    case Types::kBool:
      return {DataType::kBool};
    case Types::kPowBase:
      return floatTypes() | TypeSet{DataType::kInt32, DataType::kInt64};
  }
  return {};
}

/// dispatchType, instantiating `f` only for the types of class K; false for any other type.
template <Types K, typename F>
bool dispatchIn(DataType type, F&& f) {
  bool done = false;
  dispatchType(type, [&]<typename T>() {
    if constexpr (kAccepts<K, T>) {
      f.template operator()<T>();
      done = true;
    }
  });
  return done;
}

/// The unsigned type integer arithmetic wraps in: at least `unsigned`, so that narrow types do not
/// promote to (overflowing) int.
template <typename T>
using WrapType = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

/// a + b, a - b, a * b, -a; two's-complement wrap-around for integers, as NumPy does.
template <typename C>
C addWrap(C a, C b) {
  if constexpr (kIsInt<C>) {
    return static_cast<C>(static_cast<WrapType<C>>(a) + static_cast<WrapType<C>>(b));
  } else {
    return a + b;
  }
}
template <typename C>
C subWrap(C a, C b) {
  if constexpr (kIsInt<C>) {
    return static_cast<C>(static_cast<WrapType<C>>(a) - static_cast<WrapType<C>>(b));
  } else {
    return a - b;
  }
}
template <typename C>
C mulWrap(C a, C b) {
  if constexpr (kIsInt<C>) {
    return static_cast<C>(static_cast<WrapType<C>>(a) * static_cast<WrapType<C>>(b));
  } else {
    return a * b;
  }
}
template <typename C>
C negWrap(C a) {
  if constexpr (kIsInt<C>) {
    return static_cast<C>(WrapType<C>{0} - static_cast<WrapType<C>>(a));
  } else {
    return -a;
  }
}

/// Converts a double to C. For integers: NaN becomes 0 and out-of-range values saturate, where a plain
/// cast would be undefined behaviour.
template <typename C>
C fromDouble(double v) {
  if constexpr (kIsInt<C>) {
    if (std::isnan(v)) return 0;
    if (v <= static_cast<double>(std::numeric_limits<C>::lowest())) return std::numeric_limits<C>::lowest();
    // max() of 64-bit types rounds up to 2^64 / 2^63 as a double, so compare with >=.
    if (v >= static_cast<double>(std::numeric_limits<C>::max())) return std::numeric_limits<C>::max();
    return static_cast<C>(v);
  } else {
    return static_cast<C>(v);
  }
}

/// Error unless `in` broadcasts to `out` (guards the stride computation against a bad runtime shape).
inline Status checkBroadcastsTo(const KernelContext& ctx, const Tensor& in, const std::vector<int64_t>& out) {
  bool ok = in.rank() <= static_cast<int64_t>(out.size());
  const size_t offset = ok ? out.size() - in.shape().size() : 0;
  for (size_t d = 0; ok && d < in.shape().size(); ++d) {
    ok = in.shape()[d] == 1 || in.shape()[d] == out[offset + d];
  }
  if (ok) return {};
  return ctx.invalid("input of shape " + ir::formatSizes(in.shape()) +
                     " does not broadcast to output shape " + ir::formatSizes(out));
}

/// Calls fn(outIndex, offsets) for every output element of shape `out`, in parallel chunks, where
/// offsets[k] is the element of inputs[k] that the output element reads under broadcasting.
template <size_t N, typename F>
void forEachOutput(const KernelContext& ctx, const std::vector<int64_t>& out,
                   const std::array<const Tensor*, N>& inputs, F&& fn) {
  int64_t n = 1;
  for (int64_t d : out) n *= d;
  if (n == 0) return;
  bool same = true;
  for (const Tensor* t : inputs) same = same && t->shape() == out;
  if (same) {
    // No broadcasting: every input is read at the output's own index.
    ctx.parallelFor(n, kGrain, [&](int64_t begin, int64_t end) {
      std::array<int64_t, N> offsets{};
      for (int64_t i = begin; i < end; ++i) {
        offsets.fill(i);
        fn(i, offsets);
      }
    });
    return;
  }
  std::array<std::vector<int64_t>, N> strides;
  for (size_t k = 0; k < N; ++k) strides[k] = broadcastStrides(inputs[k]->shape(), out);
  ctx.parallelFor(n, kGrain,
                  [&](int64_t begin, int64_t end) { forEachBroadcast<N>(out, strides, begin, end, fn); });
}

/// Registration of the kernels in elementwise_binary.cpp (binary, variadic, Where, Clip, PRelu, Pow).
void registerBinaryKernels(KernelRegistry& registry);

}  // namespace lowp::kernels::ref::elementwise
