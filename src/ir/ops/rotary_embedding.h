// ONNX's RotaryEmbedding (opset 23): rotary position embeddings, which decoder exports apply to the queries
// and keys before Attention. Its schema is in rotary_embedding.cpp, its reference kernel in
// kernels/reference/rotary_embedding.cpp.
//
// Inputs: X; cos_cache and sin_cache; optional position_ids (int64).
//   X 4-D [B, H, S, D], or 3-D [B, S, H * D] with H given by the attribute num_heads.
//   With position_ids [B, S]: the caches are [P, >= R / 2], row position_ids[b, s] read for token (b, s)
//   (each id in [0, P)). Without: the caches are [B, S, >= R / 2], row (b, s) read for token (b, s).
// Attributes: rotary_embedding_dim R (default 0: D; even, at most D), interleaved (default 0), num_heads.
// Per token (b, s) and head h, with c = cos row, n = sin row, for i < R / 2:
//   x1 = X[..., 2i], x2 = X[..., 2i + 1] when interleaved, else x1 = X[..., i], x2 = X[..., i + R / 2];
//   Y at x1's place = c[i] x1 - n[i] x2, at x2's place = n[i] x1 + c[i] x2; Y[..., e] = X[..., e] for e >= R.
// Types: X, the caches and Y one float type. Y has X's shape.
#pragma once

#include <cstddef>

namespace lowp::ir::ops {

inline constexpr size_t kRotaryX = 0;
inline constexpr size_t kRotaryCos = 1;
inline constexpr size_t kRotarySin = 2;
inline constexpr size_t kRotaryPositions = 3;

}  // namespace lowp::ir::ops
