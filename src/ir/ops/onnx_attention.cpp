// The type and shape rule of ONNX's Attention (onnx_attention.h): Q, K, V as heads, the cache's length
// added to the keys', the mask broadcasting into the scores, the outputs' shapes and types.
#include "ir/ops/onnx_attention.h"

#include <optional>
#include <string>
#include <vector>

#include "ir/ops/common.h"

namespace lowp::ir::ops {
namespace {

bool isAttentionFloat(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kFloat16 ||
         t == DataType::kBFloat16;
}

/// An operand read as [B, heads, S, head size].
struct Heads {
  Dim batch;
  Dim heads;
  Dim sequence;
  Dim size;
};

Result<Heads> asHeads(const InferContext& ctx, size_t slot, const char* name, int64_t headsAttr,
                      const char* headsName) {
  const Shape& s = ctx.inputShape(slot);
  const std::string given = std::string(name) + " " + s.toString();
  if (s.rank() == 4) {
    if (headsAttr > 0 && s[1].isKnown() && s[1].size != headsAttr)
      return ctx.invalid(given + " has " + std::to_string(s[1].size) + " heads, " + headsName + " says " +
                         std::to_string(headsAttr));
    return Heads{s[0], s[1], s[2], s[3]};
  }
  if (s.rank() != 3) return ctx.invalid(given + ": Q, K and V must be 3-D or 4-D");
  if (headsAttr <= 0)
    return ctx.invalid(given + " is 3-D: the attribute " + headsName + " must give its heads");
  Dim size;
  if (s[2].isKnown()) {
    if (s[2].size % headsAttr != 0)
      return ctx.invalid(given + ": " + std::to_string(s[2].size) + " is no multiple of " + headsName + " " +
                         std::to_string(headsAttr));
    size = Dim(s[2].size / headsAttr);
  }
  return Heads{s[0], Dim(headsAttr), s[1], size};
}

Status inferOnnxAttention(InferContext& ctx) {
  const DataType qType = ctx.inputType(kOnnxAttentionQ);
  const DataType vType = ctx.inputType(kOnnxAttentionV);
  if (!isAttentionFloat(qType) || !isAttentionFloat(vType)) {
    return ctx.invalid("Q is " + std::string(dataTypeInfo(qType).name) + " and V " +
                       std::string(dataTypeInfo(vType).name) + "; attention computes on floats");
  }
  auto sameType = [&](size_t slot, DataType want, const char* name) -> Status {
    if (ctx.hasInput(slot) && ctx.inputType(slot) != want) {
      return ctx.invalid(std::string(name) + " has type " +
                         std::string(dataTypeInfo(ctx.inputType(slot)).name) + ", not " +
                         std::string(dataTypeInfo(want).name));
    }
    return {};
  };
  LOWP_RETURN_IF_ERROR(sameType(kOnnxAttentionK, qType, "K"));
  LOWP_RETURN_IF_ERROR(sameType(kOnnxAttentionPastKey, qType, "past_key"));
  LOWP_RETURN_IF_ERROR(sameType(kOnnxAttentionPastValue, vType, "past_value"));
  LOWP_RETURN_IF_ERROR(sameType(kOnnxAttentionNonpad, DataType::kInt64, "nonpad_kv_seqlen"));
  if (ctx.hasInput(kOnnxAttentionMask)) {
    const DataType m = ctx.inputType(kOnnxAttentionMask);
    if (m != DataType::kBool && !isAttentionFloat(m))
      return ctx.invalid("attn_mask has type " + std::string(dataTypeInfo(m).name) +
                         "; it must be bool or a float");
  }
  const int64_t mode = ctx.attrs().getInt("qk_matmul_output_mode", 0);
  if (mode < 0 || mode > 3)
    return ctx.invalid("qk_matmul_output_mode " + std::to_string(mode) + " is not 0 to 3");
  if (ctx.hasInput(kOnnxAttentionPastKey) != ctx.hasInput(kOnnxAttentionPastValue))
    return ctx.invalid("past_key and past_value come together");

  auto unknownOutputs = [&] {
    ctx.setOutput(kOnnxAttentionY, qType, Shape::unknownRank());
    for (size_t i = 1; i < ctx.outputCount(); ++i) {
      ctx.setOutput(i, i == kOnnxAttentionPresentValue ? vType : qType, Shape::unknownRank());
    }
  };
  const Shape& qShape = ctx.inputShape(kOnnxAttentionQ);
  const Shape& kShape = ctx.inputShape(kOnnxAttentionK);
  const Shape& vShape = ctx.inputShape(kOnnxAttentionV);
  if (!qShape.rankKnown() || !kShape.rankKnown() || !vShape.rankKnown()) {
    unknownOutputs();
    return {};
  }
  const std::string shapes =
      "Q " + qShape.toString() + ", K " + kShape.toString() + ", V " + vShape.toString();
  if (kShape.rank() != qShape.rank() || vShape.rank() != qShape.rank())
    return ctx.invalid(shapes + ": Q, K and V must have one rank");
  const int64_t qHeadsAttr = ctx.attrs().getInt("q_num_heads", 0);
  const int64_t kvHeadsAttr = ctx.attrs().getInt("kv_num_heads", 0);
  LOWP_ASSIGN_OR_RETURN(Heads q, asHeads(ctx, kOnnxAttentionQ, "Q", qHeadsAttr, "q_num_heads"));
  LOWP_ASSIGN_OR_RETURN(Heads k, asHeads(ctx, kOnnxAttentionK, "K", kvHeadsAttr, "kv_num_heads"));
  LOWP_ASSIGN_OR_RETURN(Heads v, asHeads(ctx, kOnnxAttentionV, "V", kvHeadsAttr, "kv_num_heads"));
  if (!dimsAgree(q.batch, k.batch) || !dimsAgree(q.batch, v.batch))
    return ctx.invalid(shapes + ": batch sizes differ");
  if (!dimsAgree(q.size, k.size)) return ctx.invalid(shapes + ": Q's and K's head sizes differ");
  if (!dimsAgree(k.heads, v.heads)) return ctx.invalid(shapes + ": K's and V's heads differ");
  if (!dimsAgree(k.sequence, v.sequence))
    return ctx.invalid(shapes + ": K's and V's sequence lengths differ");
  const Dim batch = knownDim(knownDim(q.batch, k.batch), v.batch);
  const Dim kvHeads = knownDim(k.heads, v.heads);
  if (q.heads.isKnown() && kvHeads.isKnown() && (kvHeads.size == 0 || q.heads.size % kvHeads.size != 0)) {
    return ctx.invalid(shapes + ": " + std::to_string(q.heads.size) + " query heads are no multiple of " +
                       std::to_string(kvHeads.size) + " key/value heads");
  }
  Dim total = knownDim(k.sequence, v.sequence);
  if (ctx.hasInput(kOnnxAttentionPastKey)) {
    const Shape& pk = ctx.inputShape(kOnnxAttentionPastKey);
    const Shape& pv = ctx.inputShape(kOnnxAttentionPastValue);
    if (pk.rankKnown() && pv.rankKnown()) {
      const std::string past = "past_key " + pk.toString() + ", past_value " + pv.toString();
      if (pk.rank() != 4 || pv.rank() != 4) return ctx.invalid(past + ": the cache is 4-D");
      if (!dimsAgree(pk[0], batch) || !dimsAgree(pv[0], batch) || !dimsAgree(pk[1], kvHeads) ||
          !dimsAgree(pv[1], kvHeads) || !dimsAgree(pk[2], pv[2]) || !dimsAgree(pk[3], q.size) ||
          !dimsAgree(pv[3], v.size)) {
        return ctx.invalid(past + " is not [B, Hkv, P, D] and [B, Hkv, P, Dv] for " + shapes);
      }
      const Dim pastLength = knownDim(pk[2], pv[2]);
      total = pastLength.isKnown() && total.isKnown() ? Dim(pastLength.size + total.size) : Dim();
    } else {
      total = Dim();
    }
  }
  if (ctx.hasInput(kOnnxAttentionMask) && ctx.inputShape(kOnnxAttentionMask).rankKnown()) {
    const Shape& mask = ctx.inputShape(kOnnxAttentionMask);
    const std::vector<Dim> scores = {batch, q.heads, q.sequence, total};
    bool fits = mask.rank() >= 1 && mask.rank() <= 4;
    for (int64_t d = 0; fits && d < mask.rank(); ++d) {
      const Dim& m = mask[d];
      const Dim& s = scores[static_cast<size_t>(4 - mask.rank() + d)];
      if (d == mask.rank() - 1) {
        fits = !m.isKnown() || !s.isKnown() || m.size <= s.size;  // a shorter mask masks the keys past it
      } else {
        fits = !m.isKnown() || m.size == 1 || dimsAgree(m, s);
      }
    }
    if (!fits) {
      return ctx.invalid("attn_mask " + mask.toString() + " does not broadcast into the scores " +
                         Shape(scores).toString() + " (" + shapes + ")");
    }
  }
  if (ctx.hasInput(kOnnxAttentionNonpad) && ctx.inputShape(kOnnxAttentionNonpad).rankKnown()) {
    const Shape& n = ctx.inputShape(kOnnxAttentionNonpad);
    if (n.rank() != 1 || !dimsAgree(n[0], batch))
      return ctx.invalid("nonpad_kv_seqlen " + n.toString() + " is not one length per batch of " + shapes);
  }

  if (qShape.rank() == 3) {
    const Dim hidden = q.heads.isKnown() && v.size.isKnown() ? Dim(q.heads.size * v.size.size) : Dim();
    ctx.setOutput(kOnnxAttentionY, qType, Shape({batch, q.sequence, hidden}));
  } else {
    ctx.setOutput(kOnnxAttentionY, qType, Shape({batch, q.heads, q.sequence, v.size}));
  }
  if (ctx.outputCount() > kOnnxAttentionPresentKey)
    ctx.setOutput(kOnnxAttentionPresentKey, qType, Shape({batch, kvHeads, total, q.size}));
  if (ctx.outputCount() > kOnnxAttentionPresentValue)
    ctx.setOutput(kOnnxAttentionPresentValue, vType, Shape({batch, kvHeads, total, v.size}));
  if (ctx.outputCount() > kOnnxAttentionQk)
    ctx.setOutput(kOnnxAttentionQk, qType, Shape({batch, q.heads, q.sequence, total}));
  return {};
}

}  // namespace

void registerOnnxAttentionSchema(OpSchemaRegistry& registry) {
  registry.add({.opType = "Attention",
                .minInputs = 3,
                .maxInputs = 7,
                .minOutputs = 1,
                .maxOutputs = 4,
                .attributes = {{"is_causal", AttrType::kInt},
                               {"kv_num_heads", AttrType::kInt},
                               {"q_num_heads", AttrType::kInt},
                               {"qk_matmul_output_mode", AttrType::kInt},
                               {"scale", AttrType::kFloat},
                               {"softcap", AttrType::kFloat},
                               {"softmax_precision", AttrType::kInt}},
                .infer = inferOnnxAttention});
}

}  // namespace lowp::ir::ops
