// Conversions between float32 and the reduced float formats lowp stores: IEEE FP16, bfloat16, and the OCP
// FP8 formats E4M3FN and E5M2. All narrowing conversions round to nearest, ties to even.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace lowp::ir {

/// IEEE 754 binary16 stored as its bit pattern.
struct Float16 {
  uint16_t bits;
};
/// bfloat16 (the upper half of a float32) stored as its bit pattern.
struct BFloat16 {
  uint16_t bits;
};
/// OCP FP8 E4M3FN: no infinities, one NaN pattern per sign (S.1111.111), max 448.
struct Float8E4M3 {
  uint8_t bits;
};
/// OCP FP8 E5M2: IEEE-like, with infinities, max 57344.
struct Float8E5M2 {
  uint8_t bits;
};

inline float float16ToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: value = man * 2^-24
    float v = static_cast<float>(man) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return std::bit_cast<float>(bits);
}

inline uint16_t floatToFloat16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
  }
  if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (absx < 0x38800000u) {  // below the smallest normal 2^-14: subnormal or zero
    // Scale so that one fp16 subnormal ulp (2^-24) becomes 1.0, then round to nearest even in float.
    float v = std::bit_cast<float>(absx) * 16777216.0f;
    auto m = static_cast<uint32_t>(std::nearbyint(v));
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t e = ((absx >> 23) - 112) << 10;
  uint32_t m = (absx >> 13) & 0x3ffu;
  uint32_t rest = absx & 0x1fffu;
  uint32_t h = e | m;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

inline float bfloat16ToFloat(uint16_t b) {
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

inline uint16_t floatToBFloat16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet nan
  uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

/// Decodes a float8 with `manBits` mantissa bits and exponent bias `bias`; `hasInf` selects the E5M2 rules
/// (IEEE inf/nan) versus the E4M3FN rules (only S.1111.111 is nan).
inline float float8ToFloat(uint8_t v, int manBits, int bias, bool hasInf) {
  int expBits = 7 - manBits;
  uint32_t sign = v >> 7;
  uint32_t exp = (v >> manBits) & ((1u << expBits) - 1u);
  uint32_t man = v & ((1u << manBits) - 1u);
  uint32_t expMax = (1u << expBits) - 1u;
  float out;
  if (hasInf && exp == expMax) {
    out = man == 0 ? INFINITY : NAN;
  } else if (!hasInf && exp == expMax && man == ((1u << manBits) - 1u)) {
    out = NAN;
  } else if (exp == 0) {
    out = std::ldexp(static_cast<float>(man), 1 - bias - manBits);
  } else {
    out = std::ldexp(static_cast<float>(man + (1u << manBits)), static_cast<int>(exp) - bias - manBits);
  }
  return sign ? -out : out;
}

/// Encodes to float8 rounding to nearest even. With `saturate`, values beyond the largest finite value
/// (and, for E4M3FN, infinities) become that value; without it they become inf (E5M2) or nan (E4M3FN).
inline uint8_t floatToFloat8(float f, int manBits, int bias, bool hasInf, bool saturate) {
  int expBits = 7 - manBits;
  uint8_t sign = std::signbit(f) ? 0x80 : 0;
  if (std::isnan(f)) return static_cast<uint8_t>(sign | 0x7f);
  float a = std::fabs(f);
  // Largest finite encoding.
  uint32_t expMax = (1u << expBits) - 1u;
  uint8_t maxCode = hasInf ? static_cast<uint8_t>(((expMax - 1) << manBits) | ((1u << manBits) - 1u))
                           : static_cast<uint8_t>((expMax << manBits) | ((1u << manBits) - 2u));
  float maxValue = float8ToFloat(maxCode, manBits, bias, hasInf);
  if (std::isinf(a)) {
    if (saturate) return static_cast<uint8_t>(sign | maxCode);
    return hasInf ? static_cast<uint8_t>(sign | (expMax << manBits)) : static_cast<uint8_t>(sign | 0x7f);
  }
  // Find the encoding by rounding in units of the target's ulp at a's binade.
  int e = 0;
  std::frexp(a, &e);  // a = frac * 2^e, frac in [0.5, 1)
  int unbiased = e - 1;
  int minNormalExp = 1 - bias;
  int ulpExp = (unbiased < minNormalExp ? minNormalExp : unbiased) - manBits;
  float scaled = std::ldexp(a, -ulpExp);
  float q = std::nearbyint(scaled);  // ties to even under the default rounding mode
  float rounded = std::ldexp(q, ulpExp);
  if (rounded > maxValue) {
    if (saturate) return static_cast<uint8_t>(sign | maxCode);
    return hasInf ? static_cast<uint8_t>(sign | (expMax << manBits)) : static_cast<uint8_t>(sign | 0x7f);
  }
  if (rounded == 0.0f) return sign;
  int re = 0;
  std::frexp(rounded, &re);
  int rexp = re - 1;
  uint32_t code;
  if (rexp < minNormalExp) {
    code = static_cast<uint32_t>(std::ldexp(rounded, bias - 1 + manBits));
  } else {
    auto mant = static_cast<uint32_t>(std::ldexp(rounded, manBits - rexp)) - (1u << manBits);
    code = (static_cast<uint32_t>(rexp + bias) << manBits) | mant;
  }
  return static_cast<uint8_t>(sign | code);
}

inline float toFloat(Float16 v) {
  return float16ToFloat(v.bits);
}
inline float toFloat(BFloat16 v) {
  return bfloat16ToFloat(v.bits);
}
inline float toFloat(Float8E4M3 v) {
  return float8ToFloat(v.bits, 3, 7, false);
}
inline float toFloat(Float8E5M2 v) {
  return float8ToFloat(v.bits, 2, 15, true);
}

}  // namespace lowp::ir
