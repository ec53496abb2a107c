// The type and shape rule of ONNX's RotaryEmbedding (rotary_embedding.h): X as heads, the rotated width,
// the caches' rows against the positions or the tokens; Y is X's type and shape.
#include "ir/ops/rotary_embedding.h"

#include <string>

#include "ir/ops/common.h"

namespace lowp::ir::ops {
namespace {

Status inferRotaryEmbedding(InferContext& ctx) {
  const DataType type = ctx.inputType(kRotaryX);
  if (!isFloat(type))
    return ctx.invalid("X is " + std::string(dataTypeInfo(type).name) + ", not a float type");
  LOWP_RETURN_IF_ERROR(requireSameInputTypes(ctx, kRotaryX, kRotarySin));
  const Shape& x = ctx.inputShape(kRotaryX);
  const int64_t numHeads = ctx.attrs().getInt("num_heads", 0);
  Dim batch;
  Dim sequence;
  Dim headSize;
  if (x.rank() == 4) {
    if (numHeads > 0 && x[1].isKnown() && x[1].size != numHeads) {
      return ctx.invalid("X " + x.toString() + " has " + std::to_string(x[1].size) +
                         " heads, num_heads says " + std::to_string(numHeads));
    }
    batch = x[0];
    sequence = x[2];
    headSize = x[3];
  } else if (x.rank() == 3) {
    if (numHeads <= 0)
      return ctx.invalid("X " + x.toString() + " is 3-D: the attribute num_heads must give its heads");
    if (x[2].isKnown() && x[2].size % numHeads != 0) {
      return ctx.invalid("X " + x.toString() + ": " + std::to_string(x[2].size) +
                         " is no multiple of num_heads " + std::to_string(numHeads));
    }
    batch = x[0];
    sequence = x[1];
    if (x[2].isKnown()) headSize = Dim(x[2].size / numHeads);
  } else {
    return ctx.invalid("X " + x.toString() + " must be 4-D [B, H, S, D] or 3-D [B, S, H * D]");
  }
  const int64_t rotaryDim = ctx.attrs().getInt("rotary_embedding_dim", 0);
  if (rotaryDim < 0 || rotaryDim % 2 != 0)
    return ctx.invalid("rotary_embedding_dim " + std::to_string(rotaryDim) +
                       " is not a non-negative even number");
  if (headSize.isKnown()) {
    if (rotaryDim > headSize.size) {
      return ctx.invalid("rotary_embedding_dim " + std::to_string(rotaryDim) + " is over the head size " +
                         std::to_string(headSize.size));
    }
    if (rotaryDim == 0 && headSize.size % 2 != 0)
      return ctx.invalid("the head size " + std::to_string(headSize.size) +
                         " is odd: it cannot rotate in pairs");
  }
  const Dim half = rotaryDim > 0 ? Dim(rotaryDim / 2) : headSize.isKnown() ? Dim(headSize.size / 2) : Dim();

  const Shape& cos = ctx.inputShape(kRotaryCos);
  const Shape& sin = ctx.inputShape(kRotarySin);
  bool same = cos.rank() == sin.rank();
  for (int64_t d = 0; same && d < cos.rank(); ++d) same = dimsAgree(cos[d], sin[d]);
  if (!same)
    return ctx.invalid("cos_cache " + cos.toString() + " and sin_cache " + sin.toString() + " differ");
  const bool positions = ctx.hasInput(kRotaryPositions);
  if (positions) {
    const Shape& p = ctx.inputShape(kRotaryPositions);
    if (ctx.inputType(kRotaryPositions) != DataType::kInt64)
      return ctx.invalid("position_ids is " +
                         std::string(dataTypeInfo(ctx.inputType(kRotaryPositions)).name) + ", not int64");
    if (p.rank() != 2 || !dimsAgree(p[0], batch) || !dimsAgree(p[1], sequence))
      return ctx.invalid("position_ids " + p.toString() + " is not [B, S] of X " + x.toString());
    if (cos.rank() != 2) return ctx.invalid("cos_cache " + cos.toString() + " is not [positions, R / 2]");
  } else if (cos.rank() != 3 || !dimsAgree(cos[0], batch) || !dimsAgree(cos[1], sequence)) {
    return ctx.invalid("without position_ids, cos_cache " + cos.toString() + " must be [B, S, R / 2] of X " +
                       x.toString());
  }
  const Dim& width = cos[cos.rank() - 1];
  if (width.isKnown() && half.isKnown() && width.size < half.size) {
    return ctx.invalid("cos_cache " + cos.toString() + " holds " + std::to_string(width.size) +
                       " angles a row, the rotation needs " + std::to_string(half.size));
  }
  return inferSameAsInput0(ctx);
}

}  // namespace

void registerRotaryEmbeddingSchema(OpSchemaRegistry& registry) {
  registry.add({.opType = "RotaryEmbedding",
                .minInputs = 3,
                .maxInputs = 4,
                .attributes = {{"interleaved", AttrType::kInt},
                               {"num_heads", AttrType::kInt},
                               {"rotary_embedding_dim", AttrType::kInt}},
                .infer = inferRotaryEmbedding});
}

}  // namespace lowp::ir::ops
