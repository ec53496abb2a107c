// Type and shape rules of the tensor ops: shape and data-movement operators (Reshape, Transpose, Concat,
// Slice, Gather, Scatter, Pad, ...). They keep their data's type, so most accept every storable type;
// index inputs are int32 or int64. Output shapes that depend on an input's values (Reshape's shape, Slice's
// starts, ...) are exact when that value is known (a constant at import, always at run time) and keep as
// much as the shapes alone tell otherwise. The shape arithmetic lives in tensor_shapes.cpp, which the
// reference kernels share.
#include <algorithm>
#include <string>

#include "ir/ops/common.h"
#include "ir/ops/tensor_shapes.h"

namespace lowp::ir::ops {
namespace {

using Ints = std::vector<int64_t>;

/// An error from tensor_shapes.cpp, re-issued naming this node.
Status fail(const InferContext& ctx, const Status& s) {
  return s.code() == StatusCode::kUnsupported ? ctx.unsupported(s.message()) : ctx.invalid(s.message());
}

std::string typeName(DataType t) {
  return std::string(dataTypeInfo(t).name);
}

Status requireStorable(const InferContext& ctx, size_t i) {
  if (!ctx.hasInput(i)) return ctx.invalid("input " + std::to_string(i) + " is required");
  if (!isStorable(ctx.inputType(i))) {
    return ctx.unsupported("input " + std::to_string(i) + " has type " + typeName(ctx.inputType(i)) +
                           ", which lowp does not store");
  }
  return {};
}

/// Index inputs (indices, shapes, axes, pads, ...) must be int32 or int64 where present.
Status requireIndexType(const InferContext& ctx, size_t i, const char* what, bool int64Only = false) {
  if (!ctx.hasInput(i)) return {};
  DataType t = ctx.inputType(i);
  if (t == DataType::kInt64 || (!int64Only && t == DataType::kInt32)) return {};
  return ctx.invalid(std::string(what) + " (input " + std::to_string(i) + ") must be " +
                     (int64Only ? "int64" : "int32 or int64") + ", not " + typeName(t));
}

/// The value of input i as integers when it is present and known.
std::optional<Ints> knownInts(const InferContext& ctx, size_t i) {
  return ctx.hasInput(i) ? ctx.inputInts(i) : std::nullopt;
}

/// The length of a 1-D input whose value is unknown, when its shape tells it.
std::optional<int64_t> knownLength(const InferContext& ctx, size_t i) {
  const Shape& s = ctx.inputShape(i);
  if (s.rankKnown() && s.rank() == 1 && s[0].isKnown()) return s[0].size;
  return std::nullopt;
}

std::optional<Ints> attrInts(const InferContext& ctx, std::string_view name) {
  if (!ctx.attrs().has(name)) return std::nullopt;
  return ctx.attrs().getInts(name);
}

Shape sameRankUnknown(const Shape& in) {
  return in.rankKnown() ? unknownDims(in.rank()) : Shape::unknownRank();
}

// ---- Identity, Dropout ----

Status inferIdentity(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  return inferSameAsInput0(ctx);
}

Status inferDropout(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  // Training mode drops elements at random; it is deterministic (the identity) only with ratio 0. Values
  // unknown at import are checked again at run time, when they are known.
  const Tensor* training = ctx.inputValue(2);
  if (training != nullptr && elementAsInt64(*training, 0).value_or(0) != 0) {
    const Tensor* ratio = ctx.inputValue(1);
    if (!ctx.hasInput(1) || (ratio != nullptr && elementValue(*ratio, 0).value_or(0.5) != 0.0)) {
      return ctx.unsupported("training_mode=1 with a non-zero ratio is random; lowp runs inference only");
    }
  }
  ctx.setOutput(0, ctx.inputType(0), ctx.inputShape(0));
  // The mask is bool from opset 10; before, it had the data's type.
  ctx.setOutput(1, ctx.node().opsetVersion >= 10 ? DataType::kBool : ctx.inputType(0), ctx.inputShape(0));
  return {};
}

// ---- Reshape, Flatten, Transpose, Squeeze, Unsqueeze ----

Status inferReshape(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "shape"));
  const bool allowZero = ctx.attrs().getInt("allowzero", 0) != 0;
  if (auto target = knownInts(ctx, 1)) {
    auto shape = reshapeShape(ctx.inputShape(0), *target, allowZero);
    if (!shape) return fail(ctx, shape.status());
    ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
    return {};
  }
  auto length = knownLength(ctx, 1);
  ctx.setOutput(0, ctx.inputType(0), length ? unknownDims(*length) : Shape::unknownRank());
  return {};
}

Status inferFlatten(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  auto shape = flattenShape(ctx.inputShape(0), ctx.attrs().getInt("axis", 1));
  if (!shape) return fail(ctx, shape.status());
  ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
  return {};
}

Status inferTranspose(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  const Shape& in = ctx.inputShape(0);
  auto permAttr = attrInts(ctx, "perm");
  if (!in.rankKnown()) {
    ctx.setOutput(0, ctx.inputType(0), permAttr ? unknownDims(static_cast<int64_t>(permAttr->size())) : in);
    return {};
  }
  auto perm = transposePerm(in.rank(), permAttr);
  if (!perm) return fail(ctx, perm.status());
  ctx.setOutput(0, ctx.inputType(0), transposeShape(in, *perm));
  return {};
}

Status inferSqueeze(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "axes", true));
  const Shape& in = ctx.inputShape(0);
  if (ctx.hasInput(1) && !ctx.inputValue(1)) {
    auto length = knownLength(ctx, 1);
    ctx.setOutput(0, ctx.inputType(0),
                  length && in.rankKnown() ? unknownDims(std::max<int64_t>(in.rank() - *length, 0))
                                           : Shape::unknownRank());
    return {};
  }
  auto shape = squeezeShape(in, knownInts(ctx, 1));
  if (!shape) return fail(ctx, shape.status());
  ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
  return {};
}

Status inferUnsqueeze(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  if (!ctx.hasInput(1)) return ctx.invalid("the axes input is required");
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "axes", true));
  const Shape& in = ctx.inputShape(0);
  auto axes = knownInts(ctx, 1);
  if (!axes) {
    auto length = knownLength(ctx, 1);
    ctx.setOutput(0, ctx.inputType(0),
                  length && in.rankKnown() ? unknownDims(in.rank() + *length) : Shape::unknownRank());
    return {};
  }
  auto shape = unsqueezeShape(in, *axes);
  if (!shape) return fail(ctx, shape.status());
  ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
  return {};
}

// ---- Concat, Split ----

Status inferConcat(InferContext& ctx) {
  if (!ctx.attrs().has("axis")) return ctx.invalid("the axis attribute is required");
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.inputCount(); ++i) {
    LOWP_RETURN_IF_ERROR(requireStorable(ctx, i));
    shapes.push_back(ctx.inputShape(i));
  }
  if (shapes.empty()) return ctx.invalid("Concat needs at least one input");
  LOWP_RETURN_IF_ERROR(requireSameInputTypes(ctx));
  auto shape = concatShape(shapes, ctx.attrs().getInt("axis", 0));
  if (!shape) return fail(ctx, shape.status());
  ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
  return {};
}

Status inferSplit(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "split", true));
  const auto n = static_cast<int64_t>(ctx.outputCount());
  const bool hasNumOutputs = ctx.attrs().has("num_outputs");
  if (hasNumOutputs) {
    if (ctx.hasInput(1)) return ctx.invalid("split input and num_outputs attribute are exclusive");
    if (ctx.attrs().getInt("num_outputs", 0) != n) {
      return ctx.invalid("num_outputs is " + std::to_string(ctx.attrs().getInt("num_outputs", 0)) +
                         " but the node has " + std::to_string(n) + " outputs");
    }
  }
  const Shape& in = ctx.inputShape(0);
  if (!in.rankKnown()) {
    for (size_t i = 0; i < ctx.outputCount(); ++i) ctx.setOutput(i, ctx.inputType(0), Shape::unknownRank());
    return {};
  }
  auto axis = normalizeAxis(ctx.attrs().getInt("axis", 0), in.rank());
  if (!axis) return fail(ctx, axis.status());
  std::vector<Dim> sizes(static_cast<size_t>(n));
  if (!ctx.hasInput(1) || ctx.inputValue(1) != nullptr) {
    auto s = splitSizes(in[*axis], knownInts(ctx, 1), n, hasNumOutputs);
    if (!s) return fail(ctx, s.status());
    sizes = std::move(s).value();
  }
  for (size_t i = 0; i < ctx.outputCount(); ++i) {
    Shape out = in;
    out[*axis] = sizes[i];
    ctx.setOutput(i, ctx.inputType(0), std::move(out));
  }
  return {};
}

// ---- Slice ----

Status inferSlice(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  for (size_t i = 1; i <= 4; ++i) LOWP_RETURN_IF_ERROR(requireIndexType(ctx, i, "slice parameter"));
  if (!ctx.hasInput(1) || !ctx.hasInput(2)) return ctx.invalid("starts and ends are required");
  const Shape& in = ctx.inputShape(0);
  auto starts = knownInts(ctx, 1);
  auto ends = knownInts(ctx, 2);
  auto axes = knownInts(ctx, 3);
  auto steps = knownInts(ctx, 4);
  const bool axesKnown = !ctx.hasInput(3) || axes;
  if (!starts || !ends || !axesKnown || (ctx.hasInput(4) && !steps)) {
    // The rank is kept; with known axes, only the sliced dims become unknown.
    Shape out = sameRankUnknown(in);
    if (in.rankKnown() && ctx.hasInput(3) && axes) {
      out = in;
      for (int64_t a : *axes) {
        auto n = normalizeAxis(a, in.rank(), "slice axis");
        if (!n) return fail(ctx, n.status());
        out[*n] = Dim();
      }
    }
    ctx.setOutput(0, ctx.inputType(0), std::move(out));
    return {};
  }
  auto plan = slicePlan(in, *starts, *ends, axes, steps);
  if (!plan) return fail(ctx, plan.status());
  ctx.setOutput(0, ctx.inputType(0), std::move(plan->shape));
  return {};
}

// ---- Gather, GatherElements, GatherND ----

Status inferGather(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "indices"));
  auto shape = gatherShape(ctx.inputShape(0), ctx.inputShape(1), ctx.attrs().getInt("axis", 0));
  if (!shape) return fail(ctx, shape.status());
  ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
  return {};
}

Status inferGatherElements(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "indices"));
  auto shape = gatherElementsShape(ctx.inputShape(0), ctx.inputShape(1), ctx.attrs().getInt("axis", 0));
  if (!shape) return fail(ctx, shape.status());
  ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
  return {};
}

Status inferGatherND(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "indices", true));
  auto shape = gatherNDShape(ctx.inputShape(0), ctx.inputShape(1), ctx.attrs().getInt("batch_dims", 0));
  if (!shape) return fail(ctx, shape.status());
  ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
  return {};
}

// ---- ScatterElements, Scatter, ScatterND ----

Status checkReduction(const InferContext& ctx) {
  const std::string r = ctx.attrs().getString("reduction", "none");
  if (r != "none" && r != "add" && r != "mul" && r != "max" && r != "min") {
    return ctx.invalid("unknown reduction '" + r + "'");
  }
  if (r != "none" && ctx.inputType(0) == DataType::kBool) {
    return ctx.unsupported("reduction '" + r + "' on bool data is not supported");
  }
  if (r != "none" && !isFloat(ctx.inputType(0)) && !isInteger(ctx.inputType(0))) {
    return ctx.unsupported("reduction '" + r + "' on " + typeName(ctx.inputType(0)) + " is not supported");
  }
  if (r != "none" && dataTypeInfo(ctx.inputType(0)).bits == 8 && isFloat(ctx.inputType(0))) {
    return ctx.unsupported("reduction '" + r + "' on fp8 data is not supported");
  }
  return {};
}

Status inferScatterElements(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "indices"));
  if (ctx.inputType(2) != ctx.inputType(0)) {
    return ctx.invalid("updates have type " + typeName(ctx.inputType(2)) + " but data has " +
                       typeName(ctx.inputType(0)));
  }
  LOWP_RETURN_IF_ERROR(checkReduction(ctx));
  Status s = checkScatterElements(ctx.inputShape(0), ctx.inputShape(1), ctx.inputShape(2),
                                  ctx.attrs().getInt("axis", 0));
  if (!s) return fail(ctx, s);
  ctx.setOutput(0, ctx.inputType(0), ctx.inputShape(0));
  return {};
}

Status inferScatterND(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "indices", true));
  if (ctx.inputType(2) != ctx.inputType(0)) {
    return ctx.invalid("updates have type " + typeName(ctx.inputType(2)) + " but data has " +
                       typeName(ctx.inputType(0)));
  }
  LOWP_RETURN_IF_ERROR(checkReduction(ctx));
  Status s = checkScatterND(ctx.inputShape(0), ctx.inputShape(1), ctx.inputShape(2));
  if (!s) return fail(ctx, s);
  ctx.setOutput(0, ctx.inputType(0), ctx.inputShape(0));
  return {};
}

// ---- Shape, Size ----

Status inferShapeOp(InferContext& ctx) {
  if (!ctx.hasInput(0)) return ctx.invalid("input 0 is required");
  const Shape& in = ctx.inputShape(0);
  std::optional<int64_t> start;
  std::optional<int64_t> end;
  if (ctx.attrs().has("start")) start = ctx.attrs().getInt("start", 0);
  if (ctx.attrs().has("end")) end = ctx.attrs().getInt("end", 0);
  if (!in.rankKnown()) {
    ctx.setOutput(0, DataType::kInt64, unknownDims(1));
    return {};
  }
  auto [s, e] = shapeOpRange(in.rank(), start, end);
  ctx.setOutput(0, DataType::kInt64, shapeOf({e - s}));
  return {};
}

Status inferSize(InferContext& ctx) {
  if (!ctx.hasInput(0)) return ctx.invalid("input 0 is required");
  ctx.setOutput(0, DataType::kInt64, Shape(std::vector<Dim>{}));
  return {};
}

// ---- Expand, Tile, Pad ----

Status inferExpand(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "shape", true));
  const Shape& in = ctx.inputShape(0);
  if (auto target = knownInts(ctx, 1)) {
    auto shape = expandShape(in, *target);
    if (!shape) return fail(ctx, shape.status());
    ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
    return {};
  }
  auto length = knownLength(ctx, 1);
  ctx.setOutput(0, ctx.inputType(0),
                length && in.rankKnown() ? unknownDims(std::max(*length, in.rank())) : Shape::unknownRank());
  return {};
}

Status inferTile(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "repeats", true));
  if (auto repeats = knownInts(ctx, 1)) {
    auto shape = tileShape(ctx.inputShape(0), *repeats);
    if (!shape) return fail(ctx, shape.status());
    ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
    return {};
  }
  ctx.setOutput(0, ctx.inputType(0), sameRankUnknown(ctx.inputShape(0)));
  return {};
}

Status inferPad(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "pads", true));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 3, "axes"));
  if (!ctx.hasInput(1)) return ctx.invalid("the pads input is required");
  if (ctx.hasInput(2) && ctx.inputType(2) != ctx.inputType(0)) {
    return ctx.invalid("constant_value has type " + typeName(ctx.inputType(2)) + " but data has " +
                       typeName(ctx.inputType(0)));
  }
  const std::string mode = ctx.attrs().getString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") {
    return ctx.invalid("unknown pad mode '" + mode + "'");
  }
  const Shape& in = ctx.inputShape(0);
  auto pads = knownInts(ctx, 1);
  auto axes = knownInts(ctx, 3);
  if (!in.rankKnown() || !pads || (ctx.hasInput(3) && !axes)) {
    ctx.setOutput(0, ctx.inputType(0), sameRankUnknown(in));
    return {};
  }
  auto amounts = padAmounts(in.rank(), *pads, axes);
  if (!amounts) return fail(ctx, amounts.status());
  auto shape = padShape(in, *amounts);
  if (!shape) return fail(ctx, shape.status());
  ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
  return {};
}

// ---- ConstantOfShape, Range, EyeLike, Trilu, OneHot ----

Status inferConstantOfShape(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 0, "shape", true));
  DataType type = DataType::kFloat32;
  if (const Tensor* value = ctx.attrs().getTensor("value")) {
    if (value->elementCount() != 1) return ctx.invalid("value must hold exactly one element");
    if (!isStorable(value->type())) {
      return ctx.unsupported("value of type " + typeName(value->type()) + " is not supported");
    }
    type = value->type();
  }
  if (auto sizes = knownInts(ctx, 0)) {
    auto shape = shapeFromSizes(*sizes);
    if (!shape) return fail(ctx, shape.status());
    ctx.setOutput(0, type, std::move(shape).value());
    return {};
  }
  auto length = knownLength(ctx, 0);
  ctx.setOutput(0, type, length ? unknownDims(*length) : Shape::unknownRank());
  return {};
}

Status inferRange(InferContext& ctx) {
  for (size_t i = 0; i < 3; ++i) {
    LOWP_RETURN_IF_ERROR(requireStorable(ctx, i));
    const Shape& s = ctx.inputShape(i);
    if (s.rankKnown() && s.isStatic() && s.elementCount() != 1) {
      return ctx.invalid("start, limit and delta must be scalars, input " + std::to_string(i) + " is " +
                         s.toString());
    }
  }
  LOWP_RETURN_IF_ERROR(requireSameInputTypes(ctx));
  const DataType type = ctx.inputType(0);
  const bool wideFloat = isFloat(type) && dataTypeInfo(type).bits >= 16;
  if (!isInteger(type) && !wideFloat) {
    return ctx.unsupported("Range of " + typeName(type) + " is not supported");
  }
  if (ctx.inputValue(0) && ctx.inputValue(1) && ctx.inputValue(2)) {
    auto n = rangeCount(*ctx.inputValue(0), *ctx.inputValue(1), *ctx.inputValue(2));
    if (!n) return fail(ctx, n.status());
    ctx.setOutput(0, type, shapeOf({*n}));
    return {};
  }
  ctx.setOutput(0, type, unknownDims(1));
  return {};
}

Status inferEyeLike(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  const Shape& in = ctx.inputShape(0);
  if (in.rankKnown() && in.rank() != 2) return ctx.invalid("the input must be 2-D, not " + in.toString());
  DataType type = ctx.inputType(0);
  if (ctx.attrs().has("dtype")) {
    auto t = dataTypeFromOnnx(static_cast<int32_t>(ctx.attrs().getInt("dtype", 0)));
    if (!t) return ctx.invalid("dtype " + std::to_string(ctx.attrs().getInt("dtype", 0)) + " is not a type");
    type = *t;
  }
  if (!isStorable(type) || (isFloat(type) && dataTypeInfo(type).bits == 8)) {
    return ctx.unsupported("EyeLike of " + typeName(type) + " is not supported");
  }
  ctx.setOutput(0, type, in.rankKnown() ? in : unknownDims(2));
  return {};
}

Status inferTrilu(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "k", true));
  const Shape& in = ctx.inputShape(0);
  if (in.rankKnown() && in.rank() < 2) {
    return ctx.invalid("the input must have rank >= 2, not " + in.toString());
  }
  const Shape& k = ctx.inputShape(1);
  if (ctx.hasInput(1) && k.isStatic() && k.elementCount() != 1) return ctx.invalid("k must be a scalar");
  return inferSameAsInput0(ctx);
}

Status inferOneHot(InferContext& ctx) {
  for (size_t i = 0; i < 3; ++i) LOWP_RETURN_IF_ERROR(requireStorable(ctx, i));
  for (size_t i = 0; i < 2; ++i) {
    const DataType t = ctx.inputType(i);
    if (!isInteger(t) && !(isFloat(t) && dataTypeInfo(t).bits > 8)) {
      return ctx.invalid("input " + std::to_string(i) + " must be numeric, not " + typeName(t));
    }
  }
  const Shape& values = ctx.inputShape(2);
  if (values.isStatic() && values.elementCount() != 2) {
    return ctx.invalid("values must hold two elements (off, on), not " + values.toString());
  }
  const Shape& depthShape = ctx.inputShape(1);
  if (depthShape.isStatic() && depthShape.elementCount() != 1) {
    return ctx.invalid("depth must be a scalar, not " + depthShape.toString());
  }
  Dim depth;
  if (const Tensor* d = ctx.inputValue(1)) {
    auto v = elementAsInt64(*d, 0);
    if (!v || *v <= 0) return ctx.invalid("depth must be a positive integer");
    depth = Dim(*v);
  }
  auto shape = oneHotShape(ctx.inputShape(0), depth, ctx.attrs().getInt("axis", -1));
  if (!shape) return fail(ctx, shape.status());
  ctx.setOutput(0, ctx.inputType(2), std::move(shape).value());
  return {};
}

// ---- Compress, NonZero ----

/// The number of true entries among the first `limit` of a bool condition.
int64_t countTrue(const Tensor& condition, int64_t limit) {
  const auto* c = condition.data<uint8_t>();
  const int64_t n = std::min(condition.elementCount(), limit);
  return std::count_if(c, c + n, [](uint8_t v) { return v != 0; });
}

Status inferCompress(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  if (ctx.inputType(1) != DataType::kBool) {
    return ctx.invalid("condition must be bool, not " + typeName(ctx.inputType(1)));
  }
  const Shape& cond = ctx.inputShape(1);
  if (cond.rankKnown() && cond.rank() != 1) {
    return ctx.invalid("condition must be 1-D, not " + cond.toString());
  }
  const Shape& in = ctx.inputShape(0);
  const Tensor* value = ctx.inputValue(1);
  if (!ctx.attrs().has("axis")) {
    auto total = in.elementCount();
    ctx.setOutput(0, ctx.inputType(0),
                  value && total ? shapeOf({countTrue(*value, *total)}) : unknownDims(1));
    return {};
  }
  if (!in.rankKnown()) {
    ctx.setOutput(0, ctx.inputType(0), Shape::unknownRank());
    return {};
  }
  auto axis = normalizeAxis(ctx.attrs().getInt("axis", 0), in.rank());
  if (!axis) return fail(ctx, axis.status());
  Shape out = in;
  out[*axis] = value && in[*axis].isKnown() ? Dim(countTrue(*value, in[*axis].size)) : Dim();
  ctx.setOutput(0, ctx.inputType(0), std::move(out));
  return {};
}

Status inferNonZero(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  const Shape& in = ctx.inputShape(0);
  // A scalar counts as a 1-D tensor of one element, as in ONNX Runtime.
  Dim rank = in.rankKnown() ? Dim(std::max<int64_t>(in.rank(), 1)) : Dim();
  Dim count;
  if (const Tensor* value = ctx.inputValue(0)) {
    int64_t n = 0;
    for (int64_t i = 0; i < value->elementCount(); ++i) {
      auto v = elementValue(*value, i);
      if (!v) return ctx.unsupported("NonZero of " + typeName(value->type()) + " is not supported");
      n += *v != 0.0 ? 1 : 0;
    }
    count = Dim(n);
  }
  ctx.setOutput(0, DataType::kInt64, Shape({rank, count}));
  return {};
}

// ---- SpaceToDepth, DepthToSpace, ReverseSequence ----

Status inferSpaceToDepth(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  if (!ctx.attrs().has("blocksize")) return ctx.invalid("the blocksize attribute is required");
  auto shape = spaceToDepthShape(ctx.inputShape(0), ctx.attrs().getInt("blocksize", 0));
  if (!shape) return fail(ctx, shape.status());
  ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
  return {};
}

Status inferDepthToSpace(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  if (!ctx.attrs().has("blocksize")) return ctx.invalid("the blocksize attribute is required");
  const std::string mode = ctx.attrs().getString("mode", "DCR");
  if (mode != "DCR" && mode != "CRD") return ctx.invalid("mode must be DCR or CRD, not '" + mode + "'");
  auto shape = depthToSpaceShape(ctx.inputShape(0), ctx.attrs().getInt("blocksize", 0));
  if (!shape) return fail(ctx, shape.status());
  ctx.setOutput(0, ctx.inputType(0), std::move(shape).value());
  return {};
}

Status inferReverseSequence(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireStorable(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireIndexType(ctx, 1, "sequence_lens", true));
  const int64_t batchAxis = ctx.attrs().getInt("batch_axis", 1);
  const int64_t timeAxis = ctx.attrs().getInt("time_axis", 0);
  if ((batchAxis != 0 && batchAxis != 1) || (timeAxis != 0 && timeAxis != 1) || batchAxis == timeAxis) {
    return ctx.invalid("batch_axis and time_axis must be 0 and 1 in some order");
  }
  const Shape& in = ctx.inputShape(0);
  if (in.rankKnown() && in.rank() < 2) {
    return ctx.invalid("the input must have rank >= 2, not " + in.toString());
  }
  const Shape& lens = ctx.inputShape(1);
  if (lens.rankKnown() && lens.rank() != 1) return ctx.invalid("sequence_lens must be 1-D");
  if (in.rankKnown() && lens.rankKnown() && in[batchAxis].isKnown() && lens[0].isKnown() &&
      in[batchAxis].size != lens[0].size) {
    return ctx.invalid("sequence_lens " + lens.toString() + " does not match the batch size of " +
                       in.toString());
  }
  return inferSameAsInput0(ctx);
}

}  // namespace

void registerTensorSchemas(OpSchemaRegistry& registry) {
  using enum AttrType;
  registry.add({"Identity", 1, 1, 1, 1, {}, inferIdentity});
  registry.add({"Dropout", 1, 3, 1, 2, {{"ratio", kFloat}, {"seed", kInt}}, inferDropout});
  registry.add({"Reshape", 2, 2, 1, 1, {{"allowzero", kInt}}, inferReshape});
  registry.add({"Flatten", 1, 1, 1, 1, {{"axis", kInt}}, inferFlatten});
  registry.add({"Transpose", 1, 1, 1, 1, {{"perm", kInts}}, inferTranspose});
  registry.add({"Squeeze", 1, 2, 1, 1, {{"axes", kInts}}, inferSqueeze});
  registry.add({"Unsqueeze", 1, 2, 1, 1, {{"axes", kInts}}, inferUnsqueeze});
  registry.add({"Concat", 1, -1, 1, 1, {{"axis", kInt}}, inferConcat});
  registry.add({"Split", 1, 2, 1, -1, {{"axis", kInt}, {"split", kInts}, {"num_outputs", kInt}}, inferSplit});
  registry.add({"Slice", 1, 5, 1, 1, {{"starts", kInts}, {"ends", kInts}, {"axes", kInts}}, inferSlice});
  registry.add({"Gather", 2, 2, 1, 1, {{"axis", kInt}}, inferGather});
  registry.add({"GatherElements", 2, 2, 1, 1, {{"axis", kInt}}, inferGatherElements});
  registry.add({"GatherND", 2, 2, 1, 1, {{"batch_dims", kInt}}, inferGatherND});
  registry.add(
      {"ScatterElements", 3, 3, 1, 1, {{"axis", kInt}, {"reduction", kString}}, inferScatterElements});
  registry.add({"Scatter", 3, 3, 1, 1, {{"axis", kInt}}, inferScatterElements});
  registry.add({"ScatterND", 3, 3, 1, 1, {{"reduction", kString}}, inferScatterND});
  registry.add({"Shape", 1, 1, 1, 1, {{"start", kInt}, {"end", kInt}}, inferShapeOp});
  registry.add({"Size", 1, 1, 1, 1, {}, inferSize});
  registry.add({"Expand", 2, 2, 1, 1, {}, inferExpand});
  registry.add({"Tile", 2, 2, 1, 1, {}, inferTile});
  registry.add({"Pad", 1, 4, 1, 1, {{"mode", kString}, {"pads", kInts}, {"value", kFloat}}, inferPad});
  registry.add({"ConstantOfShape", 1, 1, 1, 1, {{"value", kTensor}}, inferConstantOfShape});
  registry.add({"Range", 3, 3, 1, 1, {}, inferRange});
  registry.add({"Compress", 2, 2, 1, 1, {{"axis", kInt}}, inferCompress});
  registry.add({"NonZero", 1, 1, 1, 1, {}, inferNonZero});
  registry.add({"Trilu", 1, 2, 1, 1, {{"upper", kInt}}, inferTrilu});
  registry.add({"OneHot", 3, 3, 1, 1, {{"axis", kInt}}, inferOneHot});
  registry.add({"EyeLike", 1, 1, 1, 1, {{"dtype", kInt}, {"k", kInt}}, inferEyeLike});
  registry.add({"SpaceToDepth", 1, 1, 1, 1, {{"blocksize", kInt}}, inferSpaceToDepth});
  registry.add({"DepthToSpace", 1, 1, 1, 1, {{"blocksize", kInt}, {"mode", kString}}, inferDepthToSpace});
  registry.add(
      {"ReverseSequence", 2, 2, 1, 1, {{"batch_axis", kInt}, {"time_axis", kInt}}, inferReverseSequence});
}

}  // namespace lowp::ir::ops
