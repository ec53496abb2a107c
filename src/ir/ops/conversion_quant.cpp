// Quantization layouts: which scale each element of x uses (see conversion_quant.h).
#include "ir/ops/conversion_quant.h"

namespace lowp::ir::ops {
namespace {

Status layoutError(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message);
}

std::string dimText(const Dim& d) {
  return d.isKnown() ? std::to_string(d.size) : "?";
}

bool isSingleElement(const Shape& s) {
  if (!s.rankKnown()) return false;
  if (s.rank() == 0) return true;
  return s.rank() == 1 && s[0].isKnown() && s[0].size == 1;
}

}  // namespace

Result<QuantLayout> quantLayout(const Shape& x, const Shape& scale, int64_t axis, int64_t blockSize,
                                int64_t opset) {
  QuantLayout layout;
  if (blockSize < 0) return layoutError("block_size must not be negative, got " + std::to_string(blockSize));
  if (!scale.rankKnown() || isSingleElement(scale)) return layout;  // per-tensor (or not yet known)
  if (opset < 13) return layoutError("the scale must be a scalar before opset 13, got " + scale.toString());
  if (!x.rankKnown()) {
    layout.granularity = blockSize > 0 ? QuantGranularity::kBlocked : QuantGranularity::kPerAxis;
    layout.axisLength = layout.inner = -1;
    return layout;
  }
  auto a = normalizeAxis(axis, x.rank());
  if (!a) return a.status();
  layout.axis = *a;
  const Dim& d = x[layout.axis];
  layout.axisLength = d.size;
  layout.inner = 1;
  for (int64_t k = layout.axis + 1; k < x.rank(); ++k) {
    layout.inner = (layout.inner >= 0 && x[k].isKnown()) ? layout.inner * x[k].size : -1;
  }
  if (blockSize == 0) {
    if (scale.rank() != 1) {
      return layoutError("a per-axis scale must be 1-D, got " + scale.toString() +
                         " (blocked quantization needs block_size)");
    }
    if (d.isKnown() && scale[0].isKnown() && scale[0].size != d.size) {
      return layoutError("per-axis scale has " + std::to_string(scale[0].size) + " elements but x has " +
                         dimText(d) + " along axis " + std::to_string(layout.axis));
    }
    layout.granularity = QuantGranularity::kPerAxis;
    layout.scaleAxisLength = layout.axisLength;
    return layout;
  }
  if (scale.rank() != x.rank()) {
    return layoutError("a blocked scale must have x's rank " + std::to_string(x.rank()) + ", got " +
                       scale.toString());
  }
  for (int64_t k = 0; k < x.rank(); ++k) {
    if (!x[k].isKnown() || !scale[k].isKnown()) continue;
    const int64_t want = k == layout.axis ? (x[k].size + blockSize - 1) / blockSize : x[k].size;
    if (scale[k].size != want) {
      return layoutError("blocked scale " + scale.toString() + " does not fit x " + x.toString() +
                         " with axis " + std::to_string(layout.axis) + " and block_size " +
                         std::to_string(blockSize));
    }
  }
  layout.granularity = QuantGranularity::kBlocked;
  layout.blockSize = blockSize;
  layout.scaleAxisLength = scale[layout.axis].size;
  return layout;
}

Status checkZeroPointShape(const Shape& scale, const Shape& zeroPoint) {
  if (!scale.rankKnown() || !zeroPoint.rankKnown()) return {};
  if (isSingleElement(scale) && isSingleElement(zeroPoint)) return {};
  bool same = scale.rank() == zeroPoint.rank();
  for (int64_t k = 0; same && k < scale.rank(); ++k) {
    if (scale[k].isKnown() && zeroPoint[k].isKnown() && scale[k].size != zeroPoint[k].size) same = false;
  }
  if (same) return {};
  return layoutError("zero point shape " + zeroPoint.toString() + " differs from scale shape " +
                     scale.toString());
}

}  // namespace lowp::ir::ops
