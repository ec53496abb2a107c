// remove_dequantize_quantize: Q(DQ(q)) with the same scale, zero point and type is q, exactly: the DQ gives
// (q - zp) * scale rounded to float32 (a relative error below 2^-24 on at most 255 steps), and the Q divides
// by the same scale and rounds back to q - zp. Such pairs remain where the model re-quantizes after an op the
// DQ moved past (MaxPool, Flatten, Reshape, ... as ONNX Runtime's QDQ format writes them).
//
// Targets: a per-tensor QuantizeLinear (qdq_common.h) of the output of a per-tensor DequantizeLinear with
// identical parameters, the Q's output not a graph output (it would lose its name). The Q's readers read q;
// the Q goes, and the DQ stays for its other readers (or is removed by remove_unread_qdq).
#include "passes/qdq_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

bool undoesDequantize(const ir::Graph& /*graph*/, const ir::Node& quantize) {
  if (quantize.outputs.empty() || quantize.outputs[0] == nullptr || quantize.outputs[0]->isGraphOutput)
    return false;
  auto quant = qdq::perTensorQuant(quantize);
  const ir::Node* dq = qdq::dequantizeOf(quantize.input(0));
  if (!quant || dq == nullptr) return false;
  auto dequant = qdq::perTensorQuant(*dq);
  return dequant && *dequant == *quant;
}

Result<bool> removePair(ir::Graph& graph, ir::Node& quantize) {
  ir::Value* q = quantize.inputs[0]->producer->inputs[0];
  replaceAllUses(graph, quantize.outputs[0], q);
  graph.removeNode(&quantize);
  return true;
}

}  // namespace

const RewriteRule& removeDequantizeQuantizeRule() {
  static const RewriteRule rule{.name = "remove_dequantize_quantize",
                                .opTypes = {"QuantizeLinear"},
                                .condition = undoesDequantize,
                                .rewrite = removePair};
  return rule;
}

}  // namespace lowp::passes
