// move_dequantize_forward: DequantizeLinear moves forward across ops that commute with it, so the ops run on
// the integer tensor and the DQ lands next to what reads it: a Conv / Gemm it can fuse into, or a
// QuantizeLinear with the same parameters that it cancels (remove_dequantize_quantize).
//
//   op(DQ(q)) -> DQ(op(q))
//
// Targets: a per-tensor DequantizeLinear (qdq_common.h) of a non-constant tensor (dequantized weights stay
// where fuse_quantized_linear and fold_constants look for them) whose output only `op` reads, and is not a
// graph output, where `op` is one of qdq::commutesWithQuantization, or Relu of an int8 tensor with zero
// point 0 (max(q, 0) * scale = max(q * scale, 0)). Exact: the ops move or select values, or (Relu) commute
// with the scale. The DQ moves as far as the chain allows in one rewrite; the graph is re-sorted after.
#include "passes/qdq_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

// The op the DQ can move past, or nullptr.
ir::Node* nextOp(const ir::Node& dq, const qdq::TensorQuant& quant) {
  const ir::Value* d = dq.outputs[0];
  if (d->isGraphOutput || d->consumers.size() != 1) return nullptr;
  ir::Node* op = d->consumers[0];
  if (op->input(0) != d) return nullptr;
  if (qdq::commutesWithQuantization(*op)) return op;
  const bool exactRelu = op->domain.empty() && op->opType == "Relu" && op->inputs.size() == 1 &&
                         op->outputs.size() == 1 && op->outputs[0] != nullptr &&
                         quant.type == DataType::kInt8 && quant.zeroPoint == 0;
  return exactRelu ? op : nullptr;
}

bool movable(const ir::Graph& /*graph*/, const ir::Node& dq) {
  auto quant = qdq::perTensorQuant(dq);
  return quant && !dq.inputs[0]->constant && nextOp(dq, *quant) != nullptr;
}

Result<bool> moveForward(ir::Graph& graph, ir::Node& dq) {
  const qdq::TensorQuant quant = *qdq::perTensorQuant(dq);
  while (ir::Node* op = nextOp(dq, quant)) {
    ir::Value* q = dq.inputs[0];
    ir::Value* d = dq.outputs[0];
    ir::Value* y = op->outputs[0];
    LOWP_ASSIGN_OR_RETURN(ir::Value * yq, graph.addValue(uniqueValueName(graph, y->name + "_quantized")));
    yq->type = quant.type;
    yq->shape = y->shape;
    // op reads q and writes yq; the DQ reads yq and writes y, which keeps its readers and its name.
    graph.setInput(op, 0, q);
    op->outputs[0] = yq;
    yq->producer = op;
    graph.setInput(&dq, 0, yq);
    dq.outputs[0] = y;
    y->producer = &dq;
    d->producer = nullptr;
  }
  LOWP_RETURN_IF_ERROR(graph.sortTopologically());
  return true;
}

}  // namespace

const RewriteRule& moveDequantizeForwardRule() {
  static const RewriteRule rule{.name = "move_dequantize_forward",
                                .opTypes = {"DequantizeLinear"},
                                .condition = movable,
                                .rewrite = moveForward};
  return rule;
}

}  // namespace lowp::passes
