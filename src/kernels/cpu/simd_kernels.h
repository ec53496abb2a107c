// lowp's own vectorised CPU kernels: the per-ISA inner loops and the registration of the kernels built on
// them.
//
// Layout: every tensor is dense row-major. Floats are stored as fp32, bf16 or fp16 (Storage); bf16 and fp16
// are storage only on the CPUs lowp targets: each element is widened to fp32, computed in fp32 and rounded
// back to nearest even, exactly as the reference kernels (kernels/reference/) do. The same loops are
// compiled twice, once per ISA (kernels_avx512.cpp: 16 lanes, kernels_avx2.cpp: 8 lanes, both from the
// templates in simd_loops.h); cpu_kernels.cpp wraps them into registry kernels that split the work with
// ctx.parallelFor. Tests: tests/unit/test_cpu_kernels.cpp calls both tables directly and every kernel
// against its reference kernel.
//
// This header is included by the ISA-specific files, so it declares plain data and functions only and
// includes nothing with inline code: a file compiled for AVX-512 must not emit a copy of a shared inline
// function that the rest of the program could end up linking against.
#pragma once

#include <algorithm>
#include <cstdint>

namespace lowp::kernels::cpu {

/// How a float tensor's elements are stored.
enum class Storage : uint8_t { kF32 = 0, kBf16 = 1, kF16 = 2 };

/// The elementwise operations the vectorised loops implement; one program step each.
enum class StepOp : uint8_t {
  // Unary.
  kRelu,
  kLeakyRelu,  ///< alpha: slope for x < 0.
  kSigmoid,
  kTanh,
  kExp,
  kErf,
  kGelu,         ///< alpha 0: erf form; alpha 1: tanh approximation.
  kHardSigmoid,  ///< alpha, beta: clamp(alpha * x + beta, 0, 1).
  kHardSwish,
  kClip,  ///< alpha: min, beta: max.
  kNeg,
  kAbs,
  kSqrt,
  kReciprocal,
  // Binary: value OP operand, or operand OP value when operandFirst.
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMax,
  kMin,
};

/// True for the binary ops (kAdd and after).
constexpr bool isBinary(StepOp op) {
  return static_cast<uint8_t>(op) >= static_cast<uint8_t>(StepOp::kAdd);
}

/// One step of an elementwise program. A binary step's operand is read under broadcasting as a view of
/// `channels` values, each repeated `inner` times, the pattern repeating over the tensor: element i reads
/// operand[(i / inner) % channels]. Same shape: channels = n, inner = 1; scalar: channels = 1; last-axis
/// broadcast of L values: channels = L, inner = 1; per-channel [C,1,1] over [N,C,H,W]: channels = C,
/// inner = H*W. The operand has the program's storage.
struct ProgramStep {
  StepOp op = StepOp::kRelu;
  float alpha = 0.0f;
  float beta = 0.0f;
  bool operandFirst = false;
  const void* operand = nullptr;
  int64_t channels = 1;
  int64_t inner = 1;
};

/// The most steps runProgram takes (longer chains run with the reference kernel).
inline constexpr int kMaxProgramSteps = 64;

/// One (batch, head) of lowp.Attention in fp32, as attentionRows reads it (cpu/attention.cpp prepares it):
/// Q [Sq, d] with row stride d; Kt [d, ldk] whose columns from sk to ldk - 1 hold any finite values; V
/// [sk, ldv] whose columns from dv to ldv - 1 likewise; the mask (null for none) with element (i, j) at
/// mask[i * maskRowStride + j]; Y [Sq, ldy]. ldk and ldv are multiples of kAttentionPadding, so the loops
/// read whole vectors of Kt and V rows.
struct AttentionHead {
  const float* q = nullptr;
  const float* kt = nullptr;
  const float* v = nullptr;
  const float* mask = nullptr;
  float* y = nullptr;
  int64_t sk = 0;
  int64_t d = 0;
  int64_t dv = 0;
  int64_t ldk = 0;
  int64_t ldv = 0;
  int64_t ldy = 0;
  int64_t maskRowStride = 0;
  float scale = 1.0f;
  /// Scores capped to softcap * tanh(s / softcap) before the mask when positive (lowp.Attention's softcap).
  float softcap = 0.0f;
  /// A row whose every score is -inf gives Y = 0 (lowp.Attention's zero_masked_rows), not NaN.
  bool zeroMaskedRows = false;
  /// lowp.Attention's causal: row r (of this head's q) sees keys j < causalKeys + r only (clamped to
  /// [0, sk]); causalKeys is the first row's count.
  bool causal = false;
  int64_t causalKeys = 0;

  /// How many of the first keys row `row` sees: sk, or with causal those up to its diagonal.
  int64_t keysSeen(int64_t row) const { return causal ? std::clamp<int64_t>(causalKeys + row, 0, sk) : sk; }
};

/// The multiple of 16 floats (one AVX-512 vector, two AVX2 vectors) an AttentionHead's ldk and ldv are.
inline constexpr int64_t kAttentionPadding = 16;
/// The most query rows attentionRows computes together (8 on AVX-512, 4 on AVX2); its scratch holds this
/// many rows of ldk floats.
inline constexpr int64_t kAttentionRowTile = 8;

/// The inner loops of one ISA. Element ranges are [begin, end) of dense tensors; none of them threads.
struct IsaKernels {
  const char* isa;  ///< "avx512" or "avx2".
  /// dst[i] = src[i] converted, i in [0, n). Narrowing rounds to nearest even; NaN becomes the reference's
  /// quiet NaN (bf16: the top half with the quiet bit set; fp16: sign | 0x7e00); widening is exact.
  void (*cast)(Storage from, const void* src, Storage to, void* dst, int64_t n);
  /// y[i] = steps applied to x[i] in order, i in [begin, end); stepCount <= kMaxProgramSteps. Between
  /// steps the value is rounded to the storage type, so the result equals running the steps as separate
  /// ops.
  void (*runProgram)(Storage storage, const ProgramStep* steps, int stepCount, const void* x, void* y,
                     int64_t begin, int64_t end);
  /// Softmax over each of rows [rowBegin, rowEnd) of `size` contiguous elements: max subtracted first, sum
  /// of exponentials accumulated in double.
  void (*softmaxRows)(Storage storage, const void* x, void* y, int64_t rowBegin, int64_t rowEnd,
                      int64_t size);
  /// LayerNormalization of rows [rowBegin, rowEnd) of `size` elements: mean and variance in double (two
  /// passes), then y = (x - mean) * invStdDev * scale + bias in fp32. scale and bias (nullable) hold `size`
  /// elements of the same storage.
  void (*layerNormRows)(Storage storage, const void* x, const void* scale, const void* bias, void* y,
                        int64_t rowBegin, int64_t rowEnd, int64_t size, double epsilon);
  /// Attention rows [rowBegin, rowEnd) of one head: the scores of up to kAttentionRowTile query rows at a
  /// time (products summed over d with FMA), S = scale * s + mask, e = exp(S - max) (flushed below 1.2e-38),
  /// then Y = (e . V) / sum; `scratch` holds kAttentionRowTile * ldk floats.
  void (*attentionRows)(const AttentionHead& head, int64_t rowBegin, int64_t rowEnd, float* scratch);
};

/// The AVX-512 loops (F, BW, DQ, VL; F16C and FMA). Call only where runtime::cpuSupports(kAvx512).
const IsaKernels& avx512Kernels();
/// The AVX2 loops (AVX2, FMA, F16C). Call only where runtime::cpuSupports(kAvx2).
const IsaKernels& avx2Kernels();

}  // namespace lowp::kernels::cpu
