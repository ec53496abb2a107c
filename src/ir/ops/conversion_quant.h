// How QuantizeLinear / DequantizeLinear map each element of x to its scale and zero point: one scale for
// the tensor, one per index along `axis`, or one per block of `blockSize` indices along `axis` (ONNX opset
// 21 blocked quantization, where the scale has x's shape except ceil(D_axis / blockSize) along the axis).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/shape.h"
#include "lowp/status.h"

namespace lowp::ir::ops {

enum class QuantGranularity { kPerTensor, kPerAxis, kBlocked };

struct QuantLayout {
  QuantGranularity granularity = QuantGranularity::kPerTensor;
  int64_t axis = 0;        ///< Normalised; meaningful for per-axis and blocked.
  int64_t blockSize = 0;   ///< Blocked only.
  int64_t axisLength = 1;  ///< x's size along `axis` (-1 when unknown).
  int64_t inner = 1;       ///< Product of x's sizes after `axis` (-1 when unknown).
  int64_t scaleAxisLength = 1;

  /// The scale index of x's flat element `i` (x's shape must be static).
  int64_t scaleIndex(int64_t i) const {
    switch (granularity) {
      case QuantGranularity::kPerTensor:
        return 0;
      case QuantGranularity::kPerAxis:
        return (i / inner) % axisLength;
      case QuantGranularity::kBlocked: {
        const int64_t outer = i / (inner * axisLength);
        const int64_t a = (i / inner) % axisLength;
        return (outer * scaleAxisLength + a / blockSize) * inner + i % inner;
      }
    }
    return 0;
  }
};

/// Works out the layout from x's and the scale's shapes (either may have unknown dims; only what is known is
/// checked), the `axis` and `block_size` attributes and the opset. Errors are kInvalidArgument with a message
/// that does not name the node (callers add it).
Result<QuantLayout> quantLayout(const Shape& x, const Shape& scale, int64_t axis, int64_t blockSize,
                                int64_t opset);

/// Error unless the zero point's shape can go with the scale's (the same shape; per-tensor may mix [] and
/// [1]).
Status checkZeroPointShape(const Shape& scale, const Shape& zeroPoint);

}  // namespace lowp::ir::ops
