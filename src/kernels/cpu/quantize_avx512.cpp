// The quantize / dequantize loops of quantize_loops.h on AVX-512 (F, BW, VL): 16 fp32 lanes per step, the
// tail through lane masks (masked loads and vpmovdb stores touch only the first n elements).
// quantize: vdivps, NaN lanes set to 0, vrndscaleps to nearest even, + zero point, clamped to the type's
// range in fp32 (exact: every value is an integer below 2^24 or saturates), vcvtps2dq, vpmovdb.
// dequantize: vpmovsxbd / vpmovzxbd, - zero point, vcvtdq2ps, one vmulps.
// Covered by tests/unit/test_int8_kernels.cpp (Int8Quantize*).
#include <immintrin.h>

#include "kernels/cpu/quantize_loops.h"

// GCC 12 reports the self-initialised "undefined" vectors inside its own AVX-512 intrinsics as
// (maybe-)uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lowp::kernels::cpu {
namespace {

__m512i quantize16(__m512 x, __m512 scale, __m512 zeroPoint, __m512 lo, __m512 hi) {
  __m512 q = _mm512_div_ps(x, scale);
  q = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q), q, _mm512_setzero_ps());
  q = _mm512_roundscale_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(q, zeroPoint), lo), hi);
  return _mm512_cvtps_epi32(q);
}

void quantize(const float* x, void* y, bool isSigned, float scale, int32_t zeroPoint, int64_t n) {
  auto* out = static_cast<int8_t*>(y);
  const __m512 s = _mm512_set1_ps(scale);
  const __m512 z = _mm512_set1_ps(static_cast<float>(zeroPoint));
  const __m512 lo = _mm512_set1_ps(isSigned ? -128.0f : 0.0f);
  const __m512 hi = _mm512_set1_ps(isSigned ? 127.0f : 255.0f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm512_cvtepi32_epi8(quantize16(_mm512_loadu_ps(x + i), s, z, lo, hi)));
  }
  if (i < n) {
    const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_cvtepi32_storeu_epi8(out + i, mask,
                                     quantize16(_mm512_maskz_loadu_ps(mask, x + i), s, z, lo, hi));
  }
}

__m512 dequantize16(__m128i bytes, bool isSigned, __m512i zeroPoint, __m512 scale) {
  const __m512i v = isSigned ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, zeroPoint)), scale);
}

void dequantize(const void* x, bool isSigned, float* y, float scale, int32_t zeroPoint, int64_t n) {
  const auto* in = static_cast<const int8_t*>(x);
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i z = _mm512_set1_epi32(zeroPoint);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(y + i,
                     dequantize16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)), isSigned, z, s));
  }
  if (i < n) {
    const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, mask, dequantize16(_mm_maskz_loadu_epi8(mask, in + i), isSigned, z, s));
  }
}

}  // namespace

const QuantizeLoops& avx512QuantizeLoops() {
  static constexpr QuantizeLoops kLoops{"avx512", quantize, dequantize};
  return kLoops;
}

}  // namespace lowp::kernels::cpu
