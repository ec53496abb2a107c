#include "ir/ops/common.h"

#include "ir/ops/tensor_shapes.h"

namespace lowp::ir::ops {

Status inferSameAsInput0(InferContext& ctx) {
  ctx.setOutput(0, ctx.inputType(0), ctx.inputShape(0));
  return {};
}

Status requireSameInputTypes(InferContext& ctx, size_t first, size_t last) {
  DataType t = ctx.inputType(first);
  for (size_t i = first + 1; i < ctx.inputCount() && i <= last; ++i) {
    if (ctx.hasInput(i) && ctx.inputType(i) != t) {
      return ctx.invalid("input " + std::to_string(i) + " has type " +
                         std::string(dataTypeInfo(ctx.inputType(i)).name) + " but input " +
                         std::to_string(first) + " has " + std::string(dataTypeInfo(t).name));
    }
  }
  return {};
}

Status inferBroadcast(InferContext& ctx, DataType outType) {
  LOWP_RETURN_IF_ERROR(requireSameInputTypes(ctx));
  Shape shape = ctx.inputShape(0);
  for (size_t i = 1; i < ctx.inputCount(); ++i) {
    if (!ctx.hasInput(i)) continue;
    auto b = broadcastShapes(shape, ctx.inputShape(i));
    if (!b) return ctx.invalid(b.status().message());
    shape = std::move(b).value();
  }
  ctx.setOutput(0, outType == DataType::kUndefined ? ctx.inputType(0) : outType, std::move(shape));
  return {};
}

Shape shapeOf(const std::vector<int64_t>& sizes) {
  return Shape::fromSizes(sizes);
}

Shape unknownDims(int64_t rank) {
  return Shape(std::vector<Dim>(static_cast<size_t>(rank)));
}

bool dimsAgree(const Dim& a, const Dim& b) {
  return !a.isKnown() || !b.isKnown() || a.size == b.size;
}

Dim knownDim(const Dim& a, const Dim& b) {
  return a.isKnown() ? a : b;
}

bool dropoutDropsNothing(const Node& node) {
  auto constantIs = [&](size_t slot, double value) {
    const Value* v = node.input(slot);
    if (v == nullptr || !v->constant || v->constant->elementCount() != 1) return false;
    const std::optional<double> held = elementValue(*v->constant, 0);
    return held && *held == value;
  };
  return node.input(2) == nullptr || constantIs(2, 0.0) || constantIs(1, 0.0);
}

}  // namespace lowp::ir::ops
