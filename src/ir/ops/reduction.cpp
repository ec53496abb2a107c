// Type and shape rules of the reduction ops: the ten Reduce* ops, ArgMax/ArgMin, CumSum/CumProd and TopK.
//
// Canonical form (what the importer's normalisers produce): Reduce* take axes as optional input 1 and TopK
// takes k as input 1. The rules also accept the older attribute spellings (Reduce* `axes` before opset 13/18,
// TopK `k` before opset 10), so a node that skipped normalisation still infers correctly.
#include <string>

#include "ir/ops/common.h"
#include "ir/ops/reduction_axes.h"

namespace lowp::ir::ops {

namespace {

std::string typeName(DataType t) {
  return std::string(dataTypeInfo(t).name);
}

/// Error unless input `i` (an axes, axis or k input) is an int32/int64 tensor of rank <= `maxRank`.
Status requireIntIndexInput(InferContext& ctx, size_t i, const char* what, int64_t maxRank) {
  DataType t = ctx.inputType(i);
  if (t != DataType::kInt64 && t != DataType::kInt32) {
    return ctx.invalid(std::string(what) + " must be int64, got " + typeName(t));
  }
  const Shape& s = ctx.inputShape(i);
  if (s.rankKnown() && s.rank() > maxRank) {
    return ctx.invalid(std::string(what) + " must have rank <= " + std::to_string(maxRank) + ", got shape " +
                       s.toString());
  }
  return {};
}

/// Error for element types no reduction accepts (string, complex, 4-bit); bool only where `allowBool`.
Status requireReducibleType(InferContext& ctx, bool allowBool) {
  DataType t = ctx.inputType(0);
  bool ok = isFloat(t) || isInteger(t) || (allowBool && t == DataType::kBool);
  if (!ok || !isStorable(t)) return ctx.invalid("input type " + typeName(t) + " cannot be reduced");
  return {};
}

/// A single value from a scalar or one-element 1-D integer input (CumSum's axis, TopK's k), when known.
Result<std::optional<int64_t>> scalarIntInput(InferContext& ctx, size_t i, const char* what) {
  auto values = ctx.inputInts(i);
  if (!values) {
    const Shape& s = ctx.inputShape(i);
    if (s.isStatic() && s.elementCount() != 1) {
      return ctx.invalid(std::string(what) + " must hold one value, got shape " + s.toString());
    }
    return std::optional<int64_t>();
  }
  if (values->size() != 1) {
    return ctx.invalid(std::string(what) + " must hold one value, got " + std::to_string(values->size()));
  }
  return std::optional<int64_t>(values->front());
}

// Reduce*: output rank is the input's (keepdims=1) or drops the reduced axes.
Status inferReduce(InferContext& ctx) {
  const bool ordering = ctx.node().opType == "ReduceMax" || ctx.node().opType == "ReduceMin";
  LOWP_RETURN_IF_ERROR(requireReducibleType(ctx, ordering));
  DataType type = ctx.inputType(0);
  const Shape& in = ctx.inputShape(0);
  const bool keepdims = ctx.attrs().getInt("keepdims", 1) != 0;
  const bool noopIfEmpty = ctx.attrs().getInt("noop_with_empty_axes", 0) != 0;

  std::optional<std::vector<int64_t>> axes;
  if (ctx.hasInput(1)) {
    if (ctx.attrs().has("axes")) return ctx.invalid("axes is given both as attribute and as input");
    LOWP_RETURN_IF_ERROR(requireIntIndexInput(ctx, 1, "axes", 1));
    axes = ctx.inputInts(1);
    const Shape& axesShape = ctx.inputShape(1);
    if (!axes && axesShape.isStatic() && axesShape.elementCount() == 0) axes = std::vector<int64_t>{};
  } else {
    axes = ctx.attrs().getInts("axes");
  }

  if (!axes || !in.rankKnown()) {
    // Unknown axes or rank: the rank survives only with keepdims (or a no-op on known-empty axes).
    if (axes && axes->empty() && noopIfEmpty) {
      ctx.setOutput(0, type, in);
    } else if (keepdims && in.rankKnown()) {
      ctx.setOutput(0, type, unknownDims(in.rank()));
    } else {
      ctx.setOutput(0, type, Shape::unknownRank());
    }
    return {};
  }
  auto r = resolveReduceAxes(ctx.attrs(), *axes, in.rank());
  if (!r) return ctx.invalid(r.status().message());
  if (r->noop) {
    ctx.setOutput(0, type, in);
    return {};
  }
  std::vector<Dim> dims;
  for (int64_t d = 0; d < in.rank(); ++d) {
    if (!r->reduced[static_cast<size_t>(d)]) {
      dims.push_back(in[d]);
    } else if (keepdims) {
      dims.emplace_back(1);
    }
  }
  ctx.setOutput(0, type, Shape(std::move(dims)));
  return {};
}

// ArgMax/ArgMin: int64 indices; the axis is reduced (kept as 1 with keepdims=1).
Status inferArgReduce(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireReducibleType(ctx, false));
  const Shape& in = ctx.inputShape(0);
  if (!in.rankKnown()) {
    ctx.setOutput(0, DataType::kInt64, Shape::unknownRank());
    return {};
  }
  auto axis = normalizeAxis(ctx.attrs().getInt("axis", 0), in.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  const bool keepdims = ctx.attrs().getInt("keepdims", 1) != 0;
  std::vector<Dim> dims;
  bool othersNonEmpty = true;
  for (int64_t d = 0; d < in.rank(); ++d) {
    if (d != *axis) {
      dims.push_back(in[d]);
      othersNonEmpty = othersNonEmpty && in[d].isKnown() && in[d].size > 0;
    } else if (keepdims) {
      dims.emplace_back(1);
    }
  }
  if (in[*axis].isKnown() && in[*axis].size == 0 && othersNonEmpty) {
    return ctx.invalid("cannot take the index of an extremum over axis " + std::to_string(*axis) +
                       " of size 0 (input " + in.toString() + ")");
  }
  ctx.setOutput(0, DataType::kInt64, Shape(std::move(dims)));
  return {};
}

// CumSum/CumProd: same type and shape as x; the axis input is one int32/int64 value in [-rank, rank).
Status inferCumulative(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireReducibleType(ctx, false));
  LOWP_RETURN_IF_ERROR(requireIntIndexInput(ctx, 1, "axis", 1));
  LOWP_ASSIGN_OR_RETURN(auto axis, scalarIntInput(ctx, 1, "axis"));
  const Shape& in = ctx.inputShape(0);
  if (axis && in.rankKnown()) {
    auto a = normalizeAxis(*axis, in.rank());
    if (!a) return ctx.invalid(a.status().message());
  }
  ctx.setOutput(0, ctx.inputType(0), in);
  return {};
}

// TopK: values and int64 indices, both x's shape with dimension `axis` replaced by k.
Status inferTopK(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireReducibleType(ctx, false));
  std::optional<int64_t> k;
  if (ctx.hasInput(1)) {
    if (ctx.attrs().has("k")) return ctx.invalid("k is given both as attribute and as input");
    LOWP_RETURN_IF_ERROR(requireIntIndexInput(ctx, 1, "k", 1));
    LOWP_ASSIGN_OR_RETURN(k, scalarIntInput(ctx, 1, "k"));
  } else if (ctx.attrs().has("k")) {
    k = ctx.attrs().getInt("k", 0);
  } else {
    return ctx.invalid("k is missing (neither input 1 nor attribute k is given)");
  }
  if (k && *k < 0) return ctx.invalid("k must be >= 0, got " + std::to_string(*k));

  const Shape& in = ctx.inputShape(0);
  if (!in.rankKnown()) {
    ctx.setOutput(0, ctx.inputType(0), Shape::unknownRank());
    ctx.setOutput(1, DataType::kInt64, Shape::unknownRank());
    return {};
  }
  auto axis = normalizeAxis(ctx.attrs().getInt("axis", -1), in.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  Shape out = in;
  const Dim& n = in[*axis];
  if (k && n.isKnown() && *k > n.size) {
    return ctx.invalid("k = " + std::to_string(*k) + " exceeds the size " + std::to_string(n.size) +
                       " of axis " + std::to_string(*axis));
  }
  out[*axis] = k ? Dim(*k) : Dim();
  ctx.setOutput(0, ctx.inputType(0), out);
  ctx.setOutput(1, DataType::kInt64, out);
  return {};
}

}  // namespace

void registerReductionSchemas(OpSchemaRegistry& registry) {
  // axes was an attribute until opset 13 (ReduceSum) / 18 (the others); noop_with_empty_axes came with
  // input 1.
  for (std::string_view op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                              "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}) {
    registry.add({.opType = op,
                  .minInputs = 1,
                  .maxInputs = 2,
                  .attributes = {{"axes", AttrType::kInts},
                                 {"keepdims", AttrType::kInt},
                                 {"noop_with_empty_axes", AttrType::kInt}},
                  .infer = inferReduce});
  }
  for (std::string_view op : {"ArgMax", "ArgMin"}) {
    registry.add({.opType = op,
                  .minInputs = 1,
                  .maxInputs = 1,
                  .attributes = {{"axis", AttrType::kInt},
                                 {"keepdims", AttrType::kInt},
                                 {"select_last_index", AttrType::kInt}},
                  .infer = inferArgReduce});
  }
  for (std::string_view op : {"CumSum", "CumProd"}) {
    registry.add({.opType = op,
                  .minInputs = 2,
                  .maxInputs = 2,
                  .attributes = {{"exclusive", AttrType::kInt}, {"reverse", AttrType::kInt}},
                  .infer = inferCumulative});
  }
  // k was an attribute until opset 10, hence one input at least.
  registry.add({.opType = "TopK",
                .minInputs = 1,
                .maxInputs = 2,
                .minOutputs = 2,
                .maxOutputs = 2,
                .attributes = {{"k", AttrType::kInt},
                               {"axis", AttrType::kInt},
                               {"largest", AttrType::kInt},
                               {"sorted", AttrType::kInt}},
                .infer = inferTopK});
}

}  // namespace lowp::ir::ops
