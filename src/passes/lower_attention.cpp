// lower_attention: ONNX's Attention (ir/ops/onnx_attention.h) becomes lowp.Attention (ir/ops/attention.h),
// whose kernels keep a query row's scores in cache (CPU) or on chip (CUDA), where ONNX's Attention has only
// the reference loop:
//   4-D: lowp.Attention(Q, Transpose(K, [0, 1, 3, 2]), V)
//   3-D: Q, K and V each Reshape'd to [B, S, H, size] and Transposed to [B, H, S, size] (K to [B, H, D, S]),
//        and the [B, H, Sq, Dv] result Transposed and Reshape'd back to [B, Sq, H * Dv].
//   Grouped key/value heads (Hq = Hkv * G): Q as [B, Hkv, G, Sq, D], and K and V Unsqueeze'd and Expand'ed
//        from [B, Hkv, ...] to [B, Hkv, G, ...]; the result [B, Hkv, G, Sq, Dv] goes back likewise.
//   A cache: the keys and values are Concat(past, new) along the sequence, which is what present_key and
//        present_value hold: the Concats write them when the model reads them (Identity without a past).
// fuse_attention_layout, which runs next, folds these view ops into the node's operand views, so no copy
// is left: a key/value head is read in place by every query head of its group (a stride of 0). The scale
// is the attribute's, else 1 / sqrt(D) (D then must be known); a softcap is lowp.Attention's too.
//
// An attn_mask becomes lowp.Attention's additive mask: a float mask as it is (Cast to Q's type if it has
// another), a bool mask through Where(mask, 0, -inf); and the node gets zero_masked_rows, since ONNX's
// Attention gives zeros for a row whose every key is masked where lowp.Attention would give NaN, as the
// unfused Softmax does. Its last dim must be the keys' (the same known size or symbol): ONNX's Attention
// masks the keys past a shorter mask, where lowp.Attention would broadcast a last dim of 1. With grouped
// heads its heads dim (1 or Hq) gets the group's dim beside it.
// is_causal masks keys j > i + P (P the cache's length, 0 without one). With as many queries as new keys
// (a prompt, or each generated token over its cache) that diagonal ends at the last key: lowp.Attention's
// causal attribute, which reads no mask (and lets the CUDA flash kernel skip whole chunks of keys).
// Otherwise masks computed from the shapes are added:
//   is_causal: Trilu(ConstantOfShape([Sq, T], -inf), k = 1 + P), which the runtime folds while planning
//     (causalMask);
//   nonpad_kv_seqlen: keys j >= nonpad[b] masked per batch, [B, 1, 1, T] (nonpadMask); with is_causal and
//     no cache the diagonal moves per batch to i + nonpad[b] - Sq, [B, 1, Sq, T] (causalNonpadMask).
//
// Targets: a default-domain Attention whose qk_matmul_output nothing reads (lowp.Attention keeps no scores),
// with Q, K and V of one float type and one known rank, known heads (Hq a multiple of Hkv), a mask as above
// or none, both of past_key and past_value or neither. The others stay for the reference kernel.
//
// The lowp.Attention node keeps the Attention's name, so layer precisions and the report name it as the
// model does; the view ops are named after it ("<name>/q_reshape", ...).
#include <cmath>
#include <limits>
#include <optional>
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

/// Heads and head size of Q, K or V: from the 4-D shape, or the 3-D hidden size over the heads attribute.
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

/// What the lowering needs to know of an Attention it applies to.
struct Facts {
  Heads q, k, v;
  int64_t group = 1;  ///< query heads per key/value head
  bool threeD = false;
  ir::Value* pastKey = nullptr;
  ir::Value* pastValue = nullptr;
  ir::Value* presentKey = nullptr;  ///< when something reads it
  ir::Value* presentValue = nullptr;
  ir::Value* nonpad = nullptr;

  /// The sequence's axis in Q, K and V as given: [B, S, H * size] or [B, H, S, size].
  int64_t sequenceAxis() const { return threeD ? 1 : 2; }
};

/// Output i when something reads it.
ir::Value* readOutput(const ir::Node& node, size_t i) {
  return i < node.outputs.size() && !unread(node.outputs[i]) ? node.outputs[i] : nullptr;
}

/// The keys' count T (past and new), as far as the shapes say.
ir::Dim keysDim(const ir::Node& node, const Facts& f) {
  const ir::Dim& fresh = node.input(kOnnxAttentionK)->shape[f.sequenceAxis()];
  if (f.pastKey == nullptr) return fresh;
  const ir::Dim& past = f.pastKey->shape[2];
  if (past.isKnown() && fresh.isKnown()) return {past.size + fresh.size};
  const ir::Value* present =
      node.outputs.size() > kOnnxAttentionPresentKey ? node.outputs[kOnnxAttentionPresentKey] : nullptr;
  return present != nullptr && present->shape.rank() == 4 ? present->shape[2] : ir::Dim();
}

std::optional<Facts> factsOf(const ir::Node& node) {
  if (!node.domain.empty() || node.inputs.size() < 3 || node.outputs.empty() || node.outputs[0] == nullptr ||
      readOutput(node, kOnnxAttentionQk) != nullptr)
    return std::nullopt;
  const ir::AttributeMap& a = node.attributes;
  if (a.getFloat("softcap", 0.0f) < 0.0f) return std::nullopt;
  const ir::Value* q = node.input(kOnnxAttentionQ);
  const ir::Value* k = node.input(kOnnxAttentionK);
  const ir::Value* v = node.input(kOnnxAttentionV);
  if (q == nullptr || k == nullptr || v == nullptr || !isAttentionFloat(q->type) || k->type != q->type ||
      v->type != q->type)
    return std::nullopt;
  if (!q->shape.rankKnown() || k->shape.rank() != q->shape.rank() || v->shape.rank() != q->shape.rank() ||
      (q->shape.rank() != 3 && q->shape.rank() != 4))
    return std::nullopt;
  Facts f;
  f.threeD = q->shape.rank() == 3;
  const int64_t kvHeadsAttr = a.getInt("kv_num_heads", 0);
  f.q = headsOf(q->shape, a.getInt("q_num_heads", 0));
  f.k = headsOf(k->shape, kvHeadsAttr);
  f.v = headsOf(v->shape, kvHeadsAttr);
  if (f.q.heads <= 0 || f.k.heads <= 0 || f.k.heads != f.v.heads || f.q.heads % f.k.heads != 0 ||
      f.q.size <= 0 || f.v.size <= 0 || (!a.has("scale") && f.q.size != f.k.size))
    return std::nullopt;
  f.group = f.q.heads / f.k.heads;
  f.pastKey = node.input(kOnnxAttentionPastKey);
  f.pastValue = node.input(kOnnxAttentionPastValue);
  if ((f.pastKey == nullptr) != (f.pastValue == nullptr)) return std::nullopt;
  if (f.pastKey != nullptr && (f.pastKey->type != k->type || f.pastValue->type != v->type ||
                               f.pastKey->shape.rank() != 4 || f.pastValue->shape.rank() != 4))
    return std::nullopt;
  f.presentKey = readOutput(node, kOnnxAttentionPresentKey);
  f.presentValue = readOutput(node, kOnnxAttentionPresentValue);
  f.nonpad = node.input(kOnnxAttentionNonpad);
  if (f.nonpad != nullptr && (f.nonpad->type != DataType::kInt64 || f.nonpad->shape.rank() != 1))
    return std::nullopt;
  const ir::Value* mask = node.input(kOnnxAttentionMask);
  if (mask == nullptr) return f;
  if (mask->type != DataType::kBool && !isAttentionFloat(mask->type)) return std::nullopt;
  const ir::Shape& m = mask->shape;
  const ir::Dim keys = keysDim(node, f);
  if (!m.rankKnown() || m.rank() < 1 || m.rank() > 4 || !(m[m.rank() - 1] == keys) ||
      (!keys.isKnown() && keys.symbol.empty()))
    return std::nullopt;
  // With grouped heads the mask's heads dim (if any) splits too: it must be known.
  if (f.group > 1 && m.rank() >= 3 && m[m.rank() - 3].size != 1 && m[m.rank() - 3].size != f.q.heads)
    return std::nullopt;
  return f;
}

bool applies(const ir::Graph& /*graph*/, const ir::Node& node) {
  return factsOf(node).has_value();
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

/// Dims [start, end) of x's shape, as a 1-D int64 value (Shape: known while planning).
Result<ir::Value*> shapeOf(ViewSteps& steps, ir::Value* x, int64_t start, int64_t end,
                           const std::string& step) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * n,
                        steps.value(step, DataType::kInt64, ir::Shape({ir::Dim(end - start)})));
  LOWP_ASSIGN_OR_RETURN(ir::Node * shape, steps.node("Shape", 15, step, {x}, n));
  shape->attributes.set("start", start);
  shape->attributes.set("end", end);
  return n;
}

/// A scalar int64 value: x's dim `axis` (a Shape, known while planning).
Result<ir::Value*> dimScalar(ViewSteps& steps, ir::Value* x, int64_t axis, const std::string& step) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * dim, shapeOf(steps, x, axis, axis + 1, step));
  return steps.reshape(dim, {}, ir::Shape(std::vector<ir::Dim>{}), step + "_scalar");
}

// is_causal where the queries may not be as many as the new keys: query row i sees keys j <= i + P (P the
// cache's length, 0 without one). The mask is computed from the shapes, as an exporter's graph would, so
// the runtime folds it while planning: Trilu(ConstantOfShape([Sq, T], -inf), k = 1 + P) is -inf where
// j > i + P and 0 elsewhere.
Result<ir::Value*> causalMask(ViewSteps& steps, ir::Value* q, int64_t rowsAxis, ir::Value* keys,
                              ir::Value* past, DataType type) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * rows, shapeOf(steps, q, rowsAxis, rowsAxis + 1, "causal_rows"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * count, shapeOf(steps, keys, 2, 3, "causal_keys"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * dims,
                        steps.value("causal_dims", DataType::kInt64, ir::Shape({ir::Dim(2)})));
  LOWP_ASSIGN_OR_RETURN(ir::Node * concat, steps.node("Concat", 13, "causal_dims", {rows, count}, dims));
  concat->attributes.set("axis", int64_t{0});
  const ir::Shape square({q->shape[rowsAxis], keys->shape[2]});
  LOWP_ASSIGN_OR_RETURN(ir::Value * filled, steps.value("causal_fill", type, square));
  LOWP_ASSIGN_OR_RETURN(ir::Node * fill, steps.node("ConstantOfShape", 21, "causal_fill", {dims}, filled));
  fill->attributes.set("value", scalarOf(type, -std::numeric_limits<float>::infinity(), {1}));
  LOWP_ASSIGN_OR_RETURN(ir::Value * diagonal, steps.constant("causal_diagonal", scalarInt(1)));
  if (past != nullptr) {
    LOWP_ASSIGN_OR_RETURN(ir::Value * offset, dimScalar(steps, past, 2, "causal_offset"));
    LOWP_ASSIGN_OR_RETURN(ir::Value * sum,
                          steps.value("causal_k", DataType::kInt64, ir::Shape(std::vector<ir::Dim>{})));
    LOWP_RETURN_IF_ERROR(steps.node("Add", 14, "causal_k", {offset, diagonal}, sum).status());
    diagonal = sum;
  }
  LOWP_ASSIGN_OR_RETURN(ir::Value * mask, steps.value("causal", type, square));
  LOWP_ASSIGN_OR_RETURN(ir::Node * trilu, steps.node("Trilu", 14, "causal", {filled, diagonal}, mask));
  trilu->attributes.set("upper", int64_t{1});
  return mask;
}

/// Range(0, n) of the scalar n, [n].
Result<ir::Value*> positions(ViewSteps& steps, ir::Value* n, const ir::Dim& size, const std::string& step) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * zero, steps.constant(step + "_start", scalarInt(0)));
  LOWP_ASSIGN_OR_RETURN(ir::Value * one, steps.constant(step + "_delta", scalarInt(1)));
  LOWP_ASSIGN_OR_RETURN(ir::Value * range, steps.value(step, DataType::kInt64, ir::Shape({size})));
  LOWP_RETURN_IF_ERROR(steps.node("Range", 11, step, {zero, n, one}, range).status());
  return range;
}

/// The bool `keep` ([B, T] or [B, Sq, T], true where a key is seen) as an additive mask of `rank`:
/// [B, 1, ..., 1, T] or [B, 1, ..., 1, Sq, T] (Unsqueeze).
Result<ir::Value*> batchMask(ViewSteps& steps, ir::Value* keep, int64_t rank, DataType type,
                             const std::string& step) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * additive, additiveMask(steps, keep, type));
  const ir::Shape& k = keep->shape;
  std::vector<int64_t> axes;
  std::vector<ir::Dim> dims = {k[0]};
  for (int64_t i = 0; i < rank - k.rank(); ++i) {
    axes.push_back(1 + i);
    dims.emplace_back(1);
  }
  for (int64_t d = 1; d < k.rank(); ++d) dims.push_back(k[d]);
  LOWP_ASSIGN_OR_RETURN(ir::Value * axesValue, steps.ints(step + "_axes", axes));
  LOWP_ASSIGN_OR_RETURN(ir::Value * y, steps.value(step, type, ir::Shape(std::move(dims))));
  LOWP_RETURN_IF_ERROR(steps.node("Unsqueeze", 13, step, {additive, axesValue}, y).status());
  return y;
}

// is_causal with nonpad_kv_seqlen and no cache: batch b's query row i sees keys j <= i + nonpad[b] - Sq,
// that is j - i < nonpad[b] - Sq + 1: Less(Range(T)[None, :] - Range(Sq)[:, None], (nonpad - Sq + 1)[:,
// None, None]), [B, Sq, T]; the differences fold while planning.
Result<ir::Value*> causalNonpadMask(ViewSteps& steps, ir::Value* q, int64_t rowsAxis, ir::Value* keys,
                                    ir::Value* nonpad, int64_t rank, DataType type) {
  const ir::Dim& sq = q->shape[rowsAxis];
  const ir::Dim& t = keys->shape[2];
  const ir::Dim& b = nonpad->shape[0];
  LOWP_ASSIGN_OR_RETURN(ir::Value * rowCount, dimScalar(steps, q, rowsAxis, "causal_rows"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * keyCount, dimScalar(steps, keys, 2, "causal_keys"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * rowRange, positions(steps, rowCount, sq, "causal_row_positions"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * keyRange, positions(steps, keyCount, t, "causal_key_positions"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * column,
                        steps.reshape(rowRange, {-1, 1}, ir::Shape({sq, ir::Dim(1)}), "causal_row_column"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * distance,
                        steps.value("causal_distance", DataType::kInt64, ir::Shape({sq, t})));
  LOWP_RETURN_IF_ERROR(steps.node("Sub", 14, "causal_distance", {keyRange, column}, distance).status());
  LOWP_ASSIGN_OR_RETURN(ir::Value * one, steps.constant("causal_one", scalarInt(1)));
  LOWP_ASSIGN_OR_RETURN(ir::Value * shift,
                        steps.value("causal_shift", DataType::kInt64, ir::Shape(std::vector<ir::Dim>{})));
  LOWP_RETURN_IF_ERROR(steps.node("Sub", 14, "causal_shift", {rowCount, one}, shift).status());
  LOWP_ASSIGN_OR_RETURN(ir::Value * limit, steps.value("causal_limit", DataType::kInt64, ir::Shape({b})));
  LOWP_RETURN_IF_ERROR(steps.node("Sub", 14, "causal_limit", {nonpad, shift}, limit).status());
  LOWP_ASSIGN_OR_RETURN(
      ir::Value * limits,
      steps.reshape(limit, {-1, 1, 1}, ir::Shape({b, ir::Dim(1), ir::Dim(1)}), "causal_limits"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * keep, steps.value("causal_keep", DataType::kBool, ir::Shape({b, sq, t})));
  LOWP_RETURN_IF_ERROR(steps.node("Less", 13, "causal_keep", {distance, limits}, keep).status());
  return batchMask(steps, keep, rank, type, "causal_mask");
}

// nonpad_kv_seqlen: batch b sees keys j < nonpad[b]. Where(Range(0, T) < nonpad[:, None], 0, -inf), [B, T]
// (the Range folds while planning), then unsqueezed to [B, 1, ..., 1, T] of `rank`.
Result<ir::Value*> nonpadMask(ViewSteps& steps, ir::Value* nonpad, ir::Value* keys, int64_t rank,
                              DataType type) {
  const ir::Dim& t = keys->shape[2];
  const ir::Dim& b = nonpad->shape[0];
  LOWP_ASSIGN_OR_RETURN(ir::Value * keyCount, dimScalar(steps, keys, 2, "nonpad_keys"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * keyRange, positions(steps, keyCount, t, "nonpad_positions"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * lengths,
                        steps.reshape(nonpad, {-1, 1}, ir::Shape({b, ir::Dim(1)}), "nonpad_lengths"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * keep, steps.value("nonpad_keep", DataType::kBool, ir::Shape({b, t})));
  LOWP_RETURN_IF_ERROR(steps.node("Less", 13, "nonpad_keep", {keyRange, lengths}, keep).status());
  return batchMask(steps, keep, rank, type, "nonpad_mask");
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

// Keys or values [B, Hkv, S, size] after the cache: Concat(past, x) along the sequence, written into the
// present output when the model reads it (x itself there without a cache).
Result<ir::Value*> afterCache(ViewSteps& steps, ir::Value* x, ir::Value* past, ir::Value* present,
                              const std::string& step) {
  if (past == nullptr) {
    if (present != nullptr) LOWP_RETURN_IF_ERROR(steps.node("Identity", 16, step, {x}, present).status());
    return x;
  }
  ir::Value* all = present;
  if (all == nullptr) {
    const ir::Dim& p = past->shape[2];
    const ir::Dim& s = x->shape[2];
    const ir::Dim t = p.isKnown() && s.isKnown() ? ir::Dim(p.size + s.size) : ir::Dim();
    LOWP_ASSIGN_OR_RETURN(all,
                          steps.value(step, x->type, ir::Shape({x->shape[0], x->shape[1], t, x->shape[3]})));
  }
  LOWP_ASSIGN_OR_RETURN(ir::Node * concat, steps.node("Concat", 13, step, {past, x}, all));
  concat->attributes.set("axis", int64_t{2});
  return all;
}

// [B, Hkv, a, b] seen as [B, Hkv, group, a, b], each key/value head repeated for its group of query heads:
// Unsqueeze and Expand, which fuse_attention_layout folds into a view that reads each head in place.
Result<ir::Value*> repeatHeads(ViewSteps& steps, ir::Value* x, int64_t group, const std::string& step) {
  const ir::Shape& s = x->shape;
  LOWP_ASSIGN_OR_RETURN(ir::Value * axesValue, steps.ints(step + "_axes", {2}));
  LOWP_ASSIGN_OR_RETURN(ir::Value * one, steps.value(step + "_unsqueeze", x->type,
                                                     ir::Shape({s[0], s[1], ir::Dim(1), s[2], s[3]})));
  LOWP_RETURN_IF_ERROR(steps.node("Unsqueeze", 13, step + "_unsqueeze", {x, axesValue}, one).status());
  LOWP_ASSIGN_OR_RETURN(ir::Value * targetValue, steps.ints(step + "_expand_shape", {1, 1, group, 1, 1}));
  LOWP_ASSIGN_OR_RETURN(
      ir::Value * repeated,
      steps.value(step + "_expand", x->type, ir::Shape({s[0], s[1], ir::Dim(group), s[2], s[3]})));
  LOWP_RETURN_IF_ERROR(steps.node("Expand", 13, step + "_expand", {one, targetValue}, repeated).status());
  return repeated;
}

// A mask broadcastable to [B, H, Sq, T] made broadcastable to [B, Hkv, group, Sq, T]: a heads dim of 1
// gets one more dim of 1, a heads dim of H splits into Hkv x group (its target from the mask's own shape,
// known while planning). Masks of rank 2 or less broadcast as they are.
Result<ir::Value*> groupedMask(ViewSteps& steps, ir::Value* mask, int64_t kvHeads, int64_t group) {
  const ir::Shape& m = mask->shape;
  const int64_t r = m.rank();
  if (r <= 2) return mask;
  const int64_t headsAxis = r - 3;
  std::vector<ir::Dim> dims;
  for (int64_t d = 0; d < headsAxis; ++d) dims.push_back(m[d]);
  if (m[headsAxis].size == 1) {
    dims.insert(dims.end(), {ir::Dim(1), ir::Dim(1), m[r - 2], m[r - 1]});
  } else {
    dims.insert(dims.end(), {ir::Dim(kvHeads), ir::Dim(group), m[r - 2], m[r - 1]});
  }
  LOWP_ASSIGN_OR_RETURN(ir::Value * y, steps.value("mask_groups", mask->type, ir::Shape(dims)));
  std::vector<ir::Value*> pieces;
  if (headsAxis > 0) {
    LOWP_ASSIGN_OR_RETURN(ir::Value * outer, shapeOf(steps, mask, 0, headsAxis, "mask_outer"));
    pieces.push_back(outer);
  }
  const bool oneHead = m[headsAxis].size == 1;
  LOWP_ASSIGN_OR_RETURN(ir::Value * headsValue,
                        steps.ints("mask_heads", {oneHead ? 1 : kvHeads, oneHead ? 1 : group}));
  pieces.push_back(headsValue);
  LOWP_ASSIGN_OR_RETURN(ir::Value * inner, shapeOf(steps, mask, r - 2, r, "mask_inner"));
  pieces.push_back(inner);
  LOWP_ASSIGN_OR_RETURN(ir::Value * target, steps.value("mask_groups_shape", DataType::kInt64,
                                                        ir::Shape({ir::Dim(headsAxis + 4)})));
  LOWP_ASSIGN_OR_RETURN(ir::Node * concat, steps.node("Concat", 13, "mask_groups_shape", pieces, target));
  concat->attributes.set("axis", int64_t{0});
  LOWP_RETURN_IF_ERROR(steps.node("Reshape", 14, "mask_groups", {mask, target}, y).status());
  return y;
}

Result<ir::Value*> addMasks(ViewSteps& steps, ir::Value* a, ir::Value* b, DataType type,
                            const std::string& step) {
  if (a == nullptr) return b;
  LOWP_ASSIGN_OR_RETURN(ir::Value * both, steps.value(step, type, ir::Shape::unknownRank()));
  LOWP_RETURN_IF_ERROR(steps.node("Add", 14, step, {a, b}, both).status());
  return both;
}

Result<bool> lower(ir::Graph& graph, ir::Node& attention) {
  const Facts f = *factsOf(attention);
  const std::string name = attention.name;
  ir::Value* q = attention.input(kOnnxAttentionQ);
  ir::Value* k = attention.input(kOnnxAttentionK);
  ir::Value* v = attention.input(kOnnxAttentionV);
  ir::Value* mask = attention.input(kOnnxAttentionMask);
  ir::Value* y = attention.outputs[kOnnxAttentionY];
  const ir::AttributeMap a = attention.attributes;
  const float scale = a.has("scale") ? a.getFloat("scale", 1.0f)
                                     : static_cast<float>(1.0 / std::sqrt(static_cast<double>(f.q.size)));
  const int64_t kvHeads = f.k.heads;
  const int64_t group = f.group;
  const DataType type = q->type;
  graph.removeNode(&attention);  // frees Y and the present outputs for the nodes that write them now
  ViewSteps steps(graph, name);

  // Q as [B, H, Sq, D], or [B, Hkv, group, Sq, D] with grouped heads.
  ir::Value* qOp = q;
  if (f.threeD) {
    const std::vector<int64_t> split = group > 1 ? std::vector<int64_t>{kvHeads, group, f.q.size}
                                                 : std::vector<int64_t>{f.q.heads, f.q.size};
    LOWP_ASSIGN_OR_RETURN(ir::Value * qr, splitLast(steps, q, split, "q_reshape"));
    LOWP_ASSIGN_OR_RETURN(
        qOp, steps.transpose(
                 qr, group > 1 ? std::vector<int64_t>{0, 2, 3, 1, 4} : std::vector<int64_t>{0, 2, 1, 3},
                 "q_transpose"));
  } else if (group > 1) {
    const ir::Shape& s = q->shape;
    LOWP_ASSIGN_OR_RETURN(
        qOp, steps.reshape(q, {0, kvHeads, group, -1, f.q.size},
                           ir::Shape({s[0], ir::Dim(kvHeads), ir::Dim(group), s[2], s[3]}), "q_groups"));
  }
  // K and V as [B, Hkv, S, size], then after the cache.
  ir::Value* k4 = k;
  ir::Value* v4 = v;
  if (f.threeD) {
    LOWP_ASSIGN_OR_RETURN(ir::Value * kr, splitLast(steps, k, {kvHeads, f.k.size}, "k_reshape"));
    LOWP_ASSIGN_OR_RETURN(k4, steps.transpose(kr, {0, 2, 1, 3}, "k_heads"));
    LOWP_ASSIGN_OR_RETURN(ir::Value * vr, splitLast(steps, v, {kvHeads, f.v.size}, "v_reshape"));
    LOWP_ASSIGN_OR_RETURN(v4, steps.transpose(vr, {0, 2, 1, 3}, "v_heads"));
  }
  LOWP_ASSIGN_OR_RETURN(ir::Value * keys, afterCache(steps, k4, f.pastKey, f.presentKey, "present_key"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * values,
                        afterCache(steps, v4, f.pastValue, f.presentValue, "present_value"));
  LOWP_ASSIGN_OR_RETURN(ir::Value * kt, steps.transpose(keys, {0, 1, 3, 2}, "k_transpose"));
  ir::Value* vOp = values;
  if (group > 1) {
    LOWP_ASSIGN_OR_RETURN(kt, repeatHeads(steps, kt, group, "k_groups"));
    LOWP_ASSIGN_OR_RETURN(vOp, repeatHeads(steps, values, group, "v_groups"));
  }

  if (mask != nullptr) {
    LOWP_ASSIGN_OR_RETURN(mask, additiveMask(steps, mask, type));
    if (group > 1) {
      LOWP_ASSIGN_OR_RETURN(mask, groupedMask(steps, mask, kvHeads, group));
    }
  }
  const int64_t rowsAxis = f.sequenceAxis();
  const int64_t scoresRank = group > 1 ? 5 : 4;
  // is_causal whose diagonal ends at the last key (as many queries as new keys, and no nonpad_kv_seqlen
  // without a cache) is lowp.Attention's causal attribute; any other is a mask.
  const bool causal = a.getInt("is_causal", 0) != 0;
  const ir::Dim& rows = q->shape[rowsAxis];
  const ir::Dim& fresh = k->shape[rowsAxis];
  const bool causalAttribute = causal && rows == fresh && (rows.isKnown() || !rows.symbol.empty()) &&
                               (f.pastKey != nullptr || f.nonpad == nullptr);
  if (causal && !causalAttribute) {
    ir::Value* causalMaskValue = nullptr;
    if (f.nonpad != nullptr && f.pastKey == nullptr) {
      LOWP_ASSIGN_OR_RETURN(causalMaskValue,
                            causalNonpadMask(steps, q, rowsAxis, keys, f.nonpad, scoresRank, type));
    } else {
      LOWP_ASSIGN_OR_RETURN(causalMaskValue, causalMask(steps, q, rowsAxis, keys, f.pastKey, type));
    }
    LOWP_ASSIGN_OR_RETURN(mask, addMasks(steps, mask, causalMaskValue, type, "mask_causal"));
  }
  if (f.nonpad != nullptr) {
    LOWP_ASSIGN_OR_RETURN(ir::Value * padding, nonpadMask(steps, f.nonpad, keys, scoresRank, type));
    LOWP_ASSIGN_OR_RETURN(mask, addMasks(steps, mask, padding, type, "mask_nonpad"));
  }

  ir::Node* fused = graph.addNode(std::string(kAttentionOp), name);
  fused->domain = std::string(kLowpDomain);
  fused->opsetVersion = 1;
  fused->attributes.set("scale", scale);
  if (causalAttribute) fused->attributes.set(std::string(kAttentionCausal), int64_t{1});
  if (a.getFloat("softcap", 0.0f) > 0.0f)
    fused->attributes.set(std::string(kAttentionSoftcap), a.getFloat("softcap", 0.0f));
  graph.setInput(fused, kAttentionQ, qOp);
  graph.setInput(fused, kAttentionKt, kt);
  graph.setInput(fused, kAttentionV, vOp);
  if (mask != nullptr) graph.setInput(fused, kAttentionMask, mask);
  if (mask != nullptr || causalAttribute)
    fused->attributes.set(std::string(kAttentionZeroMaskedRows), int64_t{1});
  // The result [B, H, Sq, Dv] or [B, Hkv, group, Sq, Dv] back to Y's [B, H, Sq, Dv] or [B, Sq, H * Dv].
  const ir::Dim batch = q->shape[0];
  std::vector<ir::Dim> heads = {ir::Dim(f.q.heads)};
  if (group > 1) heads = {ir::Dim(kvHeads), ir::Dim(group)};
  std::vector<ir::Dim> canonical = {batch};
  canonical.insert(canonical.end(), heads.begin(), heads.end());
  canonical.insert(canonical.end(), {rows, ir::Dim(f.v.size)});
  if (!f.threeD && group == 1) {
    LOWP_RETURN_IF_ERROR(graph.addOutput(fused, y));
  } else {
    LOWP_ASSIGN_OR_RETURN(ir::Value * result, steps.value("heads", y->type, ir::Shape(canonical)));
    LOWP_RETURN_IF_ERROR(graph.addOutput(fused, result));
    if (!f.threeD) {
      LOWP_RETURN_IF_ERROR(
          steps.reshape(result, {0, f.q.heads, -1, f.v.size}, y->shape, "y_heads", y).status());
    } else {
      // [B, heads..., Sq, Dv] -> [B, Sq, heads..., Dv] -> [B, Sq, H * Dv]
      const std::vector<int64_t> perm =
          group > 1 ? std::vector<int64_t>{0, 3, 1, 2, 4} : std::vector<int64_t>{0, 2, 1, 3};
      LOWP_ASSIGN_OR_RETURN(ir::Value * yt, steps.transpose(result, perm, "y_transpose"));
      LOWP_RETURN_IF_ERROR(splitLast(steps, yt, {f.q.heads * f.v.size}, "y_reshape", y).status());
    }
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
