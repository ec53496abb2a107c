// fuse_quantized_linear: Conv / MatMul / Gemm of dequantized operands becomes one lowp QuantizedConv /
// QuantizedMatMul (ir/ops/quantized.h) that reads the integer tensors, accumulates in int32 and rescales
// once, instead of dequantizing the activations and the weights and computing in float32.
//
//   Conv(DQ(X), DQ(W), B?)   -> QuantizedConv(X, W, B'?)      Conv's attributes, any group
//   MatMul(DQ(A), DQ(B))     -> QuantizedMatMul(A, B)         B 2-D
//   Gemm(DQ(A), DQ(B), C?)   -> QuantizedMatMul(A, B', C'?)   transA 0; B' = B transposed when transB;
//                                                             b_scales = B's scales * alpha (alpha > 0)
// Conditions: X / A is int8 or uint8 dequantized per tensor (constant scale and zero point); W / B is a
// constant int8 dequantized per tensor or per output channel (Conv: axis 0; MatMul and Gemm: the axis of N)
// with zero points 0; everything float is float32. The bias is a constant int32 dequantized with zero point
// 0, or a float32 constant, of one value per output channel (Gemm: C broadcasting along rows only, scaled
// by beta). The output stays float32 (output_type float32); the activation, residual and output
// quantization rules fuse what follows.
//
// The bias: B' = round_half_even(real bias / (x_scale * w_scale[m])), the int32 the op adds to the
// accumulator. An int32 bias whose scale already is x_scale * w_scale[m] (as quantizers write it) is used
// as it is; other biases move to that grid, which changes them by at most half a step of x_scale * w_scale,
// far below the rounding of the activations. A bias beyond int32 leaves the node as it is.
//
// The DequantizeLinear nodes stay (they may have other readers); those left unread are removed by
// remove_unread_qdq. The fused node records the names of the DequantizeLinear nodes only it read.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ir/ops/fused.h"
#include "passes/qdq_common.h"
#include "passes/rules.h"

namespace lowp::passes {
namespace {

enum class LinearKind { kConv, kMatMul, kGemm };

// What the rewrite needs, worked out from the node as the graph stands.
struct LinearPlan {
  LinearKind kind = LinearKind::kConv;
  ir::Node* inputDq = nullptr;
  qdq::TensorQuant input;
  ir::Node* weightDq = nullptr;
  qdq::ConstantQuant weights;
  int64_t channels = 0;             ///< Output channels (Conv: M) or columns (MatMul, Gemm: N).
  bool transposeWeights = false;    ///< Gemm with transB: the constant is [N, K].
  float alpha = 1.0f;               ///< Gemm's alpha, folded into the weight scales.
  double biasMultiplier = 1.0;      ///< Gemm's beta.
  const ir::Value* bias = nullptr;  ///< The constant bias (int32 under biasDq, or float32), or nullptr.
  ir::Node* biasDq = nullptr;
  qdq::ConstantQuant biasQuant;
};

std::optional<LinearKind> kindOf(const ir::Node& node) {
  if (!node.domain.empty()) return std::nullopt;
  if (node.opType == "Conv") return LinearKind::kConv;
  if (node.opType == "MatMul") return LinearKind::kMatMul;
  if (node.opType == "Gemm") return LinearKind::kGemm;
  return std::nullopt;
}

// The bias of one value per output channel, with the shapes each op accepts: Conv [M]; Gemm's C scalar, [N]
// or [1, N] (broadcast along rows only).
bool biasShapeFits(LinearKind kind, const Tensor& bias, int64_t channels) {
  const std::vector<int64_t>& shape = bias.shape();
  if (kind == LinearKind::kConv) return shape.size() == 1 && shape[0] == channels;
  if (bias.elementCount() == 1 && shape.size() <= 2) return true;
  return bias.elementCount() == channels && (shape.size() == 1 || (shape.size() == 2 && shape[0] == 1));
}

bool planBias(const ir::Node& node, LinearPlan& plan) {
  const ir::Value* bias = node.input(2);
  if (bias == nullptr || plan.kind == LinearKind::kMatMul) return true;
  if (ir::Node* dq = qdq::dequantizeOf(bias)) {
    auto quant = qdq::constantQuant(*dq, DataType::kInt32, -1);
    if (!quant || !biasShapeFits(plan.kind, *quant->values->constant, plan.channels)) return false;
    if (quant->scales.size() != 1 && quant->values->constant->elementCount() != plan.channels) return false;
    plan.biasDq = dq;
    plan.biasQuant = std::move(*quant);
    plan.bias = plan.biasQuant.values;
    return true;
  }
  if (!bias->constant || bias->type != DataType::kFloat32) return false;
  if (!biasShapeFits(plan.kind, *bias->constant, plan.channels)) return false;
  plan.bias = bias;
  return true;
}

std::optional<LinearPlan> planOf(const ir::Node& node) {
  auto kind = kindOf(node);
  if (!kind || node.outputs.size() != 1 || node.outputs[0] == nullptr) return std::nullopt;
  if (node.outputs[0]->type != DataType::kFloat32) return std::nullopt;
  LinearPlan plan;
  plan.kind = *kind;
  plan.inputDq = qdq::dequantizeOf(node.input(0));
  if (plan.inputDq == nullptr) return std::nullopt;
  auto input = qdq::perTensorQuant(*plan.inputDq);
  if (!input) return std::nullopt;
  plan.input = *input;
  plan.weightDq = qdq::dequantizeOf(node.input(1));
  if (plan.weightDq == nullptr) return std::nullopt;

  int64_t channelAxis = 0;
  if (plan.kind == LinearKind::kGemm) {
    if (node.attributes.getInt("transA", 0) != 0) return std::nullopt;
    plan.transposeWeights = node.attributes.getInt("transB", 0) != 0;
    plan.alpha = node.attributes.getFloat("alpha", 1.0f);
    plan.biasMultiplier = node.attributes.getFloat("beta", 1.0f);
    if (!(plan.alpha > 0.0f) || !std::isfinite(plan.alpha) || !std::isfinite(plan.biasMultiplier))
      return std::nullopt;
    if (!plan.inputDq->outputs[0]->shape.rankKnown() || plan.inputDq->outputs[0]->shape.rank() != 2)
      return std::nullopt;
    channelAxis = plan.transposeWeights ? 0 : 1;
  } else if (plan.kind == LinearKind::kMatMul) {
    channelAxis = 1;
  }
  auto weights = qdq::constantQuant(*plan.weightDq, DataType::kInt8, channelAxis);
  if (!weights) return std::nullopt;
  plan.weights = std::move(*weights);
  const Tensor& w = *plan.weights.values->constant;
  if (plan.kind == LinearKind::kConv ? w.rank() < 3 : w.rank() != 2) return std::nullopt;
  plan.channels = w.shape()[static_cast<size_t>(channelAxis)];
  for (float s : plan.weights.scales) {
    const float scaled = s * plan.alpha;
    if (!(scaled > 0.0f) || !std::isfinite(scaled)) return std::nullopt;
  }
  if (!planBias(node, plan)) return std::nullopt;
  return plan;
}

bool readsDequantizedOperands(const ir::Graph& /*graph*/, const ir::Node& node) {
  return planOf(node).has_value();
}

// The int32 bias on the accumulator's grid x_scale * w_scales[m], or nullopt when a value exceeds int32.
std::optional<std::vector<int32_t>> quantizedBias(const LinearPlan& plan, const std::vector<float>& wScales) {
  const Tensor& b = *plan.bias->constant;
  const bool broadcast = b.elementCount() == 1;
  const bool unscaled = plan.biasMultiplier == 1.0;
  std::vector<int32_t> out(static_cast<size_t>(plan.channels));
  for (int64_t m = 0; m < plan.channels; ++m) {
    const int64_t at = broadcast ? 0 : m;
    const double step = static_cast<double>(plan.input.scale) *
                        static_cast<double>(wScales[wScales.size() == 1 ? 0 : static_cast<size_t>(m)]);
    double real = elementAsDouble(b, at);
    if (plan.biasDq != nullptr) {
      const float biasScale = plan.biasQuant.scale(broadcast ? 0 : m);
      // Already on the grid (the quantizer computed its scale as x_scale * w_scale in float32): keep it.
      if (unscaled && std::abs(static_cast<double>(biasScale) / step - 1.0) <= 1e-6) {
        out[static_cast<size_t>(m)] = static_cast<int32_t>(real);
        continue;
      }
      // DequantizeLinear rounds (B - 0) * scale once to float32.
      real = static_cast<float>(real * static_cast<double>(biasScale));
    }
    const double q = std::nearbyint(real * plan.biasMultiplier / step);
    if (!(std::abs(q) <= static_cast<double>(std::numeric_limits<int32_t>::max()))) return std::nullopt;
    out[static_cast<size_t>(m)] = static_cast<int32_t>(q);
  }
  return out;
}

// The [N, K] int8 constant as [K, N].
Tensor transposed(const Tensor& w) {
  const int64_t rows = w.shape()[0];
  const int64_t cols = w.shape()[1];
  Tensor out(DataType::kInt8, {cols, rows});
  const int8_t* src = w.data<int8_t>();
  int8_t* dst = out.data<int8_t>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  }
  return out;
}

Result<ir::Value*> addConstant(ir::Graph& graph, const std::string& base, Tensor t) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * v, graph.addValue(uniqueValueName(graph, base)));
  v->type = t.type();
  v->shape = ir::Shape::fromSizes(t.shape());
  v->constant = std::move(t);
  return v;
}

// Records the DequantizeLinear's name when `node` was its only reader (it leaves with the fusion).
void absorbIfExclusive(ir::Node& node, const ir::Node* dq) {
  if (dq != nullptr && dq->outputs[0]->consumers.size() == 1 && !dq->outputs[0]->isGraphOutput)
    qdq::recordAbsorbed(node, *dq);
}

Result<bool> fuseIntoQuantizedOp(ir::Graph& graph, ir::Node& node) {
  const LinearPlan plan = *planOf(node);
  const bool conv = plan.kind == LinearKind::kConv;
  std::vector<float> wScales = plan.weights.scales;
  for (float& s : wScales) s *= plan.alpha;

  ir::Value* bias = nullptr;
  if (plan.bias != nullptr) {
    auto values = quantizedBias(plan, wScales);
    if (!values) return false;
    const bool reuse = plan.biasDq != nullptr && plan.bias->constant->rank() == 1 &&
                       plan.bias->constant->elementCount() == plan.channels &&
                       std::equal(values->begin(), values->end(), plan.bias->constant->data<int32_t>());
    if (reuse) {
      bias = plan.biasQuant.values;
    } else {
      Tensor t(DataType::kInt32, {plan.channels});
      std::copy(values->begin(), values->end(), t.data<int32_t>());
      LOWP_ASSIGN_OR_RETURN(bias, addConstant(graph, node.name + "_bias_int32", std::move(t)));
    }
  }
  ir::Value* weights = plan.weights.values;
  if (plan.transposeWeights) {
    LOWP_ASSIGN_OR_RETURN(weights,
                          addConstant(graph, weights->name + "_transposed", transposed(*weights->constant)));
  }

  absorbIfExclusive(node, plan.inputDq);
  absorbIfExclusive(node, plan.weightDq);
  absorbIfExclusive(node, plan.biasDq);

  ir::AttributeMap attrs = conv ? node.attributes : ir::AttributeMap{};
  attrs.set(conv ? "x_scale" : "a_scale", plan.input.scale);
  attrs.set(conv ? "x_zero_point" : "a_zero_point", static_cast<int64_t>(plan.input.zeroPoint));
  attrs.set(conv ? "w_scales" : "b_scales", wScales);
  attrs.set("output_type", static_cast<int64_t>(DataType::kFloat32));
  node.attributes = std::move(attrs);
  node.opType = conv ? "QuantizedConv" : "QuantizedMatMul";
  node.domain = std::string(ir::ops::kLowpDomain);
  node.opsetVersion = 1;
  graph.setInput(&node, 0, plan.inputDq->inputs[0]);
  graph.setInput(&node, 1, weights);
  if (node.inputs.size() > 2 || bias != nullptr) graph.setInput(&node, 2, bias);
  return true;
}

}  // namespace

const RewriteRule& fuseQuantizedLinearRule() {
  static const RewriteRule rule{.name = "fuse_quantized_linear",
                                .opTypes = {"Conv", "MatMul", "Gemm"},
                                .condition = readsDequantizedOperands,
                                .rewrite = fuseIntoQuantizedOp};
  return rule;
}

}  // namespace lowp::passes
