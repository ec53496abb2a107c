// ONNX importer entries of the resize ops. Resize-10 (inputs X, scales) is rewritten to the opset-11 input
// layout (X, roi, scales, sizes); Upsample-7/8's `scales` attribute becomes a constant input, as in
// Upsample-9. The schema's inference reads node.opsetVersion for the semantics that changed (Resize-10 and
// Upsample use asymmetric coordinates and legacy nearest rounding).
#include "onnx/op_importer.h"

namespace lowp::onnx {
namespace {

Status normalizeResize(ImportContext& ctx, ir::Node& node) {
  if (node.opsetVersion >= 11) return {};
  if (node.inputs.size() != 2) {
    return ImportContext::invalid(
        node, "Resize-10 takes 2 inputs (X, scales), got " + std::to_string(node.inputs.size()));
  }
  ir::Value* scales = node.inputs[1];
  ctx.graph().setInput(&node, 1, nullptr);
  ctx.graph().setInput(&node, 2, scales);
  return {};
}

Status normalizeUpsample(ImportContext& ctx, ir::Node& node) {
  if (!node.attributes.has("scales")) {
    if (node.opsetVersion < 9) return ImportContext::invalid(node, "missing the required attribute 'scales'");
    return {};
  }
  if (node.input(1) != nullptr) {
    return ImportContext::invalid(node, "scales given both as an attribute and as an input");
  }
  const std::vector<float> scales = node.attributes.getFloats("scales");
  Tensor value(DataType::kFloat32, {static_cast<int64_t>(scales.size())});
  for (size_t i = 0; i < scales.size(); ++i) value.data<float>()[i] = scales[i];
  ir::Value* constant = ctx.addConstant(std::move(value), node.name + "_scales");
  ctx.graph().setInput(&node, 1, constant);
  node.attributes.erase("scales");
  return {};
}

}  // namespace

void registerResizeImporters(ImporterRegistry& registry) {
  registry.add({.opType = "Resize", .sinceVersion = 10, .normalize = normalizeResize});
  registry.add({.opType = "Upsample", .sinceVersion = 7, .normalize = normalizeUpsample});
}

}  // namespace lowp::onnx
