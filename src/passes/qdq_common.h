// Pieces the explicit-quantization rules share (move_dequantize_forward.cpp, move_quantize_backward.cpp,
// remove_dequantize_quantize.cpp, fuse_quantized_*.cpp): reading the parameters of a QuantizeLinear or
// DequantizeLinear where they are constants the rewrite can use, and recognising lowp's quantized ops.
//
// Only int8 / uint8 quantization with float32 on the float side and float32 scales is recognised; anything
// else (fp16 scales, 16-bit or FP8 types, blocked quantization, scales computed at run time) is left to the
// reference Q/DQ kernels, which stay correct.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ir/graph.h"

namespace lowp::passes::qdq {

/// The parameters of a per-tensor quantization: real = (q - zeroPoint) * scale.
struct TensorQuant {
  float scale = 1.0f;
  int32_t zeroPoint = 0;
  DataType type = DataType::kUndefined;  ///< The integer side's type: int8 or uint8.

  /// Same scale, zero point and type: a Q of a DQ with these parameters gives back its input.
  bool operator==(const TensorQuant& o) const = default;
};

/// A constant integer tensor dequantized per tensor or per channel with zero points 0 (weights, biases).
struct ConstantQuant {
  ir::Value* values = nullptr;  ///< The constant integer tensor (the DequantizeLinear's input).
  std::vector<float> scales;    ///< One value, or one per index along the channel axis.

  float scale(int64_t channel) const {
    return scales.size() == 1 ? scales[0] : scales[static_cast<size_t>(channel)];
  }
};

/// True for a default-domain QuantizeLinear / DequantizeLinear.
bool isQuantize(const ir::Node& node);
bool isDequantize(const ir::Node& node);

/// The parameters of a default-domain QuantizeLinear (float32 -> int8/uint8) or DequantizeLinear
/// (int8/uint8 -> float32) with one constant positive finite float32 scale and a constant zero point of one
/// element (or none: 0), not blocked, a Q dividing in float32 (no other `precision`). nullopt otherwise.
std::optional<TensorQuant> perTensorQuant(const ir::Node& node);

/// The DequantizeLinear that produces `v`, or nullptr.
ir::Node* dequantizeOf(const ir::Value* v);

/// The parameters of a default-domain DequantizeLinear of a constant of type `type` to float32, per tensor or
/// per axis along `channelAxis` of the constant (negative counts from the end), with constant positive
/// finite float32 scales and zero points absent or all 0. nullopt otherwise.
std::optional<ConstantQuant> constantQuant(const ir::Node& dq, DataType type, int64_t channelAxis);

/// True when `node` commutes with a per-tensor quantization of its input 0, so a DequantizeLinear may move
/// from before it to after it and a QuantizeLinear from after it to before it, without changing a value:
/// a default-domain Reshape, Flatten, Transpose, Squeeze or Unsqueeze (they only move elements) or MaxPool
/// (quantization is monotone, so the largest quantized value is the quantized largest value; no window may
/// lie wholly in the padding), with one output, reading the value at input 0 only.
bool commutesWithQuantization(const ir::Node& node);

/// True for lowp's QuantizedConv / QuantizedMatMul.
bool isQuantizedLinear(const ir::Node& node);

/// True for a QuantizedConv / QuantizedMatMul with a float32 output and no activation yet: one whose output
/// an activation, a residual Add or a QuantizeLinear may still be fused into.
bool hasOpenFloatOutput(const ir::Node& node);

/// Appends `absorbed`'s name and the names it had absorbed to `into`'s absorbedNames.
void recordAbsorbed(ir::Node& into, const ir::Node& absorbed);

}  // namespace lowp::passes::qdq
