// The two forms of an activation: as the engine keeps it (its chosen type and layout, int8 at the
// builder's scale) and as the model names it (ONNX's layout). TensorInspector sees the second.
#pragma once

#include <cstdint>

#include "ir/graph.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::runtime {

/// real = (q - zeroPoint) x scale for an int8/uint8 value; scale 0 when the value is not quantized or its
/// scale is not known.
struct Quantization {
  float scale = 0;
  int32_t zeroPoint = 0;
};

/// The scale of int8/uint8 value `v`, from what produces it: a QuantizeLinear with a scalar scale, a
/// quantized layer's output attributes, or an op that keeps its input's integers (MaxPool, Reshape,
/// Reformat, ...); else from a DequantizeLinear that reads it.
Quantization quantizationOf(const ir::Value& v);

/// `t`, the engine's tensor of value `v`, in ONNX's layout (a copy when the engine's layout differs, a
/// view of `t` otherwise).
Result<Tensor> toModelLayout(const ir::Value& v, const Tensor& t);

/// A tensor in an engine's form: `tensor` has the logical shape and views `storage`, which owns the bytes
/// (more than the shape's for a padded layout such as kChw16).
struct EngineForm {
  Tensor storage;
  Tensor tensor;
};

/// `given` (a tensor in ONNX's layout) in the engine's form of `v`, whose tensor has `shape` in this run:
/// its type (floats cast, or quantized at quantizationOf(v)) and its layout. kInvalidArgument when the
/// shape differs or the types cannot be converted.
Result<EngineForm> toEngineForm(const ir::Value& v, const std::vector<int64_t>& shape, const Tensor& given);

}  // namespace lowp::runtime
