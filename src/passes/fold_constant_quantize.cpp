// fold_constant_quantize: a QuantizeLinear of constants (fake-quantized weights as PyTorch exports them,
// DQ(Q(W_float))) is computed once, at build time, with its reference kernel, so the weights reach the
// quantized fusions as the integer constant behind a DequantizeLinear, as ONNX Runtime's QDQ format stores
// them. It runs before fuse_quantized_linear, and so before fold_constants, which would fold the whole
// Q -> DQ chain into float weights. A Q whose kernel fails stays, so the error surfaces where it would have.
#include "passes/evaluate_node.h"
#include "passes/qdq_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

bool quantizesConstants(const ir::Graph& /*graph*/, const ir::Node& node) {
  if (!qdq::isQuantize(node) || node.outputs.size() != 1 || node.outputs[0] == nullptr) return false;
  if (!node.outputs[0]->shape.isStatic()) return false;
  bool any = false;
  for (const ir::Value* in : node.inputs) {
    if (in == nullptr) continue;
    if (!in->constant) return false;
    any = true;
  }
  return any;
}

Result<bool> foldQuantize(ir::Graph& graph, ir::Node& node) {
  std::vector<const Tensor*> inputs;
  for (const ir::Value* in : node.inputs) inputs.push_back(in != nullptr ? &*in->constant : nullptr);
  auto outputs = evaluateNode(node, inputs);
  if (!outputs) return false;
  ir::Value* out = node.outputs[0];
  graph.removeNode(&node);
  out->shape = ir::Shape::fromSizes((*outputs)[0].shape());
  out->constant = std::move((*outputs)[0]);
  return true;
}

}  // namespace

const RewriteRule& foldConstantQuantizeRule() {
  static const RewriteRule rule{.name = "fold_constant_quantize",
                                .opTypes = {"QuantizeLinear"},
                                .condition = quantizesConstants,
                                .rewrite = foldQuantize};
  return rule;
}

}  // namespace lowp::passes
