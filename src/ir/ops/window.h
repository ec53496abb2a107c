// Sliding-window geometry shared by the convolutions (Conv, ConvInteger, ConvTranspose) and the pooling ops:
// reading kernel_shape / strides / dilations / pads / auto_pad, and the output size and padding each spatial
// axis gets. Both shape inference and the reference kernels use it, so they agree by construction.
//
// Sizes of -1 mean "unknown" (import-time inference with symbolic dims); the functions then leave the
// dependent output sizes (and, for auto_pad SAME, the pads) at -1 / 0 and never fail on them.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/attribute.h"
#include "lowp/status.h"

namespace lowp::ir::ops {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

/// The resolved geometry over the spatial axes of one sliding-window op.
struct Window {
  std::vector<int64_t> kernel;     ///< Kernel extent per axis (before dilation); -1 when unknown.
  std::vector<int64_t> strides;    ///< >= 1.
  std::vector<int64_t> dilations;  ///< >= 1.
  std::vector<int64_t> padsBegin;  ///< Padding before the first element of each axis.
  std::vector<int64_t> padsEnd;    ///< Padding after the last element of each axis.
  std::vector<int64_t> output;     ///< Output size per axis; -1 when unknown.
  AutoPad autoPad = AutoPad::kNotSet;
};

/// Reads auto_pad, strides, dilations and pads (defaults NOTSET, 1, 1, 0) for `kernel.size()` spatial axes
/// and checks their lengths and ranges. Errors are kInvalidArgument with a message that names the attribute.
Result<Window> readWindow(const AttributeMap& attrs, const std::vector<int64_t>& kernel);

/// Forward window (Conv, pools): fills output sizes and pads for spatial input sizes `input`.
/// `ceilMode` rounds the output size up (pools), dropping a last window that would start in the end padding.
Status resolveForwardWindow(Window& window, const std::vector<int64_t>& input, bool ceilMode);

/// Transposed window (ConvTranspose): reads output_padding and output_shape and fills output sizes and pads.
Status resolveTransposedWindow(Window& window, const AttributeMap& attrs, const std::vector<int64_t>& input);

/// Converts a geometry error into the inference context's error kind for this node.
template <typename Ctx>
Status windowError(const Ctx& ctx, const Status& status) {
  return status.code() == StatusCode::kUnsupported ? ctx.unsupported(status.message())
                                                   : ctx.invalid(status.message());
}

}  // namespace lowp::ir::ops
