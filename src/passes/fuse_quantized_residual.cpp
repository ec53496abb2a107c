// fuse_quantized_residual: the residual Add of a quantized ResNet-style block becomes the QuantizedConv's
// residual input Z, added in the convolution's epilogue before its activation and output quantization.
//
//   Add(DQ(Q(QuantizedConv(...))), DQ(Zq))  -> QuantizedConv(..., Z = Zq, z_scale, z_zero_point)
//   Add(QuantizedConv(...), DQ(Zq))         -> the same
//   Add(QuantizedConv(...), Zf)             -> QuantizedConv(..., Z = Zf)          Zf float32
// (either order of the Add's inputs). The QuantizedConv has a float32 output, no activation and no residual
// yet, and only this path reads its output; the Q / DQ between it and the Add (per tensor, the same
// parameters) read nothing else. Z has the Add's shape (no broadcasting); DQ(Zq) is per tensor, int8 or
// uint8. When both inputs come from such convolutions, the first input's absorbs the Add: as in TensorRT,
// the precision of the first input sets the output's.
//
// Fusing drops the Q / DQ pair on the convolution's output: the sum uses the convolution's exact value
// instead of its value rounded to that Q's grid and saturated to its range (TensorRT fuses the same way).
// Where the convolution stays inside that range, as calibrated scales make it, a fused result differs from
// the unfused graph by at most half a step of that Q's scale before the output is rounded again.
// The convolution takes over the Add's output and records the names of the Add and of the Q / DQ it
// absorbed; the Q / DQ left unread are removed by remove_unread_qdq.
#include <optional>

#include "passes/fuse_common.h"
#include "passes/qdq_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

// How the Add's side reaches the convolution.
struct ConvPath {
  ir::Node* conv = nullptr;
  ir::Node* quantize = nullptr;    ///< The Q on the conv's output, or nullptr when it feeds the Add directly.
  ir::Node* dequantize = nullptr;  ///< The DQ after that Q.
};

// Only-reader test for the values between the convolution and the Add.
bool readOnlyOnce(const ir::Value* v) {
  return v != nullptr && v->consumers.size() == 1 && !v->isGraphOutput;
}

bool isOpenQuantizedConv(const ir::Node* node) {
  return node != nullptr && node->opType == "QuantizedConv" && qdq::hasOpenFloatOutput(*node) &&
         node->input(3) == nullptr;
}

std::optional<ConvPath> convPathOf(const ir::Value* x) {
  if (!readOnlyOnce(x) || x->producer == nullptr) return std::nullopt;
  if (isOpenQuantizedConv(x->producer)) return ConvPath{x->producer, nullptr, nullptr};
  ir::Node* dq = qdq::dequantizeOf(x);
  if (dq == nullptr) return std::nullopt;
  const ir::Value* q = dq->inputs[0];
  if (!readOnlyOnce(q) || q->producer == nullptr || !qdq::isQuantize(*q->producer)) return std::nullopt;
  ir::Node* quantize = q->producer;
  auto dqParams = qdq::perTensorQuant(*dq);
  auto qParams = qdq::perTensorQuant(*quantize);
  if (!dqParams || !qParams || !(*dqParams == *qParams)) return std::nullopt;
  const ir::Value* c = quantize->inputs[0];
  if (!readOnlyOnce(c) || !isOpenQuantizedConv(c->producer)) return std::nullopt;
  return ConvPath{c->producer, quantize, dq};
}

struct ResidualPlan {
  ConvPath path;
  ir::Value* z = nullptr;          ///< What the convolution reads as Z.
  ir::Node* residualDq = nullptr;  ///< The DQ of an integer residual.
  qdq::TensorQuant residualQuant;
};

std::optional<ResidualPlan> planOf(const ir::Node& add) {
  if (add.inputs.size() != 2 || add.outputs.size() != 1 || add.outputs[0] == nullptr) return std::nullopt;
  const ir::Value* y = add.outputs[0];
  if (y->type != DataType::kFloat32) return std::nullopt;
  for (size_t side = 0; side < 2; ++side) {
    const ir::Value* x = add.inputs[side];
    ir::Value* other = add.inputs[1 - side];
    if (x == nullptr || other == nullptr || x == other || other->type != DataType::kFloat32) continue;
    auto path = convPathOf(x);
    if (!path || !fusion::sameShape(path->conv->outputs[0]->shape, y->shape)) continue;
    ResidualPlan plan;
    plan.path = *path;
    plan.z = other;
    if (ir::Node* dq = qdq::dequantizeOf(other)) {
      if (auto quant = qdq::perTensorQuant(*dq)) {
        plan.residualDq = dq;
        plan.residualQuant = *quant;
        plan.z = dq->inputs[0];
      }
    }
    if (!fusion::sameShape(plan.z->shape, y->shape)) continue;
    return plan;
  }
  return std::nullopt;
}

bool addsToQuantizedConv(const ir::Graph& /*graph*/, const ir::Node& add) {
  return planOf(add).has_value();
}

Result<bool> fuseResidual(ir::Graph& graph, ir::Node& add) {
  const ResidualPlan plan = *planOf(add);
  ir::Node& conv = *plan.path.conv;
  ir::Value* convOut = conv.outputs[0];
  ir::Value* y = add.outputs[0];
  if (plan.path.quantize != nullptr) qdq::recordAbsorbed(conv, *plan.path.quantize);
  if (plan.path.dequantize != nullptr) qdq::recordAbsorbed(conv, *plan.path.dequantize);
  qdq::recordAbsorbed(conv, add);
  if (plan.residualDq != nullptr && readOnlyOnce(plan.residualDq->outputs[0]))
    qdq::recordAbsorbed(conv, *plan.residualDq);
  if (plan.residualDq != nullptr) {
    conv.attributes.set("z_scale", plan.residualQuant.scale);
    conv.attributes.set("z_zero_point", static_cast<int64_t>(plan.residualQuant.zeroPoint));
  }
  // The Add goes; the convolution writes its output. Without a Q / DQ between them the Add read the
  // convolution's output directly; with one, that pair now reads a value nothing writes and is unread.
  graph.removeNode(&add);
  conv.outputs[0] = y;
  y->producer = &conv;
  convOut->producer = nullptr;
  graph.setInput(&conv, 3, plan.z);
  // Z may come from a node after the convolution in the graph's order (the other branch of the block).
  LOWP_RETURN_IF_ERROR(graph.sortTopologically());
  return true;
}

}  // namespace

const RewriteRule& fuseQuantizedResidualRule() {
  static const RewriteRule rule{.name = "fuse_quantized_residual",
                                .opTypes = {"Add"},
                                .condition = addsToQuantizedConv,
                                .rewrite = fuseResidual};
  return rule;
}

}  // namespace lowp::passes
