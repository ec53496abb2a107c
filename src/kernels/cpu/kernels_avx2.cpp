// The loops of simd_loops.h on AVX2 with FMA and F16C: 8 fp32 lanes per vector, lane masks as all-ones
// lanes of a vector, partial vectors through a zero-padded buffer. bf16 rounds with integer arithmetic
// (round to nearest even, NaN quietened as the reference does); fp16 converts with F16C (vcvtps2ph round to
// nearest even) and NaNs are then rewritten to the reference's bit patterns. Covered by
// tests/unit/test_cpu_kernels.cpp, which calls this table directly on AVX-512 machines too.
#include <immintrin.h>

#include "kernels/cpu/simd_kernels.h"
#include "kernels/cpu/simd_loops.h"

namespace lowp::kernels::cpu {
namespace {

struct Avx2 {
  using F = __m256;
  using M = __m256;
  using D = __m256d;
  static constexpr int kWidth = 8;

  static F set1(float v) { return _mm256_set1_ps(v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
  static F sqrt(F a) { return _mm256_sqrt_ps(a); }
  static F roundNearest(F a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F floor(F a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
  static F pow2(F n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  }
  static F bitAnd(F a, F b) { return _mm256_and_ps(a, b); }
  static F bitOr(F a, F b) { return _mm256_or_ps(a, b); }
  static F bitXor(F a, F b) { return _mm256_xor_ps(a, b); }
  static F andNot(F a, F b) { return _mm256_andnot_ps(a, b); }
  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M le(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
  static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M ge(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M unordered(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
  static F select(M m, F a, F b) { return _mm256_blendv_ps(b, a, m); }
  static M firstLanes(int n) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), lanes));
  }
  static float lane0(F a) { return _mm256_cvtss_f32(a); }
  static float hmax(F a) {
    // max(v, m) keeps m for NaN lanes, as the loops' running maximum does.
    __m128 m = _mm_max_ps(_mm256_extractf128_ps(a, 1), _mm256_castps256_ps128(a));
    m = _mm_max_ps(_mm_movehl_ps(m, m), m);
    m = _mm_max_ss(_mm_movehdup_ps(m), m);
    return _mm_cvtss_f32(m);
  }

  static F loadF32(const float* p) { return _mm256_loadu_ps(p); }
  static void storeF32(float* p, F v) { _mm256_storeu_ps(p, v); }

  /// The low 16 bits of each 32-bit lane, packed into 8 uint16 values.
  static __m128i narrow(__m256i w) {
    const __m256i packed = _mm256_packus_epi32(w, w);  // [w0-3 w0-3 | w4-7 w4-7], values fit
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08));
  }

  static F loadBf16(const uint16_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  /// The bf16 bits of v (in the low half of each lane): round to nearest even; NaN keeps its top half with
  /// the quiet bit set.
  static __m256i bf16Bits(F v) {
    const __m256i x = _mm256_castps_si256(v);
    const __m256i top = _mm256_srli_epi32(x, 16);
    const __m256i bias =
        _mm256_add_epi32(_mm256_and_si256(top, _mm256_set1_epi32(1)), _mm256_set1_epi32(0x7fff));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(x, bias), 16);
    const __m256i quiet = _mm256_or_si256(top, _mm256_set1_epi32(0x40));
    return _mm256_blendv_epi8(rounded, quiet, _mm256_castps_si256(unordered(v, v)));
  }
  static void storeBf16(uint16_t* p, F v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), narrow(bf16Bits(v)));
  }
  static F roundBf16(F v) { return _mm256_castsi256_ps(_mm256_slli_epi32(bf16Bits(v), 16)); }

  static F loadF16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  /// As loadF16, but a NaN keeps its payload unquietened: sign | 0x7f800000 | mantissa << 13.
  static F loadF16Exact(const uint16_t* p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m256i w = _mm256_cvtepu16_epi32(h);
    const __m256i nan =
        _mm256_cmpgt_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x7fff)), _mm256_set1_epi32(0x7c00));
    const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x8000)), 16);
    const __m256i man = _mm256_slli_epi32(_mm256_and_si256(w, _mm256_set1_epi32(0x3ff)), 13);
    const __m256i bits = _mm256_or_si256(_mm256_or_si256(sign, man), _mm256_set1_epi32(0x7f800000));
    return _mm256_blendv_ps(_mm256_cvtph_ps(h), _mm256_castsi256_ps(bits), _mm256_castsi256_ps(nan));
  }
  static void storeF16(uint16_t* p, F v) {
    const __m256i h =
        _mm256_cvtepu16_epi32(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    // NaN becomes sign | 0x7e00 (the reference drops the payload).
    const __m256i sign =
        _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(v), 16), _mm256_set1_epi32(0x8000));
    const __m256i quiet = _mm256_or_si256(sign, _mm256_set1_epi32(0x7e00));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                     narrow(_mm256_blendv_epi8(h, quiet, _mm256_castps_si256(unordered(v, v)))));
  }
  static F roundF16(F v) {
    return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }

  static D widenLo(F v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
  static D widenHi(F v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }
  static D dzero() { return _mm256_setzero_pd(); }
  static D dset1(double v) { return _mm256_set1_pd(v); }
  static D dadd(D a, D b) { return _mm256_add_pd(a, b); }
  static D dsub(D a, D b) { return _mm256_sub_pd(a, b); }
  static D dfmadd(D a, D b, D c) { return _mm256_fmadd_pd(a, b, c); }
  static double dhsum(D a) {
    const __m128d s = _mm_add_pd(_mm256_extractf128_pd(a, 1), _mm256_castpd256_pd128(a));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
};

}  // namespace

// Constant data: reading the table runs no AVX2 instruction.
constexpr IsaKernels kAvx2Table = loops::makeTable<Avx2>("avx2");

const IsaKernels& avx2Kernels() {
  return kAvx2Table;
}

}  // namespace lowp::kernels::cpu
