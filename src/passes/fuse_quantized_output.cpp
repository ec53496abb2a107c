// fuse_quantized_output: QuantizeLinear(QuantizedConv / QuantizedMatMul) -> one quantized op with an int8 or
// uint8 output (output_type, y_scale, y_zero_point), so the float32 result is never written to memory.
//
// Targets: a per-tensor QuantizeLinear (constant scalar scale and zero point, int8 or uint8; see
// qdq_common.h) of the float32 output of a QuantizedConv or QuantizedMatMul (with or without a fused
// activation or residual) that nothing else reads and that is not a graph output. The quantized op rounds
// v / y_scale half to even, adds the zero point and saturates, as QuantizeLinear does on the float32 value,
// so the result is the unfused one up to the float32 rounding of v (one step where v / y_scale lies within
// that rounding of a half). The op takes over the Q's output and records its name.
#include "passes/fuse_common.h"
#include "passes/qdq_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

ir::Node* quantizedProducer(const ir::Node& quantize) {
  const ir::Value* x = quantize.input(0);
  ir::Node* producer = fusion::fusableProducer(x);
  if (producer == nullptr || !qdq::isQuantizedLinear(*producer) || producer->outputs[0] == nullptr)
    return nullptr;
  if (producer->attributes.getInt("output_type", 0) != static_cast<int64_t>(DataType::kFloat32))
    return nullptr;
  return producer;
}

bool quantizesQuantizedOp(const ir::Graph& /*graph*/, const ir::Node& quantize) {
  return qdq::perTensorQuant(quantize).has_value() && quantizedProducer(quantize) != nullptr;
}

Result<bool> fuseIntoQuantizedOp(ir::Graph& graph, ir::Node& quantize) {
  const qdq::TensorQuant quant = *qdq::perTensorQuant(quantize);
  ir::Node& producer = *quantizedProducer(quantize);
  producer.attributes.set("output_type", static_cast<int64_t>(quant.type));
  producer.attributes.set("y_scale", quant.scale);
  producer.attributes.set("y_zero_point", static_cast<int64_t>(quant.zeroPoint));
  fusion::absorbConsumer(graph, producer, quantize);
  return true;
}

}  // namespace

const RewriteRule& fuseQuantizedOutputRule() {
  static const RewriteRule rule{.name = "fuse_quantized_output",
                                .opTypes = {"QuantizeLinear"},
                                .condition = quantizesQuantizedOp,
                                .rewrite = fuseIntoQuantizedOp};
  return rule;
}

}  // namespace lowp::passes
