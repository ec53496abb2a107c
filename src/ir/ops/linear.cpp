// Type and shape rules of the linear ops: Conv, ConvInteger, QLinearConv, ConvTranspose, Gemm, MatMul,
// MatMulInteger, QLinearMatMul, Einsum. The sliding-window arithmetic lives in window.h and the Einsum
// equation rules in linear_einsum.h, so the reference kernels compute exactly the shapes inferred here.
#include <cstdint>
#include <string>

#include "ir/ops/common.h"
#include "ir/ops/linear_einsum.h"
#include "ir/ops/window.h"

namespace lowp::ir::ops {
namespace {

std::string typeName(DataType t) {
  return std::string(dataTypeInfo(t).name);
}

// Size of dim `i` of a shape, or -1 when the rank or the dim is unknown.
int64_t dimSize(const Shape& s, int64_t i) {
  return s.rankKnown() && i < s.rank() ? s[i].size : -1;
}

// Dim `i` of a shape (keeping its symbol), or an unknown dim.
Dim dimOf(const Shape& s, int64_t i) {
  return s.rankKnown() && i < s.rank() ? s[i] : Dim();
}

bool isInt8Like(DataType t) {
  return t == DataType::kInt8 || t == DataType::kUInt8;
}

// ---- Conv, ConvInteger, QLinearConv, ConvTranspose -------------------------------------------------------

enum class ConvKind { kConv, kConvInteger, kQLinear, kTranspose };

// Input slots of a convolution's operands; kNone where the op has no such input.
struct ConvSlots {
  static constexpr size_t kNone = SIZE_MAX;
  size_t x = 0, w = 1, bias = 2, xZeroPoint = kNone, wZeroPoint = kNone, wScale = kNone;
};

ConvSlots convSlots(ConvKind kind) {
  switch (kind) {
    case ConvKind::kConvInteger:
      return {0, 1, ConvSlots::kNone, 2, 3, ConvSlots::kNone};
    case ConvKind::kQLinear:
      return {0, 3, 8, 2, 5, 4};
    default:
      return {};
  }
}

// An int8/uint8 operand and its zero point, which has the operand's type.
Status checkQuantizedOperand(InferContext& ctx, size_t slot, size_t zeroPointSlot) {
  if (ctx.hasInput(slot) && !isInt8Like(ctx.inputType(slot))) {
    return ctx.invalid("input " + std::to_string(slot) + " has type " + typeName(ctx.inputType(slot)) + "; " +
                       ctx.node().opType + " takes int8 or uint8");
  }
  if (ctx.hasInput(zeroPointSlot) && ctx.inputType(zeroPointSlot) != ctx.inputType(slot)) {
    return ctx.invalid("zero point " + std::to_string(zeroPointSlot) + " has type " +
                       typeName(ctx.inputType(zeroPointSlot)) + " but input " + std::to_string(slot) +
                       " has " + typeName(ctx.inputType(slot)));
  }
  return {};
}

// QLinearConv / QLinearMatMul: operands at 0 and 3 (zero points 2, 5), float scales at 1, 4, 6, the
// output's zero point at 7 (it gives the output type).
Status checkQLinearTypes(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkQuantizedOperand(ctx, 0, 2));
  LOWP_RETURN_IF_ERROR(checkQuantizedOperand(ctx, 3, 5));
  if (!isInt8Like(ctx.inputType(7))) {
    return ctx.invalid("y_zero_point has type " + typeName(ctx.inputType(7)) + "; it must be int8 or uint8");
  }
  for (size_t slot : {1, 4, 6}) {
    if (!isFloat(ctx.inputType(slot))) {
      return ctx.invalid("scale " + std::to_string(slot) + " has type " + typeName(ctx.inputType(slot)) +
                         ", not a float type");
    }
  }
  return {};
}

Status checkConvTypes(InferContext& ctx, ConvKind kind) {
  if (kind == ConvKind::kConvInteger) {
    LOWP_RETURN_IF_ERROR(checkQuantizedOperand(ctx, 0, 2));
    return checkQuantizedOperand(ctx, 1, 3);
  }
  if (kind == ConvKind::kQLinear) {
    LOWP_RETURN_IF_ERROR(checkQLinearTypes(ctx));
    if (ctx.hasInput(8) && ctx.inputType(8) != DataType::kInt32) {
      return ctx.invalid("bias has type " + typeName(ctx.inputType(8)) + ", not int32");
    }
    return {};
  }
  LOWP_RETURN_IF_ERROR(requireSameInputTypes(ctx));
  if (!isFloat(ctx.inputType(0))) {
    return ctx.invalid("input type " + typeName(ctx.inputType(0)) + " is not a float type");
  }
  return {};
}

DataType convOutputType(InferContext& ctx, ConvKind kind) {
  switch (kind) {
    case ConvKind::kConvInteger:
      return DataType::kInt32;
    case ConvKind::kQLinear:
      return ctx.inputType(7);
    default:
      return ctx.inputType(0);
  }
}

// A zero point or scale that is one value, or (`perChannel`) one per output channel.
Status checkQuantParam(InferContext& ctx, size_t slot, bool perChannel, const Dim& channels) {
  if (slot == ConvSlots::kNone || !ctx.hasInput(slot)) return {};
  const Shape& s = ctx.inputShape(slot);
  if (!s.isStatic() || s.elementCount() == 1) return {};
  if (perChannel && s.rank() == 1 && (!channels.isKnown() || s[0].size == channels.size)) return {};
  if (!perChannel)
    return ctx.unsupported("input " + std::to_string(slot) + " of shape " + s.toString() +
                           " is not a scalar (per-tensor)");
  return ctx.invalid("input " + std::to_string(slot) + " of shape " + s.toString() +
                     " is neither a scalar nor one value per output channel");
}

// Output: [N, M, spatial...]. Conv/ConvInteger weights are [M, C/group, k...]; ConvTranspose weights are
// [C, M/group, k...].
Status inferConvLike(InferContext& ctx, ConvKind kind) {
  LOWP_RETURN_IF_ERROR(checkConvTypes(ctx, kind));
  const DataType outType = convOutputType(ctx, kind);
  const ConvSlots slots = convSlots(kind);
  const Shape& x = ctx.inputShape(slots.x);
  const Shape& w = ctx.inputShape(slots.w);
  const AttributeMap& attrs = ctx.attrs();
  int64_t spatial = -1;
  for (const Shape* s : {&x, &w}) {
    if (!s->rankKnown()) continue;
    if (s->rank() < 3) {
      return ctx.invalid(std::string(s == &x ? "input" : "weight") + " shape " + s->toString() +
                         " needs rank 3 or more (batch, channels, spatial...)");
    }
    if (spatial >= 0 && s->rank() - 2 != spatial) {
      return ctx.invalid("input shape " + x.toString() + " and weight shape " + w.toString() +
                         " differ in rank");
    }
    spatial = s->rank() - 2;
  }
  if (attrs.has("kernel_shape")) {
    auto ks = static_cast<int64_t>(attrs.getInts("kernel_shape").size());
    if (spatial >= 0 && ks != spatial) {
      return ctx.invalid("kernel_shape has " + std::to_string(ks) + " values for " + std::to_string(spatial) +
                         " spatial axes");
    }
    spatial = ks;
  }
  if (spatial < 0) {
    ctx.setOutput(0, outType, Shape::unknownRank());
    return {};
  }
  if (spatial == 0) return ctx.invalid("kernel_shape is empty");
  const int64_t group = attrs.getInt("group", 1);
  if (group < 1) return ctx.invalid("group " + std::to_string(group) + " is not positive");

  std::vector<int64_t> kernel(static_cast<size_t>(spatial));
  std::vector<int64_t> input(static_cast<size_t>(spatial));
  std::vector<int64_t> kernelAttr = attrs.getInts("kernel_shape");
  for (int64_t d = 0; d < spatial; ++d) {
    const auto i = static_cast<size_t>(d);
    kernel[i] = dimSize(w, d + 2);
    input[i] = dimSize(x, d + 2);
    if (!kernelAttr.empty()) {
      if (kernel[i] >= 0 && kernelAttr[i] != kernel[i]) {
        return ctx.invalid("kernel_shape does not match the weight shape " + w.toString());
      }
      kernel[i] = kernelAttr[i];
    }
  }

  const int64_t channels = dimSize(x, 1);
  const int64_t w0 = dimSize(w, 0);
  const int64_t w1 = dimSize(w, 1);
  // Channel counts are the weight's channels times the group; a product past int64 is no real model.
  int64_t w1TimesGroup = -1;
  if (w1 >= 0 && __builtin_mul_overflow(w1, group, &w1TimesGroup)) {
    return ctx.invalid("group " + std::to_string(group) + " times the weight's " + std::to_string(w1) +
                       " channels overflows");
  }
  Dim outChannels;
  if (kind == ConvKind::kTranspose) {
    if (channels >= 0 && w0 >= 0 && channels != w0) {
      return ctx.invalid("input has " + std::to_string(channels) + " channels but the weight shape " +
                         w.toString() + " expects " + std::to_string(w0));
    }
    if (channels >= 0 && channels % group != 0) {
      return ctx.invalid(std::to_string(channels) + " channels do not split into " + std::to_string(group) +
                         " groups");
    }
    if (w1 >= 0) outChannels = Dim(w1TimesGroup);
  } else {
    if (channels >= 0 && w1 >= 0 && channels != w1TimesGroup) {
      return ctx.invalid("input has " + std::to_string(channels) + " channels but the weight shape " +
                         w.toString() + " with group " + std::to_string(group) + " expects " +
                         std::to_string(w1TimesGroup));
    }
    if (w0 >= 0 && w0 % group != 0) {
      return ctx.invalid(std::to_string(w0) + " output channels do not split into " + std::to_string(group) +
                         " groups");
    }
    outChannels = dimOf(w, 0);
  }

  if (slots.bias != ConvSlots::kNone && ctx.hasInput(slots.bias)) {
    const Shape& b = ctx.inputShape(slots.bias);
    if (b.rankKnown() &&
        (b.rank() != 1 || (b[0].isKnown() && outChannels.isKnown() && b[0].size != outChannels.size))) {
      return ctx.invalid("bias shape " + b.toString() + " is not [" + std::to_string(outChannels.size) + "]");
    }
    if (!outChannels.isKnown() && b.rankKnown() && b.rank() == 1) outChannels = b[0];
  }
  LOWP_RETURN_IF_ERROR(checkQuantParam(ctx, slots.xZeroPoint, false, outChannels));
  LOWP_RETURN_IF_ERROR(checkQuantParam(ctx, slots.wZeroPoint, true, outChannels));
  LOWP_RETURN_IF_ERROR(checkQuantParam(ctx, slots.wScale, true, outChannels));

  auto window = readWindow(attrs, kernel);
  if (!window) return windowError(ctx, window.status());
  Status st = kind == ConvKind::kTranspose ? resolveTransposedWindow(*window, attrs, input)
                                           : resolveForwardWindow(*window, input, false);
  if (!st.isOk()) return windowError(ctx, st);

  std::vector<Dim> out = {dimOf(x, 0), outChannels};
  for (int64_t size : window->output) out.push_back(size >= 0 ? Dim(size) : Dim());
  ctx.setOutput(0, outType, Shape(std::move(out)));
  return {};
}

Status inferConv(InferContext& ctx) {
  return inferConvLike(ctx, ConvKind::kConv);
}
Status inferConvInteger(InferContext& ctx) {
  return inferConvLike(ctx, ConvKind::kConvInteger);
}
Status inferQLinearConv(InferContext& ctx) {
  return inferConvLike(ctx, ConvKind::kQLinear);
}
Status inferConvTranspose(InferContext& ctx) {
  return inferConvLike(ctx, ConvKind::kTranspose);
}

// ---- Gemm ------------------------------------------------------------------------------------------------

Status inferGemm(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireSameInputTypes(ctx));
  const Shape& a = ctx.inputShape(0);
  const Shape& b = ctx.inputShape(1);
  for (const Shape* s : {&a, &b}) {
    if (s->rankKnown() && s->rank() != 2) {
      return ctx.invalid(std::string(s == &a ? "A" : "B") + " shape " + s->toString() + " is not a matrix");
    }
  }
  const bool transA = ctx.attrs().getInt("transA", 0) != 0;
  const bool transB = ctx.attrs().getInt("transB", 0) != 0;
  Dim m = dimOf(a, transA ? 1 : 0);
  Dim n = dimOf(b, transB ? 0 : 1);
  int64_t ka = dimSize(a, transA ? 0 : 1);
  int64_t kb = dimSize(b, transB ? 1 : 0);
  if (ka >= 0 && kb >= 0 && ka != kb) {
    return ctx.invalid("A " + a.toString() + (transA ? " (transposed)" : "") + " and B " + b.toString() +
                       (transB ? " (transposed)" : "") + " do not multiply");
  }
  if (ctx.hasInput(2)) {
    // C broadcasts one way, to [M, N].
    const Shape& c = ctx.inputShape(2);
    if (c.rankKnown()) {
      if (c.rank() > 2) return ctx.invalid("C shape " + c.toString() + " has rank above 2");
      const Dim* target[2] = {&m, &n};
      for (int64_t i = 0; i < c.rank(); ++i) {
        const Dim& t = *target[2 - c.rank() + i];
        if (c[i].isKnown() && c[i].size != 1 && t.isKnown() && c[i].size != t.size) {
          return ctx.invalid("C shape " + c.toString() + " does not broadcast to [" + std::to_string(m.size) +
                             "x" + std::to_string(n.size) + "]");
        }
      }
    }
  }
  ctx.setOutput(0, ctx.inputType(0), Shape({m, n}));
  return {};
}

// ---- MatMul, MatMulInteger -------------------------------------------------------------------------------

// numpy.matmul: 1-D operands gain a dim of 1 (prepended to A, appended to B) that the output drops.
Status inferMatMulShape(InferContext& ctx, DataType outType, size_t bSlot = 1) {
  const Shape& a = ctx.inputShape(0);
  const Shape& b = ctx.inputShape(bSlot);
  if (!a.rankKnown() || !b.rankKnown()) {
    ctx.setOutput(0, outType, Shape::unknownRank());
    return {};
  }
  if (a.rank() == 0 || b.rank() == 0) {
    return ctx.invalid("MatMul operands " + a.toString() + " and " + b.toString() +
                       " must have rank 1 or more");
  }
  std::vector<Dim> ad = a.dims();
  std::vector<Dim> bd = b.dims();
  if (a.rank() == 1) ad.insert(ad.begin(), Dim(1));
  if (b.rank() == 1) bd.push_back(Dim(1));
  const Dim& ka = ad.back();
  const Dim& kb = bd[bd.size() - 2];
  if (ka.isKnown() && kb.isKnown() && ka.size != kb.size) {
    return ctx.invalid("shapes " + a.toString() + " and " + b.toString() + " do not multiply");
  }
  auto batch = broadcastShapes(Shape(std::vector<Dim>(ad.begin(), ad.end() - 2)),
                               Shape(std::vector<Dim>(bd.begin(), bd.end() - 2)));
  if (!batch) return ctx.invalid(batch.status().message());
  std::vector<Dim> out = batch->dims();
  if (a.rank() > 1) out.push_back(ad[ad.size() - 2]);
  if (b.rank() > 1) out.push_back(bd.back());
  ctx.setOutput(0, outType, Shape(std::move(out)));
  return {};
}

Status inferMatMul(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireSameInputTypes(ctx));
  return inferMatMulShape(ctx, ctx.inputType(0));
}

Status inferMatMulInteger(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkQuantizedOperand(ctx, 0, 2));
  LOWP_RETURN_IF_ERROR(checkQuantizedOperand(ctx, 1, 3));
  return inferMatMulShape(ctx, DataType::kInt32);
}

Status inferQLinearMatMul(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkQLinearTypes(ctx));
  return inferMatMulShape(ctx, ctx.inputType(7), 3);
}

// ---- Einsum ----------------------------------------------------------------------------------------------

Status inferEinsum(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireSameInputTypes(ctx));
  auto eq = parseEinsum(ctx.attrs().getString("equation"), ctx.inputCount());
  if (!eq) return ctx.invalid(eq.status().message());
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < ctx.inputCount(); ++i) {
    const Shape& s = ctx.inputShape(i);
    if (!s.rankKnown()) {
      // Without every rank the "..." dims are unknown; without an ellipsis only the sizes are.
      bool ellipsis = eq->output.hasEllipsis();
      ctx.setOutput(
          0, ctx.inputType(0),
          ellipsis ? Shape::unknownRank() : unknownDims(static_cast<int64_t>(eq->output.labels.size())));
      return {};
    }
    std::vector<int64_t> sizes;
    for (const Dim& d : s.dims()) sizes.push_back(d.size);
    shapes.push_back(std::move(sizes));
  }
  auto plan = planEinsum(*eq, shapes);
  if (!plan) return ctx.invalid(plan.status().message());
  std::vector<Dim> out;
  for (int64_t axis : plan->outputAxes) {
    int64_t size = plan->sizes[static_cast<size_t>(axis)];
    out.push_back(size >= 0 ? Dim(size) : Dim());
  }
  ctx.setOutput(0, ctx.inputType(0), Shape(std::move(out)));
  return {};
}

const std::vector<AttrSpec> kConvAttrs = {
    {"auto_pad", AttrType::kString},   {"dilations", AttrType::kInts}, {"group", AttrType::kInt},
    {"kernel_shape", AttrType::kInts}, {"pads", AttrType::kInts},      {"strides", AttrType::kInts},
};

}  // namespace

void registerLinearSchemas(OpSchemaRegistry& registry) {
  registry.add(
      {.opType = "Conv", .minInputs = 2, .maxInputs = 3, .attributes = kConvAttrs, .infer = inferConv});
  registry.add({.opType = "ConvInteger",
                .minInputs = 2,
                .maxInputs = 4,
                .attributes = kConvAttrs,
                .infer = inferConvInteger});
  std::vector<AttrSpec> transposeAttrs = kConvAttrs;
  transposeAttrs.push_back({"output_padding", AttrType::kInts});
  transposeAttrs.push_back({"output_shape", AttrType::kInts});
  registry.add({.opType = "ConvTranspose",
                .minInputs = 2,
                .maxInputs = 3,
                .attributes = transposeAttrs,
                .infer = inferConvTranspose});
  registry.add({.opType = "Gemm",
                .minInputs = 2,
                .maxInputs = 3,
                .attributes = {{"alpha", AttrType::kFloat},
                               {"beta", AttrType::kFloat},
                               {"transA", AttrType::kInt},
                               {"transB", AttrType::kInt}},
                .infer = inferGemm});
  registry.add({.opType = "MatMul", .minInputs = 2, .maxInputs = 2, .infer = inferMatMul});
  registry.add({.opType = "MatMulInteger", .minInputs = 2, .maxInputs = 4, .infer = inferMatMulInteger});
  registry.add({.opType = "QLinearConv",
                .minInputs = 8,
                .maxInputs = 9,
                .attributes = kConvAttrs,
                .infer = inferQLinearConv});
  registry.add({.opType = "QLinearMatMul", .minInputs = 8, .maxInputs = 8, .infer = inferQLinearMatMul});
  registry.add({.opType = "Einsum",
                .minInputs = 1,
                .maxInputs = -1,
                .attributes = {{"equation", AttrType::kString}},
                .infer = inferEinsum});
}

}  // namespace lowp::ir::ops
