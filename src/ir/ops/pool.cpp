// Type and shape rules of the pooling ops: MaxPool, AveragePool, LpPool, their Global forms, and MaxUnpool.
// The window arithmetic (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode) is shared with the
// convolutions in window.h.
#include <string>

#include "ir/ops/common.h"
#include "ir/ops/window.h"

namespace lowp::ir::ops {
namespace {

std::string typeName(DataType t) {
  return std::string(dataTypeInfo(t).name);
}

enum class PoolKind { kMax, kAverage, kLp };

Status checkPoolType(InferContext& ctx, PoolKind kind) {
  const DataType t = ctx.inputType(0);
  const bool int8Like = t == DataType::kInt8 || t == DataType::kUInt8;
  if (isFloat(t) || (kind == PoolKind::kMax && int8Like)) return {};
  return ctx.invalid("input type " + typeName(t) + " is not supported by " + ctx.node().opType);
}

Status checkP(InferContext& ctx) {
  const int64_t p = ctx.attrs().getInt("p", 2);
  if (p < 1) return ctx.invalid("p " + std::to_string(p) + " is not a positive integer");
  return {};
}

Status inferWindowPool(InferContext& ctx, PoolKind kind) {
  LOWP_RETURN_IF_ERROR(checkPoolType(ctx, kind));
  const AttributeMap& attrs = ctx.attrs();
  if (!attrs.has("kernel_shape")) return ctx.invalid("kernel_shape is required");
  const std::vector<int64_t> kernel = attrs.getInts("kernel_shape");
  if (kernel.empty()) return ctx.invalid("kernel_shape is empty");
  for (int64_t k : kernel) {
    if (k < 1) return ctx.invalid("kernel_shape value " + std::to_string(k) + " is not positive");
  }
  if (kind == PoolKind::kLp) LOWP_RETURN_IF_ERROR(checkP(ctx));
  const int64_t storageOrder = attrs.getInt("storage_order", 0);
  if (storageOrder != 0 && storageOrder != 1) {
    return ctx.invalid("storage_order " + std::to_string(storageOrder) + " is neither 0 nor 1");
  }
  const int64_t ceilMode = attrs.getInt("ceil_mode", 0);
  if (ceilMode != 0 && ceilMode != 1)
    return ctx.invalid("ceil_mode " + std::to_string(ceilMode) + " is not 0 or 1");
  const auto rank = static_cast<int64_t>(kernel.size()) + 2;
  const Shape& x = ctx.inputShape(0);
  if (x.rankKnown() && x.rank() != rank) {
    return ctx.invalid("input shape " + x.toString() + " does not have rank " + std::to_string(rank) +
                       " (batch, channels and the " + std::to_string(kernel.size()) +
                       " axes of kernel_shape)");
  }
  std::vector<int64_t> input(kernel.size(), -1);
  for (size_t d = 0; x.rankKnown() && d < kernel.size(); ++d) input[d] = x[static_cast<int64_t>(d) + 2].size;
  auto window = readWindow(attrs, kernel);
  if (!window) return windowError(ctx, window.status());
  Status st = resolveForwardWindow(*window, input, ceilMode != 0);
  if (!st.isOk()) return windowError(ctx, st);
  std::vector<Dim> out = {x.rankKnown() ? x[0] : Dim(), x.rankKnown() ? x[1] : Dim()};
  for (int64_t size : window->output) out.push_back(size >= 0 ? Dim(size) : Dim());
  Shape shape(std::move(out));
  ctx.setOutput(0, ctx.inputType(0), shape);
  if (ctx.outputCount() > 1) ctx.setOutput(1, DataType::kInt64, shape);
  return {};
}

Status inferMaxPool(InferContext& ctx) {
  return inferWindowPool(ctx, PoolKind::kMax);
}
Status inferAveragePool(InferContext& ctx) {
  return inferWindowPool(ctx, PoolKind::kAverage);
}
Status inferLpPool(InferContext& ctx) {
  return inferWindowPool(ctx, PoolKind::kLp);
}

// Global pools: [N, C, spatial...] -> [N, C, 1, ...].
Status inferGlobalPool(InferContext& ctx, PoolKind kind) {
  LOWP_RETURN_IF_ERROR(checkPoolType(ctx, kind));
  if (kind == PoolKind::kLp) LOWP_RETURN_IF_ERROR(checkP(ctx));
  const Shape& x = ctx.inputShape(0);
  if (!x.rankKnown()) {
    ctx.setOutput(0, ctx.inputType(0), Shape::unknownRank());
    return {};
  }
  if (x.rank() < 2) return ctx.invalid("input shape " + x.toString() + " has no channel axis");
  std::vector<Dim> out = {x[0], x[1]};
  for (int64_t d = 2; d < x.rank(); ++d) out.emplace_back(1);
  ctx.setOutput(0, ctx.inputType(0), Shape(std::move(out)));
  return {};
}

Status inferGlobalMaxPool(InferContext& ctx) {
  return inferGlobalPool(ctx, PoolKind::kMax);
}
Status inferGlobalAveragePool(InferContext& ctx) {
  return inferGlobalPool(ctx, PoolKind::kAverage);
}
Status inferGlobalLpPool(InferContext& ctx) {
  return inferGlobalPool(ctx, PoolKind::kLp);
}

// MaxUnpool: output_shape (input 2) when given, else the inverse of the pooling window:
// (in - 1) * stride + kernel - pads.
Status inferMaxUnpool(InferContext& ctx) {
  const AttributeMap& attrs = ctx.attrs();
  if (!attrs.has("kernel_shape")) return ctx.invalid("kernel_shape is required");
  const std::vector<int64_t> kernel = attrs.getInts("kernel_shape");
  if (kernel.empty()) return ctx.invalid("kernel_shape is empty");
  if (ctx.inputType(1) != DataType::kInt64) {
    return ctx.invalid("indices have type " + typeName(ctx.inputType(1)) + ", not int64");
  }
  const auto rank = static_cast<int64_t>(kernel.size()) + 2;
  const Shape& x = ctx.inputShape(0);
  if (x.rankKnown() && x.rank() != rank) {
    return ctx.invalid("input shape " + x.toString() + " does not have rank " + std::to_string(rank));
  }
  const Shape& indices = ctx.inputShape(1);
  if (x.isStatic() && indices.isStatic() && !(x == indices)) {
    return ctx.invalid("indices shape " + indices.toString() + " differs from input shape " + x.toString());
  }
  auto window = readWindow(attrs, kernel);
  if (!window) return windowError(ctx, window.status());
  if (ctx.hasInput(2)) {
    auto shape = ctx.inputInts(2);
    if (!shape) {
      ctx.setOutput(0, ctx.inputType(0), unknownDims(rank));
      return {};
    }
    if (static_cast<int64_t>(shape->size()) != rank) {
      return ctx.invalid("output_shape has " + std::to_string(shape->size()) + " values for rank " +
                         std::to_string(rank));
    }
    for (int64_t v : *shape) {
      if (v < 0) return ctx.invalid("output_shape value " + std::to_string(v) + " is negative");
    }
    ctx.setOutput(0, ctx.inputType(0), shapeOf(*shape));
    return {};
  }
  std::vector<Dim> out = {x.rankKnown() ? x[0] : Dim(), x.rankKnown() ? x[1] : Dim()};
  for (size_t d = 0; d < kernel.size(); ++d) {
    const int64_t in = x.rankKnown() ? x[static_cast<int64_t>(d) + 2].size : -1;
    if (in < 0) {
      out.emplace_back();
      continue;
    }
    const int64_t size =
        (in - 1) * window->strides[d] + kernel[d] - window->padsBegin[d] - window->padsEnd[d];
    if (size < 0)
      return ctx.invalid("the pads leave a negative output size on spatial axis " + std::to_string(d));
    out.emplace_back(size);
  }
  ctx.setOutput(0, ctx.inputType(0), Shape(std::move(out)));
  return {};
}

const std::vector<AttrSpec> kWindowAttrs = {
    {"auto_pad", AttrType::kString},   {"ceil_mode", AttrType::kInt}, {"dilations", AttrType::kInts},
    {"kernel_shape", AttrType::kInts}, {"pads", AttrType::kInts},     {"strides", AttrType::kInts},
};

std::vector<AttrSpec> windowAttrsWith(AttrSpec extra) {
  std::vector<AttrSpec> attrs = kWindowAttrs;
  attrs.push_back(extra);
  return attrs;
}

}  // namespace

void registerPoolSchemas(OpSchemaRegistry& registry) {
  registry.add({.opType = "MaxPool",
                .minInputs = 1,
                .maxInputs = 1,
                .minOutputs = 1,
                .maxOutputs = 2,
                .attributes = windowAttrsWith({"storage_order", AttrType::kInt}),
                .infer = inferMaxPool});
  registry.add({.opType = "AveragePool",
                .minInputs = 1,
                .maxInputs = 1,
                .attributes = windowAttrsWith({"count_include_pad", AttrType::kInt}),
                .infer = inferAveragePool});
  registry.add({.opType = "LpPool",
                .minInputs = 1,
                .maxInputs = 1,
                .attributes = windowAttrsWith({"p", AttrType::kInt}),
                .infer = inferLpPool});
  registry.add({.opType = "GlobalMaxPool", .minInputs = 1, .maxInputs = 1, .infer = inferGlobalMaxPool});
  registry.add(
      {.opType = "GlobalAveragePool", .minInputs = 1, .maxInputs = 1, .infer = inferGlobalAveragePool});
  registry.add({.opType = "GlobalLpPool",
                .minInputs = 1,
                .maxInputs = 1,
                .attributes = {{"p", AttrType::kInt}},
                .infer = inferGlobalLpPool});
  registry.add({.opType = "MaxUnpool",
                .minInputs = 2,
                .maxInputs = 3,
                .attributes = {{"kernel_shape", AttrType::kInts},
                               {"pads", AttrType::kInts},
                               {"strides", AttrType::kInts}},
                .infer = inferMaxUnpool});
}

}  // namespace lowp::ir::ops
