// lowp.Attention: scaled dot-product attention, made by the fuse_attention pass from the ONNX pattern
// MatMul -> [Mul or Div by a scalar] -> [Add mask] -> Softmax(last axis) -> MatMul, and run by one kernel
// that keeps the scores of a query row in cache (CPU) or on chip (CUDA) instead of in a tensor in memory.
//
// Inputs (one float type: fp32, fp64, fp16 or bf16):
//   Q     [..., Sq, D]
//   Kt    [..., D, Sk]   K already transposed: exactly the second operand of the first MatMul
//   V     [..., Sk, Dv]
//   mask  (optional) broadcastable to [..., Sq, Sk] without growing it: rank at most Q's, every dim 1 or the
//         scores' dim (NumPy rules, aligned from the right), e.g. [Sq, Sk], [B, 1, 1, Sk], [B, H, Sq, Sk]
// Attributes: scale (float, default 1); zero_masked_rows (int, default 0): 1 makes a row whose every score is
// -inf (every key masked) give zeros, as ONNX's Attention defines, instead of the NaN the unfused Softmax
// gives (lower_attention.cpp sets it); softcap (float, default 0: none): scores capped to (-softcap,
// softcap) by softcap * tanh(s / softcap) before the mask, as ONNX's Attention's softcap does; causal (int,
// default 0): 1 masks key j for query row i where j > i + Sk - Sq (the diagonal aligned to the last key, as
// a causal mask over a cache of Sk - Sq keys is), on top of any mask, without a mask tensor to read (the
// CUDA flash kernel skips the chunks of keys no row of its block sees).
// Output Y [..., Sq, Dv], Q's type:
//   s = scale * (Q . Kt);  S = cap(s) + mask;  P = softmax(S) along the last axis;  Y = P . V
// Batch dims: Q, Kt and V have the same rank (2 or more) and equal leading dims; NumPy matmul's broadcasting
// of the leading dims is not supported (shape inference rejects it, and the pass does not fuse such graphs).
//
// Numerics of the reference kernel (kernels/reference/attention.cpp), the oracle of the faster kernels:
// fp16/bf16 inputs are widened exactly to fp32; everything is computed in fp32 (fp64 for fp64 tensors): the
// products summed over D and over Sk in ascending order from zero without FMA, s = scale * sum, capped
// (tanh of the compute type), then + mask,
// softmax with the row maximum subtracted and the sum of exponentials in double; Y is rounded once to its
// type (nearest even). S and P are never rounded to fp16/bf16. On fp32 tensors this equals the unfused
// graph exactly when the scale came from a Mul (or is 1); a Div by c becomes scale = 1 / c, which may differ
// from the division in the last bit of each score. Rows whose mask is -inf everywhere give NaN, as the
// unfused Softmax does, or zeros with
// zero_masked_rows. The faster kernels differ from the reference by rounding only: the CPU kernels sum
// with FMA (kernels/cpu/attention.cpp); the CUDA tensor-core kernels (fp16, bf16) round P to the tensor type
// before P . V, as the unfused graph does, and sum in fp32 (kernels/cuda/attention.cu).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/attribute.h"
#include "ir/shape.h"

namespace lowp::ir::ops {

inline constexpr std::string_view kAttentionOp = "Attention";
inline constexpr std::string_view kAttentionZeroMaskedRows = "zero_masked_rows";
inline constexpr std::string_view kAttentionSoftcap = "softcap";
inline constexpr std::string_view kAttentionCausal = "causal";

/// Whether the node's fully masked rows give zeros (zero_masked_rows = 1) rather than NaN.
inline bool attentionZeroesMaskedRows(const AttributeMap& attrs) {
  return attrs.getInt(kAttentionZeroMaskedRows, 0) != 0;
}

/// The node's softcap (0: the scores are not capped).
inline float attentionSoftcap(const AttributeMap& attrs) {
  return attrs.getFloat(kAttentionSoftcap, 0.0f);
}

/// Whether the node masks the keys past each query row's diagonal (causal = 1).
inline bool attentionIsCausal(const AttributeMap& attrs) {
  return attrs.getInt(kAttentionCausal, 0) != 0;
}

/// The node input slots of lowp.Attention.
inline constexpr size_t kAttentionQ = 0;
inline constexpr size_t kAttentionKt = 1;
inline constexpr size_t kAttentionV = 2;
inline constexpr size_t kAttentionMask = 3;

/// What the kernels require of Q, Kt and V's sizes: [..., Sq, D], [..., D, Sk], [..., Sk, Dv] with the same
/// leading dims, except that with grouped key/value heads (kvGroup query heads to one key/value head) Kt's
/// and V's innermost leading dim is Q's over kvGroup: query head h, counted over all leading dims, reads
/// key/value head h / kvGroup. nullopt when they fit, else the message that says how they do not.
inline std::optional<std::string> attentionOperandMismatch(const std::vector<int64_t>& q,
                                                           const std::vector<int64_t>& kt,
                                                           const std::vector<int64_t>& v,
                                                           int64_t kvGroup = 1) {
  const size_t r = q.size();
  auto sameLeads = [&](const std::vector<int64_t>& x) {
    if (r < 3) return kvGroup == 1;
    return std::equal(q.begin(), q.end() - 3, x.begin()) && x[r - 3] * kvGroup == q[r - 3];
  };
  const bool fits = r >= 2 && kt.size() == r && v.size() == r && sameLeads(kt) && sameLeads(v) &&
                    q[r - 1] == kt[r - 2] && kt[r - 1] == v[r - 2];
  if (fits) return std::nullopt;
  return "Q " + formatSizes(q) + ", Kt " + formatSizes(kt) + " and V " + formatSizes(v) +
         " are not [..., Sq, D], [..., D, Sk], [..., Sk, Dv]" +
         (kvGroup > 1 ? " with " + std::to_string(kvGroup) + " query heads to a key/value head" : "");
}

}  // namespace lowp::ir::ops
