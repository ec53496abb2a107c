// move_quantize_backward: QuantizeLinear moves backward across ops that commute with it, so the ops run on
// the integer tensor and the Q lands next to what writes the value: a QuantizedConv / QuantizedMatMul it
// fuses into (fuse_quantized_output), or a DequantizeLinear with the same parameters that it cancels.
//
//   Q(op(x)) -> op(Q(x))
//
// Targets: a per-tensor QuantizeLinear (qdq_common.h) of the output of `op`, one of
// qdq::commutesWithQuantization, where only the Q reads that output and it is not a graph output. Exact:
// the ops move or select values and quantization is elementwise and monotone. The Q moves as far as the
// chain allows in one rewrite (past each op whose output only the Q reads); the graph is re-sorted after.
// Relu is not crossed: before a Q it belongs to the layer that computes its input
// (fuse_quantized_activation), and a Relu after a DQ already moves forward (move_dequantize_forward).
#include "passes/qdq_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

// The op the Q can move before, or nullptr.
ir::Node* previousOp(const ir::Node& quantize) {
  const ir::Value* y = quantize.inputs[0];
  if (y->isGraphOutput || y->consumers.size() != 1 || y->producer == nullptr) return nullptr;
  ir::Node* op = y->producer;
  if (!qdq::commutesWithQuantization(*op) || op->outputs[0] != y) return nullptr;
  return op->inputs[0]->type == DataType::kFloat32 ? op : nullptr;
}

bool movable(const ir::Graph& /*graph*/, const ir::Node& quantize) {
  return qdq::perTensorQuant(quantize).has_value() && previousOp(quantize) != nullptr;
}

Result<bool> moveBackward(ir::Graph& graph, ir::Node& quantize) {
  while (ir::Node* op = previousOp(quantize)) {
    ir::Value* x = op->inputs[0];
    ir::Value* y = quantize.inputs[0];
    ir::Value* q = quantize.outputs[0];
    LOWP_ASSIGN_OR_RETURN(ir::Value * xq, graph.addValue(uniqueValueName(graph, x->name + "_quantized")));
    xq->type = q->type;
    xq->shape = x->shape;
    // The Q reads x and writes xq; op reads xq and writes q, which keeps its readers and its name.
    graph.setInput(&quantize, 0, x);
    quantize.outputs[0] = xq;
    xq->producer = &quantize;
    graph.setInput(op, 0, xq);
    op->outputs[0] = q;
    q->producer = op;
    y->producer = nullptr;
  }
  LOWP_RETURN_IF_ERROR(graph.sortTopologically());
  return true;
}

}  // namespace

const RewriteRule& moveQuantizeBackwardRule() {
  static const RewriteRule rule{.name = "move_quantize_backward",
                                .opTypes = {"QuantizeLinear"},
                                .condition = movable,
                                .rewrite = moveBackward};
  return rule;
}

}  // namespace lowp::passes
