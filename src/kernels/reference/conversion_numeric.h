// Exact element conversions between every type lowp stores, shared by the conversion and resize
// reference kernels.
//
// Rules (ONNX Cast unless noted):
// - float -> integer truncates toward zero; NaN becomes 0 and values outside the target's range saturate
//   to its limits (ONNX leaves both implementation-defined; saturation is the only choice without UB).
// - integer -> narrower integer wraps (two's complement), as C++ and NumPy do.
// - anything -> bool is `value != 0` (NaN is true); bool -> anything is 0 or 1.
// - narrowing to a float format rounds to nearest even exactly once. Sources wider than float (double,
//   int64, uint64) reach FP16/BF16/FP8 through float with round-to-odd, which keeps the final
//   round-to-nearest-even correct (float has more than twice the precision of those formats, plus two).
// - FP8 covers the four ONNX formats. `saturate` (ONNX opset 19) clamps out-of-range values and
//   infinities to the largest finite value; without it they become inf (E5M2) or NaN (the others).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/reference/common.h"

namespace lowp::kernels::ref {

/// How an FP8 format spends its special encodings.
enum class Fp8Kind {
  kIeee,  ///< E5M2: exponent all ones is inf (mantissa 0) or NaN.
  kFn,    ///< E4M3FN: no inf; only S.1111.111 is NaN.
  kFnuz,  ///< *FNUZ: no inf, no negative zero; 0x80 is the one NaN.
};

struct Fp8Format {
  int manBits;
  int bias;
  Fp8Kind kind;
};

template <DataType Type>
constexpr Fp8Format fp8Format() {
  if constexpr (Type == DataType::kFloat8E4M3FN) return {3, 7, Fp8Kind::kFn};
  if constexpr (Type == DataType::kFloat8E4M3FNUZ) return {3, 8, Fp8Kind::kFnuz};
  if constexpr (Type == DataType::kFloat8E5M2) return {2, 15, Fp8Kind::kIeee};
  if constexpr (Type == DataType::kFloat8E5M2FNUZ) return {2, 16, Fp8Kind::kFnuz};
  return {0, 0, Fp8Kind::kIeee};
}

/// The storage of one FP8 element of ONNX type `Type` (one of the four FP8 DataTypes).
template <DataType Type>
struct Fp8 {
  static constexpr Fp8Format kFormat = fp8Format<Type>();
  uint8_t bits;
};
using Fp8E4M3FN = Fp8<DataType::kFloat8E4M3FN>;
using Fp8E4M3FNUZ = Fp8<DataType::kFloat8E4M3FNUZ>;
using Fp8E5M2 = Fp8<DataType::kFloat8E5M2>;
using Fp8E5M2FNUZ = Fp8<DataType::kFloat8E5M2FNUZ>;

template <typename T>
inline constexpr bool kIsFp8 = false;
template <DataType Type>
inline constexpr bool kIsFp8<Fp8<Type>> = true;

inline float fp8Decode(uint8_t v, Fp8Format f) {
  const int expBits = 7 - f.manBits;
  const uint32_t expMax = (1u << expBits) - 1u;
  const uint32_t manMask = (1u << f.manBits) - 1u;
  const uint32_t exp = (v >> f.manBits) & expMax;
  const uint32_t man = v & manMask;
  const bool negative = (v & 0x80u) != 0;
  if (f.kind == Fp8Kind::kFnuz && v == 0x80u) return std::numeric_limits<float>::quiet_NaN();
  if (f.kind == Fp8Kind::kIeee && exp == expMax) {
    if (man != 0) return std::numeric_limits<float>::quiet_NaN();
    return negative ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  }
  if (f.kind == Fp8Kind::kFn && exp == expMax && man == manMask)
    return std::numeric_limits<float>::quiet_NaN();
  float out = exp == 0 ? std::ldexp(static_cast<float>(man), 1 - f.bias - f.manBits)
                       : std::ldexp(static_cast<float>(man | (1u << f.manBits)),
                                    static_cast<int>(exp) - f.bias - f.manBits);
  return negative ? -out : out;
}

/// The magnitude bits of the largest finite value.
inline uint8_t fp8MaxCode(Fp8Format f) {
  const uint32_t expMax = (1u << (7 - f.manBits)) - 1u;
  const uint32_t manMask = (1u << f.manBits) - 1u;
  switch (f.kind) {
    case Fp8Kind::kIeee:
      return static_cast<uint8_t>(((expMax - 1u) << f.manBits) | manMask);
    case Fp8Kind::kFn:
      return static_cast<uint8_t>((expMax << f.manBits) | (manMask - 1u));
    case Fp8Kind::kFnuz:
      return 0x7f;
  }
  return 0;
}

/// The encoding of NaN. For E5M2 it is the quiet NaN 0x7E (what FP16's quiet NaN truncates to, and what the
/// ONNX reference produces), not 0x7F.
inline uint8_t fp8NaN(uint8_t sign, Fp8Format f) {
  switch (f.kind) {
    case Fp8Kind::kIeee:
      return static_cast<uint8_t>(sign | 0x7e);
    case Fp8Kind::kFn:
      return static_cast<uint8_t>(sign | 0x7f);
    case Fp8Kind::kFnuz:
      return 0x80;
  }
  return 0;
}

/// What a value beyond the largest finite one (or an infinity) becomes.
inline uint8_t fp8Overflow(uint8_t sign, Fp8Format f, bool saturate) {
  if (saturate) return static_cast<uint8_t>(sign | fp8MaxCode(f));
  if (f.kind == Fp8Kind::kIeee)
    return static_cast<uint8_t>(sign | (((1u << (7 - f.manBits)) - 1u) << f.manBits));
  return fp8NaN(sign, f);
}

/// Rounds to nearest even.
inline uint8_t fp8Encode(float x, Fp8Format f, bool saturate) {
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  const uint8_t zero = f.kind == Fp8Kind::kFnuz ? 0 : sign;
  if (std::isnan(x)) return fp8NaN(sign, f);
  if (std::isinf(x)) return fp8Overflow(sign, f, saturate);
  const float a = std::fabs(x);
  if (a == 0.0f) return zero;
  // Round in units of the target's ulp at a's binade (subnormals share the smallest normal binade's ulp).
  int e = 0;
  std::frexp(a, &e);  // a = frac * 2^e with frac in [0.5, 1)
  const int minNormalExp = 1 - f.bias;
  const int ulpExp = std::max(e - 1, minNormalExp) - f.manBits;
  const float q = std::nearbyint(std::ldexp(a, -ulpExp));  // ties to even in the default rounding mode
  const float rounded = std::ldexp(q, ulpExp);
  if (rounded > fp8Decode(fp8MaxCode(f), f)) return fp8Overflow(sign, f, saturate);
  if (rounded == 0.0f) return zero;
  int re = 0;
  std::frexp(rounded, &re);
  const int rexp = re - 1;
  uint32_t code;
  if (rexp < minNormalExp) {
    code = static_cast<uint32_t>(q);  // subnormal: q counts ulps of 2^(minNormalExp - manBits)
  } else {
    const auto mant = static_cast<uint32_t>(std::ldexp(rounded, f.manBits - rexp)) - (1u << f.manBits);
    code = (static_cast<uint32_t>(rexp + f.bias) << f.manBits) | mant;
  }
  return static_cast<uint8_t>(sign | code);
}

/// `v` rounded to float with round-to-odd: truncate toward zero, then set the last bit when inexact.
template <typename Wide>
inline float toFloatRoundToOdd(Wide v) {
  static_assert(std::is_floating_point_v<Wide>);
  if (std::isnan(v)) return std::numeric_limits<float>::quiet_NaN();
  float f = static_cast<float>(v);
  if (static_cast<Wide>(f) == v) return f;
  if (std::fabs(static_cast<Wide>(f)) > std::fabs(v)) f = std::nextafter(f, 0.0f);
  return std::bit_cast<float>(std::bit_cast<uint32_t>(f) | 1u);
}

/// Any stored type as float when that is exact (float and narrower floats, bool, integers up to 16 bits),
/// else as float rounded to odd (see the header comment).
template <typename T>
inline float toNarrowingFloat(T v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else if constexpr (kIsReducedFloat<T>) {
    return ir::toFloat(v);
  } else if constexpr (kIsFp8<T>) {
    return fp8Decode(v.bits, T::kFormat);
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? 1.0f : 0.0f;
  } else if constexpr (std::is_same_v<T, double>) {
    return toFloatRoundToOdd(v);
  } else {
    // Integers: long double holds every int64/uint64 exactly on the platforms lowp builds for; where it does
    // not, the extra rounding can only matter above 2^53.
    return toFloatRoundToOdd(static_cast<long double>(v));
  }
}

/// Any stored floating type as double (exact).
template <typename T>
inline double floatToDouble(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(v);
  } else if constexpr (kIsReducedFloat<T>) {
    return ir::toFloat(v);
  } else {
    return fp8Decode(v.bits, T::kFormat);
  }
}

/// A floating value truncated toward zero into integer type I, saturating, NaN -> 0.
template <typename I>
inline I truncateToInt(double v) {
  if (std::isnan(v)) return 0;
  // The bounds as doubles: lowest is exact, and max() + 1 is the power of two 2^digits (a 64-bit max()
  // already rounds up to it, and adding 1 leaves it there).
  constexpr double kLowest = static_cast<double>(std::numeric_limits<I>::lowest());
  constexpr double kAboveMax = static_cast<double>(std::numeric_limits<I>::max()) + 1.0;
  if (v <= kLowest) return std::numeric_limits<I>::lowest();
  if (v >= kAboveMax) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

template <typename T>
inline constexpr bool kIsFloating = std::is_floating_point_v<T> || kIsReducedFloat<T> || kIsFp8<T>;

/// Encodes a float (already rounded to odd where it came from something wider) into the float type D.
template <typename D>
inline D encodeFloat(float v, bool saturate) {
  if constexpr (std::is_same_v<D, float>) {
    return v;
  } else if constexpr (std::is_same_v<D, Float16>) {
    return Float16{ir::floatToFloat16(v)};
  } else if constexpr (std::is_same_v<D, BFloat16>) {
    return BFloat16{ir::floatToBFloat16(v)};
  } else {
    static_assert(kIsFp8<D>);
    return D{fp8Encode(v, D::kFormat, saturate)};
  }
}

/// Converts one element of type S to type D by the rules in the header comment. `saturate` only matters
/// for FP8 targets.
template <typename S, typename D>
inline D convertElement(S v, bool saturate) {
  if constexpr (std::is_same_v<S, D>) {
    return v;
  } else if constexpr (std::is_same_v<D, bool>) {
    if constexpr (kIsFloating<S>) {
      return floatToDouble(v) != 0.0;
    } else {
      return v != 0;
    }
  } else if constexpr (std::is_same_v<S, bool>) {
    return convertElement<uint8_t, D>(v ? 1 : 0, saturate);
  } else if constexpr (!kIsFloating<S> && !kIsFloating<D>) {
    return static_cast<D>(v);
  } else if constexpr (kIsFloating<S> && !kIsFloating<D>) {
    return truncateToInt<D>(floatToDouble(v));
  } else if constexpr (std::is_same_v<D, double>) {
    if constexpr (kIsFloating<S>) {
      return floatToDouble(v);
    } else {
      return static_cast<double>(v);
    }
  } else if constexpr (std::is_same_v<D, float> && !std::is_same_v<S, double> && kIsFloating<S>) {
    return toNarrowingFloat(v);
  } else if constexpr (std::is_same_v<D, float>) {
    return static_cast<float>(v);  // double or integer: one correctly rounded step
  } else {
    return encodeFloat<D>(toNarrowingFloat(v), saturate);
  }
}

/// Calls `f.template operator()<T>()` with T the storage type of `type`, FP8 included. False for types
/// without one (string, complex, 4-bit).
template <typename F>
bool dispatchStorable(DataType type, F&& f) {
  switch (type) {
    case DataType::kFloat8E4M3FN:
      f.template operator()<Fp8E4M3FN>();
      return true;
    case DataType::kFloat8E4M3FNUZ:
      f.template operator()<Fp8E4M3FNUZ>();
      return true;
    case DataType::kFloat8E5M2:
      f.template operator()<Fp8E5M2>();
      return true;
    case DataType::kFloat8E5M2FNUZ:
      f.template operator()<Fp8E5M2FNUZ>();
      return true;
    default:
      return dispatchType(type, f);
  }
}

}  // namespace lowp::kernels::ref
