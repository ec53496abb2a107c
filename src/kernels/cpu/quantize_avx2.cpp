// The quantize / dequantize loops of quantize_loops.h on AVX2: 8 fp32 lanes per step, the tail of fewer
// than 8 elements in scalar code with the same operations (fp32 division, round to nearest even, clamp).
// quantize: vdivps, NaN lanes set to 0, vroundps to nearest even, + zero point, clamped in fp32 (exact),
// vcvtps2dq, then packed to bytes with saturating packs (the values already lie in the type's range).
// dequantize: vpmovsxbd / vpmovzxbd, - zero point, vcvtdq2ps, one vmulps.
// Covered by tests/unit/test_int8_kernels.cpp (Int8Quantize*), which runs this table on AVX-512 machines too.
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/quantize_loops.h"

namespace lowp::kernels::cpu {
namespace {

float quantizeScalar(float x, float scale, float zeroPoint, float lo, float hi) {
  const float q = x / scale;
  const float r = std::isnan(q) ? 0.0f : std::nearbyint(q);  // the default rounding mode: half to even
  return std::fmin(std::fmax(r + zeroPoint, lo), hi);
}

void quantize(const float* x, void* y, bool isSigned, float scale, int32_t zeroPoint, int64_t n) {
  auto* out = static_cast<int8_t*>(y);
  const float zf = static_cast<float>(zeroPoint);
  const float lof = isSigned ? -128.0f : 0.0f;
  const float hif = isSigned ? 127.0f : 255.0f;
  const __m256 s = _mm256_set1_ps(scale);
  const __m256 z = _mm256_set1_ps(zf);
  const __m256 lo = _mm256_set1_ps(lof);
  const __m256 hi = _mm256_set1_ps(hif);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 q = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
    q = _mm256_andnot_ps(_mm256_cmp_ps(q, q, _CMP_UNORD_Q), q);  // NaN lanes -> +0
    q = _mm256_round_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(q, z), lo), hi);
    const __m256i v = _mm256_cvtps_epi32(q);
    const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i bytes = isSigned ? _mm_packs_epi16(words, words) : _mm_packus_epi16(words, words);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), bytes);
  }
  for (; i < n; ++i) {
    const auto v = static_cast<int32_t>(quantizeScalar(x[i], scale, zf, lof, hif));
    if (isSigned) {
      out[i] = static_cast<int8_t>(v);
    } else {
      static_cast<uint8_t*>(y)[i] = static_cast<uint8_t>(v);
    }
  }
}

void dequantize(const void* x, bool isSigned, float* y, float scale, int32_t zeroPoint, int64_t n) {
  const auto* in = static_cast<const int8_t*>(x);
  const auto* inU = static_cast<const uint8_t*>(x);
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i z = _mm256_set1_epi32(zeroPoint);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + i));
    const __m256i v = isSigned ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)), s));
  }
  for (; i < n; ++i) {
    const int32_t v = isSigned ? int32_t{in[i]} : int32_t{inU[i]};
    y[i] = static_cast<float>(v - zeroPoint) * scale;
  }
}

}  // namespace

const QuantizeLoops& avx2QuantizeLoops() {
  static constexpr QuantizeLoops kLoops{"avx2", quantize, dequantize};
  return kLoops;
}

}  // namespace lowp::kernels::cpu
