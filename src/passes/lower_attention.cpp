// lower_attention: ONNX's Attention (ir/ops/onnx_attention.h) becomes lowp.Attention (ir/ops/attention.h),
// whose kernels keep a query row's scores in cache (CPU) or on chip (CUDA), where ONNX's Attention has only
// the reference loop:
//   4-D: lowp.Attention(Q, Transpose(K, [0, 1, 3, 2]), V)
//   3-D: Q, K and V each Reshape'd to [B, S, H, size] and Transposed to [B, H, S, size] (K to [B, H, D, S]),
//        and the [B, H, Sq, Dv] result Transposed and Reshape'd back to [B, Sq, H * Dv].
// fuse_attention_layout, which runs next, folds these view ops into the node's operand views, so no copy
// is left. The scale is the attribute's, else 1 / sqrt(D) (D then must be known).
//
// An attn_mask becomes lowp.Attention's additive mask: a float mask as it is (Cast to Q's type if it has
// another), a bool mask through Where(mask, 0, -inf); and the node gets zero_masked_rows, since ONNX's
// Attention gives zeros for a row whose every key is masked where lowp.Attention would give NaN, as the
// unfused Softmax does. Its last dim must be the keys' (the same known size or symbol): ONNX's Attention
// masks the keys past a shorter mask, where lowp.Attention would broadcast a last dim of 1. is_causal (there
// is no cache) adds the causal mask, computed from the shapes (causalMask), to it or stands alone.
//
// Targets: a default-domain Attention whose only output read is Y, with Q, K and V of one float type and
// one known rank, the same number of query and key/value heads (known), a mask as above or none, and none
// of what lowp.Attention does not compute: no past_key / past_value, no nonpad_kv_seqlen, no softcap. The
// others stay for the reference kernel.
//
// The lowp.Attention node keeps the Attention's name, so layer precisions and the report name it as the
// model does; the view ops are named after it ("<name>/q_reshape", ...).
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ir/numeric.h"
#include "ir/ops/attention.h"
#include "ir/ops/fused.h"
#include "ir/ops/onnx_attention.h"
#include "passes/rules.h"
#include "passes/view_steps.h"

namespace lowp::passes {
namespace {

using namespace ir::ops;  // NOLINT(google-build-using-namespace): the slot constants

bool isAttentionFloat(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kFloat16 ||
         t == DataType::kBFloat16;
}

/// Element i of a float tensor set to `value` (rounded to its type).
void storeFloat(Tensor& t, int64_t i, float value) {
  switch (t.type()) {
    case DataType::kFloat64:
      t.data<double>()[i] = value;
      break;
    case DataType::kFloat16:
      t.data<uint16_t>()[i] = ir::floatToFloat16(value);
      break;
    case DataType::kBFloat16:
      t.data<uint16_t>()[i] = ir::floatToBFloat16(value);
      break;
    default:
      t.data<float>()[i] = value;
  }
}

/// One value of a float type: a scalar, or of `shape` (one element).
Tensor scalarOf(DataType type, float value, std::vector<int64_t> shape = {}) {
  Tensor t(type, std::move(shape));
  storeFloat(t, 0, value);
  return t;
}

Tensor scalarInt(int64_t value) {
  Tensor t(DataType::kInt64, {});
  *t.data<int64_t>() = value;
  return t;
}

bool unread(const ir::Value* v) {
  return v == nullptr || (v->consumers.empty() && !v->isGraphOutput);
}

/// Heads and head size of Q (or V): from the 4-D shape, or the 3-D hidden size over the heads attribute.
struct Heads {
  int64_t heads = -1;
  int64_t size = -1;
};

Heads headsOf(const ir::Shape& s, int64_t headsAttr) {
  if (s.rank() == 4) return {s[1].size, s[3].size};
  if (s.rank() == 3 && headsAttr > 0 && s[2].isKnown() && s[2].size % headsAttr == 0)
    return {headsAttr, s[2].size / headsAttr};
  return {};
}

bool applies(const ir::Graph& /*graph*/, const ir::Node& node) {
  if (!node.domain.empty() || node.inputs.size() < 3 || node.outputs.empty() || node.outputs[0] == nullptr)
    return false;
  for (size_t i = kOnnxAttentionPastKey; i < node.inputs.size(); ++i) {
    if (node.input(i) != nullptr) return false;
  }
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (!unread(node.outputs[i])) return false;
  }
  const ir::AttributeMap& a = node.attributes;
  if (a.getFloat("softcap", 0.0f) != 0.0f) return false;
  const ir::Value* q = node.input(kOnnxAttentionQ);
  const ir::Value* k = node.input(kOnnxAttentionK);
  const ir::Value* v = node.input(kOnnxAttentionV);
  if (q == nullptr || k == nullptr || v == nullptr || !isAttentionFloat(q->type) || k->type != q->type ||
      v->type != q->type)
    return false;
  if (!q->shape.rankKnown() || k->shape.rank() != q->shape.rank() || v->shape.rank() != q->shape.rank() ||
      (q->shape.rank() != 3 && q->shape.rank() != 4))
    return false;
  const int64_t qHeadsAttr = a.getInt("q_num_heads", 0);
  const int64_t kvHeadsAttr = a.getInt("kv_num_heads", 0);
  const Heads qh = headsOf(q->shape, qHeadsAttr);
  const Heads kh = headsOf(k->shape, kvHeadsAttr);
  const Heads vh = headsOf(v->shape, kvHeadsAttr);
  const bool headsKnown = qh.heads > 0 && qh.heads == kh.heads && kh.heads == vh.heads;
  if (!headsKnown || qh.size <= 0 || vh.size <= 0 || (!a.has("scale") && qh.size != kh.size)) return false;
  const ir::Value* mask = node.input(kOnnxAttentionMask);
  if (mask == nullptr) return true;
  if (mask->type != DataType::kBool && !isAttentionFloat(mask->type)) return false;
  const ir::Shape& m = mask->shape;
  const ir::Dim& keys = k->shape[k->shape.rank() - 2];  // Skv, in either layout
  return m.rankKnown() && m.rank() >= 1 && m.rank() <= 4 && m[m.rank() - 1] == keys &&
         (keys.isKnown() || !keys.symbol.empty());
}

// The mask as scores to add, in `type`: a bool mask through Where(mask, 0, -inf), a float one as it is or
// through a Cast; a constant mask converted here, once.
Result<ir::Value*> additiveMask(ViewSteps& steps, ir::Value* mask, DataType type) {
  if (mask->type == type) return mask;
  if (mask->constant) {
    const Tensor& given = *mask->constant;
    Tensor scores(type, given.shape());
    for (int64_t i = 0; i < given.elementCount(); ++i) {
      const double v = elementAsDouble(given, i);
      const bool isBool = given.type() == DataType::kBool;
      storeFloat(scores, i,
                 isBool ? (v != 0 ? 0.0f : -std::numeric_limits<float>::infinity()) : static_cast<float>(v));
    }
    return steps.constant("mask", std::move(scores));
  }
  LOWP_ASSIGN_OR_RETURN(ir::Value * y, steps.value("mask", type, mask->shape));
  if (mask->type != DataType::kBool) {
    LOWP_ASSIGN_OR_RETURN(ir::Node * cast, steps.node("Cast", 21, "mask_cast", {mask}, y));
    cast->attributes.set("to", static_cast<int64_t>(type));
    return y;
  }
  LOWP_ASSIGN_OR_RETURN(ir::Value * keep, steps.constant("mask_keep", scalarOf(type, 0.0f)));
  LOWP_ASSIGN_OR_RETURN(ir::Value * drop,
                        steps.constant("mask_drop", scalarOf(type, -std::numeric_limits<float>::infinity())));
  LOWP_RETURN_IF_ERROR(steps.node("Where", 16, "mask_where", {mask, keep, drop}, y).status());
  return y;
}

// is_causal without a cache: query row i sees keys j <= i. The mask is computed from the shapes, as an
// exporter's graph would, so the runtime folds it while planning: Trilu(ConstantOfShape([Sq, T], -inf),
// k = 1) is -inf where j > i and 0 elsewhere.
Result<ir::Value*> causalMask(ViewSteps& steps, ir::Value* q, ir::Value* k, DataType type) {
  const int64_t axis = q->shape.rank() == 3 ? 1 : 2;  // the sequence, in either layout
  auto length = [&](ir::Value* x, const std::string& step) -> Result<ir::Value*> {
    LOWP_ASSIGN_OR_RETURN(ir::Value * n, steps.value(step, DataType::kInt64, ir::Shape({ir::Dim(1)})));
    LOWP_ASSIGN_OR_RETURN(ir::Node * shape, steps.node("Shape", 15, step, {x}, n));
    shape->attributes.set("start", axis);
    shape->attributes.set("end", axis + 1);
    return n;
  };
  LOWP_ASSIGN_OR_RETURN(ir::Value * rows, length(q, "causal_rows"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * keys, length(k, "causal_keys"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * dims,
                        steps.value("causal_dims", DataType::kInt64, ir::Shape({ir::Dim(2)})));
  LOWP_ASSIGN_OR_RETURN(ir::Node * concat, steps.node("Concat", 13, "causal_dims", {rows, keys}, dims));
  concat->attributes.set("axis", int64_t{0});
  const ir::Shape square({q->shape[axis], k->shape[axis]});
  LOWP_ASSIGN_OR_RETURN(ir::Value * filled, steps.value("causal_fill", type, square));
  LOWP_ASSIGN_OR_RETURN(ir::Node * fill, steps.node("ConstantOfShape", 21, "causal_fill", {dims}, filled));
  fill->attributes.set("value", scalarOf(type, -std::numeric_limits<float>::infinity(), {1}));
  LOWP_ASSIGN_OR_RETURN(ir::Value * diagonal, steps.constant("causal_diagonal", scalarInt(1)));
  LOWP_ASSIGN_OR_RETURN(ir::Value * mask, steps.value("causal", type, square));
  LOWP_ASSIGN_OR_RETURN(ir::Node * trilu, steps.node("Trilu", 14, "causal", {filled, diagonal}, mask));
  trilu->attributes.set("upper", int64_t{1});
  return mask;
}

// x [B, S, ...] viewed as [B, S, ...rest]: Reshape's 0 copies B and S.
Result<ir::Value*> splitLast(ViewSteps& steps, ir::Value* x, const std::vector<int64_t>& rest,
                             const std::string& step, ir::Value* y = nullptr) {
  std::vector<int64_t> target = {0, 0};
  target.insert(target.end(), rest.begin(), rest.end());
  std::vector<ir::Dim> dims = {x->shape[0], x->shape[1]};
  for (int64_t r : rest) dims.emplace_back(r);
  return steps.reshape(x, target, ir::Shape(std::move(dims)), step, y);
}

Result<bool> lower(ir::Graph& graph, ir::Node& attention) {
  const std::string name = attention.name;
  ir::Value* q = attention.input(kOnnxAttentionQ);
  ir::Value* k = attention.input(kOnnxAttentionK);
  ir::Value* v = attention.input(kOnnxAttentionV);
  ir::Value* y = attention.outputs[kOnnxAttentionY];
  const ir::AttributeMap& a = attention.attributes;
  const Heads qh = headsOf(q->shape, a.getInt("q_num_heads", 0));
  const Heads vh = headsOf(v->shape, a.getInt("kv_num_heads", 0));
  const float scale = a.has("scale") ? a.getFloat("scale", 1.0f)
                                     : static_cast<float>(1.0 / std::sqrt(static_cast<double>(qh.size)));
  const bool threeD = q->shape.rank() == 3;
  ViewSteps steps(graph, name);
  ir::Value* q4 = q;
  ir::Value* kt = nullptr;
  ir::Value* v4 = v;
  if (threeD) {
    LOWP_ASSIGN_OR_RETURN(ir::Value * qr, splitLast(steps, q, {qh.heads, qh.size}, "q_reshape"));
    LOWP_ASSIGN_OR_RETURN(q4, steps.transpose(qr, {0, 2, 1, 3}, "q_transpose"));
    LOWP_ASSIGN_OR_RETURN(ir::Value * kr, splitLast(steps, k, {qh.heads, qh.size}, "k_reshape"));
    LOWP_ASSIGN_OR_RETURN(kt, steps.transpose(kr, {0, 2, 3, 1}, "k_transpose"));
    LOWP_ASSIGN_OR_RETURN(ir::Value * vr, splitLast(steps, v, {vh.heads, vh.size}, "v_reshape"));
    LOWP_ASSIGN_OR_RETURN(v4, steps.transpose(vr, {0, 2, 1, 3}, "v_transpose"));
  } else {
    LOWP_ASSIGN_OR_RETURN(kt, steps.transpose(k, {0, 1, 3, 2}, "k_transpose"));
  }
  ir::Value* mask = attention.input(kOnnxAttentionMask);
  if (mask != nullptr) {
    LOWP_ASSIGN_OR_RETURN(mask, additiveMask(steps, mask, q->type));
  }
  if (a.getInt("is_causal", 0) != 0) {
    LOWP_ASSIGN_OR_RETURN(ir::Value * causal, causalMask(steps, q, k, q->type));
    if (mask == nullptr) {
      mask = causal;
    } else {
      LOWP_ASSIGN_OR_RETURN(ir::Value * both, steps.value("mask_causal", q->type, ir::Shape::unknownRank()));
      LOWP_RETURN_IF_ERROR(steps.node("Add", 14, "mask_causal", {mask, causal}, both).status());
      mask = both;
    }
  }
  graph.removeNode(&attention);  // frees Y for the node that writes it now

  ir::Node* fused = graph.addNode(std::string(kAttentionOp), name);
  fused->domain = std::string(kLowpDomain);
  fused->opsetVersion = 1;
  fused->attributes.set("scale", scale);
  graph.setInput(fused, kAttentionQ, q4);
  graph.setInput(fused, kAttentionKt, kt);
  graph.setInput(fused, kAttentionV, v4);
  if (mask != nullptr) {
    graph.setInput(fused, kAttentionMask, mask);
    fused->attributes.set(std::string(kAttentionZeroMaskedRows), int64_t{1});
  }
  if (threeD) {
    // [B, H, Sq, Dv] -> [B, Sq, H, Dv] -> [B, Sq, H * Dv]
    LOWP_ASSIGN_OR_RETURN(
        ir::Value * y4,
        steps.value("heads", y->type,
                    ir::Shape({q->shape[0], ir::Dim(qh.heads), q->shape[1], ir::Dim(vh.size)})));
    LOWP_RETURN_IF_ERROR(graph.addOutput(fused, y4));
    LOWP_ASSIGN_OR_RETURN(ir::Value * yt, steps.transpose(y4, {0, 2, 1, 3}, "y_transpose"));
    LOWP_RETURN_IF_ERROR(splitLast(steps, yt, {qh.heads * vh.size}, "y_reshape", y).status());
  } else {
    LOWP_RETURN_IF_ERROR(graph.addOutput(fused, y));
  }
  LOWP_RETURN_IF_ERROR(graph.sortTopologically());
  return true;
}

}  // namespace

const RewriteRule& lowerAttentionRule() {
  static const RewriteRule rule{
      .name = "lower_attention", .opTypes = {"Attention"}, .condition = applies, .rewrite = lower};
  return rule;
}

}  // namespace lowp::passes
