// ONNX's Attention (opsets 23 and 24): scaled dot-product attention over heads, with grouped key/value
// heads, a key/value cache, masks and their outputs, as transformer exporters write it. Its schema is in
// onnx_attention.cpp, its reference kernel in kernels/reference/onnx_attention.cpp. (lowp.Attention,
// attention.h, is the builder's own fused form of the MatMul-Softmax-MatMul pattern.)
//
// Inputs: Q, K, V; optional attn_mask, past_key, past_value, and (opset 24) nonpad_kv_seqlen.
//   4-D: Q [B, Hq, Sq, D], K [B, Hkv, Skv, D], V [B, Hkv, Skv, Dv]
//   3-D: Q [B, Sq, Hq * D], K [B, Skv, Hkv * D], V [B, Skv, Hkv * Dv], the heads counted by the attributes
//        q_num_heads and kv_num_heads (both required then); Y comes back 3-D, [B, Sq, Hq * Dv].
//   past_key [B, Hkv, P, D] and past_value [B, Hkv, P, Dv] precede K and V along the sequence: the keys are
//   T = P + Skv long, and present_key / present_value (outputs 1 and 2, always 4-D) are those T keys.
//   Hq must be a multiple of Hkv: query head h reads key/value head h / (Hq / Hkv).
//   attn_mask broadcasts (NumPy rules, from the right) to [B, Hq, Sq, T], except that its last dim may be
//   shorter than T: the keys past it are masked. A bool mask keeps the keys where it is true; a float mask
//   is added to the scores.
//   nonpad_kv_seqlen [B] (int64): keys j >= nonpad_kv_seqlen[b] are masked for batch b.
// Attributes: scale (default 1 / sqrt(D)), is_causal, softcap, qk_matmul_output_mode, softmax_precision.
// Per batch b, query head h and query row i, over the keys j < T:
//   s[j]  = scale * (Q[b, h, i] . K[b, h', j])
//   s[j]  = softcap * tanh(s[j] / softcap)            when softcap > 0 (before the mask: masked stays -inf)
//   s'[j] = s[j] + bias[j]: the float mask; -inf for keys a bool mask, the mask's end or nonpad_kv_seqlen
//           masks, and with is_causal for j > i + offset, offset = P with a cache, nonpad_kv_seqlen[b] - Sq
//           without one, else 0 (bottom-right aligned)
//   p = softmax(s'), and p = 0 for a row whose every key is masked (no NaN);  Y[b, h, i] = sum_j p[j] V[b,
//   h', j]
// Output 3, qk_matmul_output [B, Hq, Sq, T], is s (modes 0 and 1), s' (mode 2) or p (mode 3).
// Types: Q, K, past_key, Y, present_key and qk_matmul_output one float type; V, past_value and
// present_value one float type (the two may differ); the mask bool or a float type. softmax_precision only
// names the type the softmax is computed in, at least fp32 here.
#pragma once

#include <cstddef>

namespace lowp::ir::ops {

inline constexpr size_t kOnnxAttentionQ = 0;
inline constexpr size_t kOnnxAttentionK = 1;
inline constexpr size_t kOnnxAttentionV = 2;
inline constexpr size_t kOnnxAttentionMask = 3;
inline constexpr size_t kOnnxAttentionPastKey = 4;
inline constexpr size_t kOnnxAttentionPastValue = 5;
inline constexpr size_t kOnnxAttentionNonpad = 6;

inline constexpr size_t kOnnxAttentionY = 0;
inline constexpr size_t kOnnxAttentionPresentKey = 1;
inline constexpr size_t kOnnxAttentionPresentValue = 2;
inline constexpr size_t kOnnxAttentionQk = 3;

}  // namespace lowp::ir::ops
