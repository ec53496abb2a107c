// Shared pieces of the explicit-quantization rules; see qdq_common.h.
#include "passes/qdq_common.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <string_view>

#include "ir/ops/fused.h"
#include "passes/fuse_common.h"

namespace lowp::passes::qdq {
namespace {

bool isIntegerQuantType(DataType t) {
  return t == DataType::kInt8 || t == DataType::kUInt8;
}

bool isUsableScale(float s) {
  return s > 0.0f && std::isfinite(s);
}

// The float32 scale(s) of a constant scale input, when every one is usable.
std::optional<std::vector<float>> constantScales(const ir::Value* scale) {
  if (scale == nullptr || !scale->constant || scale->type != DataType::kFloat32) return std::nullopt;
  const Tensor& t = *scale->constant;
  std::vector<float> out(t.data<float>(), t.data<float>() + t.elementCount());
  if (out.empty()) return std::nullopt;
  for (float s : out) {
    if (!isUsableScale(s)) return std::nullopt;
  }
  return out;
}

}  // namespace

bool isQuantize(const ir::Node& node) {
  return node.domain.empty() && node.opType == "QuantizeLinear";
}

bool isDequantize(const ir::Node& node) {
  return node.domain.empty() && node.opType == "DequantizeLinear";
}

std::optional<TensorQuant> perTensorQuant(const ir::Node& node) {
  const bool quantize = isQuantize(node);
  if (!quantize && !isDequantize(node)) return std::nullopt;
  if (node.outputs.size() != 1 || node.outputs[0] == nullptr || node.input(0) == nullptr) return std::nullopt;
  const DataType intType = quantize ? node.outputs[0]->type : node.inputs[0]->type;
  const DataType floatType = quantize ? node.inputs[0]->type : node.outputs[0]->type;
  if (!isIntegerQuantType(intType) || floatType != DataType::kFloat32) return std::nullopt;
  if (node.attributes.getInt("block_size", 0) != 0) return std::nullopt;
  // `precision` (opset 25) names the type the division happens in; float32 is what the fused ops use.
  const int64_t precision = node.attributes.getInt("precision", 0);
  if (quantize && precision != 0 && precision != static_cast<int64_t>(DataType::kFloat32))
    return std::nullopt;
  auto scales = constantScales(node.input(1));
  if (!scales || scales->size() != 1) return std::nullopt;
  TensorQuant quant;
  quant.scale = (*scales)[0];
  quant.type = intType;
  if (const ir::Value* zp = node.input(2)) {
    if (!zp->constant || zp->type != intType || zp->constant->elementCount() != 1) return std::nullopt;
    quant.zeroPoint = static_cast<int32_t>(elementAsDouble(*zp->constant, 0));
  }
  return quant;
}

ir::Node* dequantizeOf(const ir::Value* v) {
  if (v == nullptr || v->producer == nullptr || !isDequantize(*v->producer)) return nullptr;
  return v->producer;
}

std::optional<ConstantQuant> constantQuant(const ir::Node& dq, DataType type, int64_t channelAxis) {
  if (!isDequantize(dq) || dq.outputs.size() != 1 || dq.outputs[0] == nullptr) return std::nullopt;
  ir::Value* x = dq.input(0);
  if (x == nullptr || !x->constant || x->type != type || dq.outputs[0]->type != DataType::kFloat32)
    return std::nullopt;
  if (dq.attributes.getInt("block_size", 0) != 0) return std::nullopt;
  auto scales = constantScales(dq.input(1));
  if (!scales) return std::nullopt;
  const Tensor& values = *x->constant;
  if (scales->size() != 1) {
    // Per axis: the scales run along the channel axis, and the DQ's own axis says so.
    const int64_t rank = values.rank();
    auto channel = ir::normalizeAxis(channelAxis, rank);
    auto axis = ir::normalizeAxis(dq.attributes.getInt("axis", 1), rank);
    if (!channel || !axis || *channel != *axis || dq.inputs[1]->constant->rank() != 1) return std::nullopt;
    if (values.shape()[static_cast<size_t>(*channel)] != static_cast<int64_t>(scales->size()))
      return std::nullopt;
  }
  if (const ir::Value* zp = dq.input(2)) {
    if (!zp->constant || zp->type != type) return std::nullopt;
    if (zp->constant->elementCount() != static_cast<int64_t>(scales->size())) return std::nullopt;
    for (int64_t i = 0; i < zp->constant->elementCount(); ++i) {
      if (elementAsDouble(*zp->constant, i) != 0.0) return std::nullopt;
    }
  }
  return ConstantQuant{x, std::move(*scales)};
}

bool commutesWithQuantization(const ir::Node& node) {
  static constexpr std::array<std::string_view, 6> kOps = {"Reshape", "Flatten",   "Transpose",
                                                           "Squeeze", "Unsqueeze", "MaxPool"};
  if (!node.domain.empty() || std::find(kOps.begin(), kOps.end(), node.opType) == kOps.end()) return false;
  if (node.outputs.empty() || node.outputs[0] == nullptr || node.input(0) == nullptr) return false;
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (node.outputs[i] != nullptr) return false;  // MaxPool's Indices
  }
  for (size_t i = 1; i < node.inputs.size(); ++i) {
    if (node.inputs[i] == node.inputs[0]) return false;
  }
  if (node.opType == "MaxPool") {
    const std::vector<int64_t> kernel = node.attributes.getInts("kernel_shape");
    const std::vector<int64_t> pads = node.attributes.getInts("pads");
    if (kernel.empty()) return false;
    for (size_t i = 0; i < pads.size(); ++i) {
      if (pads[i] >= kernel[i % kernel.size()]) return false;
    }
  }
  return true;
}

bool isQuantizedLinear(const ir::Node& node) {
  return node.domain == ir::ops::kLowpDomain &&
         (node.opType == "QuantizedConv" || node.opType == "QuantizedMatMul");
}

bool hasOpenFloatOutput(const ir::Node& node) {
  return isQuantizedLinear(node) && node.outputs.size() == 1 && node.outputs[0] != nullptr &&
         node.attributes.getInt("output_type", 0) == static_cast<int64_t>(DataType::kFloat32) &&
         fusion::hasNoActivation(node);
}

void recordAbsorbed(ir::Node& into, const ir::Node& absorbed) {
  into.absorbedNames.push_back(absorbed.name);
  into.absorbedNames.insert(into.absorbedNames.end(), absorbed.absorbedNames.begin(),
                            absorbed.absorbedNames.end());
}

}  // namespace lowp::passes::qdq
