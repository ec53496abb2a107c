// ONNX importer entries of the reduction ops. Older opsets carry as attributes what later became inputs:
// the Reduce* axes (an input since opset 13 for ReduceSum, 18 for the others) and TopK's k (an input since
// opset 10). The normalisers move such an attribute into a constant input, so schemas and kernels see one
// form.
#include <string>

#include "onnx/op_importer.h"

namespace lowp::onnx {

namespace {

/// Moves the ints attribute `attr` into a constant int64 input at slot `slot` with shape `shape`
/// (an empty shape means 1-D of the attribute's length). Errors when both spellings are present.
Status moveIntsAttributeToInput(ImportContext& ctx, ir::Node& node, const char* attr, size_t slot,
                                std::vector<int64_t> values, std::vector<int64_t> shape) {
  if (node.input(slot) != nullptr) {
    return ImportContext::invalid(node, std::string(attr) + " is given both as attribute and as input");
  }
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  Tensor t(DataType::kInt64, std::move(shape));
  for (size_t i = 0; i < values.size(); ++i) t.data<int64_t>()[i] = values[i];
  ir::Value* v = ctx.addConstant(std::move(t), node.name + "_" + attr);
  ctx.graph().setInput(&node, slot, v);
  node.attributes.erase(attr);
  return {};
}

// Reduce* before opset 13/18: the axes attribute becomes input 1. An absent attribute means "every axis",
// which an absent input 1 also means as long as noop_with_empty_axes (which old opsets lack) is 0.
Status normalizeReduceAxes(ImportContext& ctx, ir::Node& node) {
  if (!node.attributes.has("axes")) return {};
  return moveIntsAttributeToInput(ctx, node, "axes", 1, node.attributes.getInts("axes"), {});
}

// TopK before opset 10: the k attribute becomes input 1, a one-element 1-D int64 tensor.
Status normalizeTopK(ImportContext& ctx, ir::Node& node) {
  if (!node.attributes.has("k")) return {};
  return moveIntsAttributeToInput(ctx, node, "k", 1, {node.attributes.getInt("k", 0)}, {1});
}

}  // namespace

void registerReductionImporters(ImporterRegistry& registry) {
  for (std::string_view op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
                              "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}) {
    registry.add({.opType = op, .sinceVersion = 1, .normalize = normalizeReduceAxes});
  }
  registry.add({.opType = "ArgMax", .sinceVersion = 1});
  registry.add({.opType = "ArgMin", .sinceVersion = 1});
  registry.add({.opType = "CumSum", .sinceVersion = 11});
  registry.add({.opType = "CumProd", .sinceVersion = 26});
  registry.add({.opType = "TopK", .sinceVersion = 1, .normalize = normalizeTopK});
}

}  // namespace lowp::onnx
