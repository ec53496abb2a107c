// Resolving which dimensions a Reduce* node reduces. Shared by the ops' shape inference
// (ir/ops/reduction.cpp) and their reference kernels (kernels/reference/reduction.cpp), so both read axes,
// keepdims and noop_with_empty_axes the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ir/attribute.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::ir::ops {

/// The reduction one Reduce* node performs on an input of known rank.
struct ReduceAxes {
  /// Empty axes with noop_with_empty_axes=1: the output is the input, whatever keepdims says.
  bool noop = false;
  bool keepdims = true;
  /// One flag per input dimension: true where the dimension is reduced.
  std::vector<bool> reduced;
};

/// Resolves `axes` (ONNX's list: each in [-rank, rank), no repeats; empty means every axis, or none when the
/// node has noop_with_empty_axes=1) against the node's keepdims and noop_with_empty_axes attributes.
/// Errors (kInvalidArgument, message without the node name) for an axis out of range or repeated.
Result<ReduceAxes> resolveReduceAxes(const AttributeMap& attrs, const std::vector<int64_t>& axes,
                                     int64_t rank);

/// The output sizes of the reduction `r` applied to an input of sizes `in`.
std::vector<int64_t> reducedSizes(const std::vector<int64_t>& in, const ReduceAxes& r);

/// The elements of an int32 or int64 tensor, or nullopt for any other type.
std::optional<std::vector<int64_t>> tensorInts(const Tensor& t);

}  // namespace lowp::ir::ops
