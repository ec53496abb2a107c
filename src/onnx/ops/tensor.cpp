// ONNX importer entries of the tensor ops. Older opsets gave some parameters as attributes that later became
// inputs (Squeeze/Unsqueeze axes before 13, Split's split before 13, Slice's starts/ends/axes before 10,
// Pad's pads before 11); the normalising functions here turn them into constant inputs, so inference and
// kernels only know the current form. Pad's old float `value` attribute stays an attribute (its type must
// match the data's, which is not known yet while importing); the Pad kernel reads it when constant_value is
// absent.
#include <cstring>

#include "onnx/op_importer.h"

namespace lowp::onnx {
namespace {

/// Moves the ints attribute `attr` (when present) into input `slot` as an int64 constant.
Status attrToInput(ImportContext& ctx, ir::Node& node, std::string_view attr, size_t slot) {
  if (!node.attributes.has(attr)) return {};
  if (node.input(slot) != nullptr) {
    return ImportContext::invalid(node,
                                  "'" + std::string(attr) + "' is given both as attribute and as input");
  }
  const std::vector<int64_t> values = node.attributes.getInts(attr);
  Tensor t(DataType::kInt64, {static_cast<int64_t>(values.size())});
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(int64_t));
  ctx.graph().setInput(&node, slot, ctx.addConstant(std::move(t), node.name + "_" + std::string(attr)));
  node.attributes.erase(attr);
  return {};
}

Status normalizeAxesAttr(ImportContext& ctx, ir::Node& node) {
  return attrToInput(ctx, node, "axes", 1);
}

Status normalizeSplit(ImportContext& ctx, ir::Node& node) {
  return attrToInput(ctx, node, "split", 1);
}

Status normalizeSlice(ImportContext& ctx, ir::Node& node) {
  if (node.attributes.has("starts") != node.attributes.has("ends")) {
    return ImportContext::invalid(node, "starts and ends must be given together");
  }
  LOWP_RETURN_IF_ERROR(attrToInput(ctx, node, "starts", 1));
  LOWP_RETURN_IF_ERROR(attrToInput(ctx, node, "ends", 2));
  LOWP_RETURN_IF_ERROR(attrToInput(ctx, node, "axes", 3));
  if (node.input(1) == nullptr || node.input(2) == nullptr) {
    return ImportContext::invalid(node, "starts and ends are required");
  }
  return {};
}

Status normalizePad(ImportContext& ctx, ir::Node& node) {
  LOWP_RETURN_IF_ERROR(attrToInput(ctx, node, "pads", 1));
  if (node.input(1) == nullptr) return ImportContext::invalid(node, "pads are required");
  return {};
}

}  // namespace

void registerTensorImporters(ImporterRegistry& registry) {
  registry.add({"Identity", 1});
  registry.add({"Dropout", 7});  // opset 7-11's ratio attribute has no effect in inference
  registry.add({"Reshape", 5});
  registry.add({"Flatten", 1});
  registry.add({"Transpose", 1});
  registry.add({"Squeeze", 1, normalizeAxesAttr});
  registry.add({"Unsqueeze", 1, normalizeAxesAttr});
  registry.add({"Concat", 4});
  registry.add({"Split", 2, normalizeSplit});
  registry.add({"Slice", 1, normalizeSlice});
  registry.add({"Gather", 1});
  registry.add({"GatherElements", 11});
  registry.add({"GatherND", 11});
  registry.add({"Scatter", 9});
  registry.add({"ScatterElements", 11});
  registry.add({"ScatterND", 11});
  registry.add({"Shape", 1});
  registry.add({"Size", 1});
  registry.add({"Expand", 8});
  registry.add({"Tile", 6});
  registry.add({"Pad", 2, normalizePad});
  registry.add({"ConstantOfShape", 9});
  registry.add({"Range", 11});
  registry.add({"Compress", 9});
  registry.add({"NonZero", 9});
  registry.add({"Trilu", 14});
  registry.add({"OneHot", 9});
  registry.add({"EyeLike", 9});
  registry.add({"SpaceToDepth", 1});
  registry.add({"DepthToSpace", 1});
  registry.add({"ReverseSequence", 10});
}

}  // namespace lowp::onnx
