// The INT8 forms of layers the builder may choose under the INT8 flag (docs/precision-semantics.md
// section 3): Conv / FusedConv become lowp.QuantizedConv and MatMul / FusedMatMul with constant weights
// (a Gemm with constant weights is a FusedMatMul by then: passes/gemm_to_matmul.cpp) become
// lowp.QuantizedMatMul (ir/ops/quantized.h), with weights quantized symmetrically per output
// channel and the bias to int32 at input scale x weight scale, once, at build time.
// The FP8 forms (under the FP8 flag, GPU) are QuantizedMatMul with float8e4m3fn operands: one weight scale
// for the whole matrix (amax / 448: cuBLASLt's fp8 products take one scale per operand) and the bias kept
// in float32.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "ir/attribute.h"
#include "ir/graph.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::builder {

/// What an INT8 tactic runs instead of the node: the quantized op, its attributes, and the constants it
/// reads instead of the node's (int8 weights, int32 bias), by input slot. Input slots match the node's.
struct QuantizedForm {
  std::string opType;
  ir::AttributeMap attributes;
  std::map<size_t, Tensor> constants;
  int64_t biasClamped = 0;  ///< Bias values beyond int32 at their scale, clamped.
};

/// Whether `node` has a form quantized to `precision` (kInt8 or kFloat8E4M3FN). INT8: Conv / FusedConv with
/// constant weights and bias; MatMul / FusedMatMul with a constant 2-D B. FP8: the MatMuls.
bool hasQuantizedForm(const ir::Node& node, DataType precision = DataType::kInt8);

/// The form of `node` (hasQuantizedForm) quantized to `precision` whose activation input has scale
/// `inputScale`, writing a float32 output; setQuantizedOutput() changes the output. INT8 weights get one
/// scale per output channel, or one for the whole tensor when `perChannel` is false; FP8 weights one.
Result<QuantizedForm> quantizedForm(const ir::Node& node, float inputScale, bool perChannel,
                                    DataType precision = DataType::kInt8);

/// The scale that maps max |x| = `amax` onto the largest value of `precision` (127 for int8, as
/// quant::int8ScaleFromAmax; 448 for float8e4m3fn).
float quantizedScaleFromAmax(float amax, DataType precision);

/// The scale of a tensor whose INT8 scale (amax / 127) is `int8Scale`, quantized to `precision`: that scale
/// itself, bit for bit, for int8 (as a calibration cache gives it); amax / 448 for float8e4m3fn.
float scaleForPrecision(float int8Scale, DataType precision);

/// Sets the output type (int8 and fp8 need `outputScale`) and, for a conv with a residual, the residual's
/// type (int8 needs `residualScale`).
void setQuantizedOutput(QuantizedForm& form, DataType outputType, float outputScale, DataType residualType,
                        float residualScale);

/// Ops whose INT8 output keeps its input's scale (MaxPool, Reshape, Flatten, Transpose, Squeeze,
/// Unsqueeze, Identity): they move int8 values without arithmetic.
bool preservesScale(std::string_view opType);

}  // namespace lowp::builder
