// lowp's quantized ops (domain "lowp"): the INT8 layers the builder chooses for Conv and MatMul/Gemm under
// --int8, and what explicit Q/DQ models (DequantizeLinear -> Conv/MatMul/Gemm -> QuantizeLinear) fuse into.
//
// QuantizedConv (inputs X, W, B?, Z?; Conv's attributes, the activation attributes of fused.h, and the
// quantization attributes below):
//   X: int8 or uint8 [N, C, spatial...]      real x = (X - x_zero_point) * x_scale
//   W: int8 [M, C/group, kernel...]          real w = W * w_scales[m]   (symmetric: no zero point)
//   B: int32 [M], optional                   real b = B * x_scale * w_scales[m]
//   Z: residual of Y's shape, optional       real z = Z when Z is fp32/fp16/bf16; (Z - z_zero_point) *
//   z_scale
//                                            when Z is int8/uint8
//   acc = sum (X - x_zero_point) * W + B     exact, in integers (conv as ONNX Conv)
//   v   = act(acc * x_scale * w_scales[m] + z)
//   Y   = v rounded to `output_type` when that is fp32, fp16 or bf16; when it is int8/uint8,
//         clamp(round_half_even(v / y_scale) + y_zero_point) to the type's range.
// QuantizedMatMul (inputs A, B, Bias?): the same with MatMul's shapes, A: int8/uint8 [..., K] (a_scale,
//   a_zero_point), B: int8 [K, N] (b_scales: 1 or N values, one per column), Bias: int32 [N]; no residual.
//   FP8 operands: A and B both float8e4m3fn (real a = A * a_scale, real b = B * b_scales[n], no zero
//   points), the products summed in fp32, Bias float32 [N] in real units (added as it is), and a float
//   output_type, or float8e4m3fn: Y = v / y_scale rounded to nearest even and saturated to +-448.
//
// Quantization attributes (floats unless said):
//   x_scale / a_scale, x_zero_point / a_zero_point (int, default 0; within X's type range),
//   w_scales / b_scales (floats: one value, or one per output channel / column),
//   output_type (int: the DataType code, as Cast's `to`; int8, uint8, float8e4m3fn, float32, float16 or
//   bfloat16),
//   y_scale, y_zero_point (int, default 0): required scale of an int8/uint8/float8e4m3fn output,
//   z_scale, z_zero_point (int, default 0): scale of an int8/uint8 residual.
// Every scale must be positive and finite.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/attribute.h"
#include "ir/data_type.h"
#include "lowp/status.h"

namespace lowp::ir::ops {

/// The quantization attributes of a QuantizedConv or QuantizedMatMul, read and checked.
struct QuantizedParams {
  float inputScale = 1.0f;          ///< x_scale / a_scale
  int32_t inputZeroPoint = 0;       ///< x_zero_point / a_zero_point
  std::vector<float> weightScales;  ///< w_scales / b_scales: one value, or one per output channel
  DataType outputType = DataType::kFloat32;
  float outputScale = 1.0f;       ///< y_scale (integer outputs)
  int32_t outputZeroPoint = 0;    ///< y_zero_point
  float residualScale = 1.0f;     ///< z_scale (integer residuals)
  int32_t residualZeroPoint = 0;  ///< z_zero_point

  /// The weight scale of output channel (or column) m.
  float weightScale(int64_t m) const {
    return weightScales.size() == 1 ? weightScales[0] : weightScales[static_cast<size_t>(m)];
  }
};

/// Reads a QuantizedConv's (`conv` true) or QuantizedMatMul's attributes; kInvalidArgument naming the
/// attribute when one is missing, not positive and finite, or out of its type's range.
Result<QuantizedParams> readQuantizedParams(const AttributeMap& attrs, bool conv);

/// Whether `t` may be the output type of a quantized op (int8, uint8, float8e4m3fn, float32, float16,
/// bfloat16).
bool isQuantizedOutputType(DataType t);

/// The bias type of a quantized op whose activation input has type `input`: int32 at the product's scale
/// for int8 / uint8 operands, float32 in real units for fp8 ones.
DataType quantizedBiasType(DataType input);

/// round_half_even(v / scale) + zeroPoint saturated to int8 or uint8's range: the one quantization rule.
int32_t quantizeValue(float v, float scale, int32_t zeroPoint, DataType type);

}  // namespace lowp::ir::ops
