// The type and shape rule of lowp.Attention (attention.h): Q, Kt, V and the mask of one float type, Q, Kt
// and V of one rank with equal leading dims, the mask broadcasting into the scores' shape.
#include "ir/ops/attention.h"

#include <algorithm>
#include <string>
#include <vector>

#include "ir/ops/attention_layout.h"
#include "ir/ops/common.h"
#include "ir/ops/fused.h"

namespace lowp::ir::ops {
namespace {

bool isAttentionType(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kFloat16 ||
         t == DataType::kBFloat16;
}

Status inferAttention(InferContext& ctx) {
  const char* names[] = {"Q", "Kt", "V", "mask"};
  const DataType type = ctx.inputType(kAttentionQ);
  if (!isAttentionType(type)) {
    return ctx.invalid("Q has type " + std::string(dataTypeInfo(type).name) +
                       "; attention computes on floats");
  }
  for (size_t i = 1; i < std::min<size_t>(ctx.inputCount(), kAttentionMask + 1); ++i) {
    if (!ctx.hasInput(i)) {
      if (i < kAttentionMask) return ctx.invalid(std::string(names[i]) + " is missing");
      continue;
    }
    if (ctx.inputType(i) != type) {
      return ctx.invalid(std::string(names[i]) + " has type " +
                         std::string(dataTypeInfo(ctx.inputType(i)).name) + ", Q " +
                         std::string(dataTypeInfo(type).name));
    }
  }
  Shape q = ctx.inputShape(kAttentionQ);
  Shape kt = ctx.inputShape(kAttentionKt);
  Shape v = ctx.inputShape(kAttentionV);
  std::vector<int64_t> yPerm;
  if (hasFoldedLayout(ctx.attrs())) {
    // The operands are views of the inputs (attention_layout.h): their shapes follow once the inputs'
    // shapes and the Reshape targets are known, while planning.
    const std::vector<int64_t> needed = attentionInputsNeeded(ctx.attrs());
    const bool unknown = std::any_of(needed.begin(), needed.end(), [&](int64_t i) {
      return ctx.inputValue(static_cast<size_t>(i)) == nullptr;
    });
    if (!q.isStatic() || !kt.isStatic() || !v.isStatic() || unknown) {
      ctx.setOutput(0, type, Shape::unknownRank());
      return {};
    }
    const std::vector<int64_t> bases[3] = {q.sizes(), kt.sizes(), v.sizes()};
    auto layout = attentionLayout(ctx.attrs(), bases, [&](int64_t i) -> const Tensor* {
      return i >= 0 ? ctx.inputValue(static_cast<size_t>(i)) : nullptr;
    });
    if (!layout) return ctx.invalid(layout.status().message());
    q = Shape::fromSizes(layout->operand[0].sizes());
    kt = Shape::fromSizes(layout->operand[1].sizes());
    v = Shape::fromSizes(layout->operand[2].sizes());
    yPerm = layout->yPerm;
  }
  if (!q.rankKnown() || !kt.rankKnown() || !v.rankKnown()) {
    ctx.setOutput(0, type, Shape::unknownRank());
    return {};
  }
  const std::string shapes = "Q " + q.toString() + ", Kt " + kt.toString() + ", V " + v.toString();
  if (q.rank() < 2 || kt.rank() != q.rank() || v.rank() != q.rank()) {
    return ctx.invalid(shapes + ": Q, Kt and V must have one rank of 2 or more");
  }
  const int64_t r = q.rank();
  std::vector<Dim> out;
  for (int64_t d = 0; d < r - 2; ++d) {
    if (!dimsAgree(q[d], kt[d]) || !dimsAgree(q[d], v[d]) || !dimsAgree(kt[d], v[d])) {
      return ctx.invalid(shapes +
                         ": the leading (batch) dims must be equal; lowp.Attention does not broadcast "
                         "them");
    }
    out.push_back(knownDim(knownDim(q[d], kt[d]), v[d]));
  }
  if (!dimsAgree(q[r - 1], kt[r - 2]))
    return ctx.invalid(shapes + ": Q's last dim differs from Kt's dim -2 (D)");
  if (!dimsAgree(kt[r - 1], v[r - 2]))
    return ctx.invalid(shapes + ": Kt's last dim differs from V's dim -2 (Sk)");
  const Dim sq = q[r - 2];
  const Dim sk = knownDim(kt[r - 1], v[r - 2]);
  if (ctx.hasInput(kAttentionMask) && ctx.inputShape(kAttentionMask).rankKnown()) {
    const Shape& mask = ctx.inputShape(kAttentionMask);
    std::vector<Dim> scores = out;
    scores.push_back(sq);
    scores.push_back(sk);
    bool fits = mask.rank() <= r;
    for (int64_t d = 0; fits && d < mask.rank(); ++d) {
      const Dim& m = mask[d];
      const Dim& s = scores[static_cast<size_t>(r - mask.rank() + d)];
      fits = !m.isKnown() || m.size == 1 || dimsAgree(m, s);
    }
    if (!fits) {
      return ctx.invalid("mask " + mask.toString() + " does not broadcast into the scores " +
                         Shape(scores).toString() + " (" + shapes + ")");
    }
  }
  out.push_back(sq);
  out.push_back(v[r - 1]);
  if (!yPerm.empty()) {
    if (static_cast<int64_t>(yPerm.size()) != r) return ctx.invalid("y_perm does not permute Y's dims");
    std::vector<Dim> permuted;
    permuted.reserve(yPerm.size());
    for (int64_t p : yPerm) permuted.push_back(out[static_cast<size_t>(p)]);
    out = std::move(permuted);
  }
  ctx.setOutput(0, type, Shape(std::move(out)));
  return {};
}

}  // namespace

void registerAttentionSchema(OpSchemaRegistry& registry) {
  registry.add({.opType = kAttentionOp,
                .minInputs = 3,
                .maxInputs = -1,
                .attributes = {{"scale", AttrType::kFloat},
                               {kAttentionZeroMaskedRows, AttrType::kInt},
                               {kAttentionSoftcap, AttrType::kFloat},
                               {kAttentionCausal, AttrType::kInt},
                               {kAttentionQView, AttrType::kInts},
                               {kAttentionKtView, AttrType::kInts},
                               {kAttentionVView, AttrType::kInts},
                               {kAttentionYPerm, AttrType::kInts},
                               {kAttentionScaleInputs, AttrType::kInts}},
                .infer = inferAttention,
                .domain = kLowpDomain});
}

}  // namespace lowp::ir::ops
