// The loops of simd_loops.h on AVX-512 (F, BW, DQ, VL with F16C and FMA; no BF16 instructions): 16 fp32 lanes
// per vector, lane masks in k registers, partial vectors through a zero-padded buffer. bf16 rounds with
// integer arithmetic (round to nearest even, NaN quietened as the reference does) rather than vcvtneps2bf16,
// which flushes denormals. fp16 converts with F16C (vcvtps2ph round to nearest even); NaNs are then rewritten
// to the reference's bit patterns. Covered by tests/unit/test_cpu_kernels.cpp.
#include <immintrin.h>

#include "kernels/cpu/simd_kernels.h"
#include "kernels/cpu/simd_loops.h"

// GCC 12 reports the self-initialised "undefined" vectors inside its own AVX-512 intrinsics
// (_mm512_undefined_*, used by _mm512_cvtps_epi32 and others) as (maybe-)uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lowp::kernels::cpu {
namespace {

struct Avx512 {
  using F = __m512;
  using M = __mmask16;
  using D = __m512d;
  static constexpr int kWidth = 16;

  static F set1(float v) { return _mm512_set1_ps(v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
  static F sqrt(F a) { return _mm512_sqrt_ps(a); }
  static F roundNearest(F a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static F floor(F a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
  static F pow2(F n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  }
  static F bitAnd(F a, F b) { return _mm512_and_ps(a, b); }
  static F bitOr(F a, F b) { return _mm512_or_ps(a, b); }
  static F bitXor(F a, F b) { return _mm512_xor_ps(a, b); }
  static F andNot(F a, F b) { return _mm512_andnot_ps(a, b); }
  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M le(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M unordered(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q); }
  static F select(M m, F a, F b) { return _mm512_mask_blend_ps(m, b, a); }
  static M firstLanes(int n) { return static_cast<M>((1u << n) - 1u); }
  static float lane0(F a) { return _mm512_cvtss_f32(a); }
  static float hmax(F a) { return _mm512_reduce_max_ps(a); }

  static F loadF32(const float* p) { return _mm512_loadu_ps(p); }
  static void storeF32(float* p, F v) { _mm512_storeu_ps(p, v); }

  static F loadBf16(const uint16_t* p) {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
  /// The bf16 bits of v (in the low half of each lane): round to nearest even; NaN keeps its top half with
  /// the quiet bit set.
  static __m512i bf16Bits(F v) {
    const __m512i x = _mm512_castps_si512(v);
    const __m512i top = _mm512_srli_epi32(x, 16);
    const __m512i bias =
        _mm512_add_epi32(_mm512_and_si512(top, _mm512_set1_epi32(1)), _mm512_set1_epi32(0x7fff));
    const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(x, bias), 16);
    const __m512i quiet = _mm512_or_si512(top, _mm512_set1_epi32(0x40));
    return _mm512_mask_blend_epi32(unordered(v, v), rounded, quiet);
  }
  static void storeBf16(uint16_t* p, F v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(bf16Bits(v)));
  }
  static F roundBf16(F v) { return _mm512_castsi512_ps(_mm512_slli_epi32(bf16Bits(v), 16)); }

  static F loadF16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  /// As loadF16, but a NaN keeps its payload unquietened: sign | 0x7f800000 | mantissa << 13.
  static F loadF16Exact(const uint16_t* p) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m512i w = _mm512_cvtepu16_epi32(h);
    const __mmask16 nan =
        _mm512_cmpgt_epi32_mask(_mm512_and_si512(w, _mm512_set1_epi32(0x7fff)), _mm512_set1_epi32(0x7c00));
    const __m512i sign = _mm512_slli_epi32(_mm512_and_si512(w, _mm512_set1_epi32(0x8000)), 16);
    const __m512i man = _mm512_slli_epi32(_mm512_and_si512(w, _mm512_set1_epi32(0x3ff)), 13);
    const __m512i bits = _mm512_or_si512(_mm512_or_si512(sign, man), _mm512_set1_epi32(0x7f800000));
    return _mm512_mask_blend_ps(nan, _mm512_cvtph_ps(h), _mm512_castsi512_ps(bits));
  }
  static void storeF16(uint16_t* p, F v) {
    const __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // NaN becomes sign | 0x7e00 (the reference drops the payload).
    const __m512i sign =
        _mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(v), 16), _mm512_set1_epi32(0x8000));
    const __m256i quiet = _mm512_cvtepi32_epi16(_mm512_or_si512(sign, _mm512_set1_epi32(0x7e00)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm256_mask_blend_epi16(unordered(v, v), h, quiet));
  }
  static F roundF16(F v) {
    return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }

  static D widenLo(F v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
  static D widenHi(F v) {
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  }
  static D dzero() { return _mm512_setzero_pd(); }
  static D dset1(double v) { return _mm512_set1_pd(v); }
  static D dadd(D a, D b) { return _mm512_add_pd(a, b); }
  static D dsub(D a, D b) { return _mm512_sub_pd(a, b); }
  static D dfmadd(D a, D b, D c) { return _mm512_fmadd_pd(a, b, c); }
  static double dhsum(D a) { return _mm512_reduce_add_pd(a); }
};

}  // namespace

// Constant data: reading the table runs no AVX512 instruction.
constexpr IsaKernels kAvx512Table = loops::makeTable<Avx512>("avx512");

const IsaKernels& avx512Kernels() {
  return kAvx512Table;
}

}  // namespace lowp::kernels::cpu
