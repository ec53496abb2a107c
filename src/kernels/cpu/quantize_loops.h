// The per-ISA loops of the fast QuantizeLinear / DequantizeLinear kernels (quantize.cpp): fp32 to and from
// int8 / uint8 with one scale and one zero point for the whole tensor.
//
//   quantize    y[i] = saturate(round_half_even(x[i] / scale) + zeroPoint), NaN quantizing as 0 (so to the
//               zero point), +-Inf to the type's ends: the rules of the reference kernel
//               (kernels/reference/conversion.cpp). The division is fp32 division, which equals the
//               reference's (the fp32 quotient rounded from double is the correctly rounded one).
//   dequantize  y[i] = (x[i] - zeroPoint) * scale in fp32: x - zeroPoint is exact, so the product rounds
//   once,
//               as the reference's exact long double product rounded to fp32 does.
// Bit-exact with the reference kernels; tests/unit/test_int8_kernels.cpp (Int8Quantize*) checks both tables.
//
// Included by the ISA-specific files (quantize_avx512.cpp, quantize_avx2.cpp): plain declarations only (see
// simd_kernels.h for why).
#pragma once

#include <cstdint>

namespace lowp::kernels::cpu {

struct QuantizeLoops {
  const char* isa;  ///< "avx512" or "avx2".
  /// y (int8 when isSigned, else uint8) from x, elements [0, n).
  void (*quantize)(const float* x, void* y, bool isSigned, float scale, int32_t zeroPoint, int64_t n);
  /// y from x (int8 when isSigned, else uint8), elements [0, n).
  void (*dequantize)(const void* x, bool isSigned, float* y, float scale, int32_t zeroPoint, int64_t n);
};

/// AVX-512 (F, BW, VL) loops; call only where runtime::cpuSupports(kAvx512).
const QuantizeLoops& avx512QuantizeLoops();
/// AVX2 loops; call only where runtime::cpuSupports(kAvx2).
const QuantizeLoops& avx2QuantizeLoops();

}  // namespace lowp::kernels::cpu
