// What Resize and Upsample compute, resolved from a node's attributes and its roi / scales / sizes inputs:
// shared by shape inference (where values may be unknown) and the reference kernel (where all are known).
//
// Semantics follow the ONNX reference implementation, which produced the conformance data:
// - with scales, output size = floor(input size * scale); with sizes, scale = output size / input size
//   (keep_aspect_ratio_policy not_larger / not_smaller: one scale for every resized axis, and output
//   size = round-half-up(scale * input size));
// - coordinates are computed in double from the (float) scale; "output width" in align_corners,
//   half_pixel_symmetric and tf_crop_and_resize is scale * input size, as in the reference.
// - Upsample (opsets 7-9) and Resize-10 are "legacy": asymmetric coordinates, nearest picks floor when
//   upsampling and ceil when downsampling (ONNX Runtime's rule for these versions), linear is N-linear.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ir/graph.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::ir::ops {

enum class ResizeMode { kNearest, kLinear, kCubic };

enum class CoordinateMode {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfCropAndResize,
  kTfHalfPixelForNn,  ///< Resize-11 only.
};

enum class NearestMode { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kLegacy };

enum class AspectPolicy { kStretch, kNotLarger, kNotSmaller };

struct ResizeAttrs {
  ResizeMode mode = ResizeMode::kNearest;
  CoordinateMode coordinate = CoordinateMode::kHalfPixel;
  NearestMode nearest = NearestMode::kRoundPreferFloor;
  double cubicA = -0.75;
  bool excludeOutside = false;
  double extrapolation = 0.0;
  bool antialias = false;
  AspectPolicy policy = AspectPolicy::kStretch;
  std::vector<int64_t> axes;  ///< As given (not normalised); empty means every axis.
  bool legacy = false;        ///< Upsample or Resize-10.
};

/// Reads and checks a Resize or Upsample node's attributes. Errors carry kInvalidArgument or kUnsupported
/// and a message that does not name the node.
Result<ResizeAttrs> readResizeAttrs(const Node& node);

/// Input slot of the scales for this node (Upsample: 1; Resize, every opset once imported: 2).
size_t resizeScalesSlot(const Node& node);

/// What is known of one of the roi / scales / sizes inputs.
struct ResizeInput {
  bool present = false;           ///< Connected, and not known to be empty.
  const Tensor* value = nullptr;  ///< Its value when known.
};

struct ResizeGeometry {
  std::vector<int64_t> outSizes;  ///< -1 where unknown.
  std::vector<double> scales;     ///< Effective scale per axis; 0 where unknown.
  std::vector<double> roiStart;   ///< Per axis (tf_crop_and_resize); 0 by default.
  std::vector<double> roiEnd;     ///< Per axis; 1 by default.
  bool valuesKnown = false;       ///< The scales or sizes were known (else outSizes are only what rank says).
};

/// Resolves the output sizes and per-axis scales for an input of sizes `inSizes` (-1 where unknown). When
/// the scales or sizes value is unknown, outSizes keeps the dims that are not resized and leaves the rest -1.
Result<ResizeGeometry> resolveResizeGeometry(const ResizeAttrs& attrs, const std::vector<int64_t>& inSizes,
                                             const ResizeInput& roi, const ResizeInput& scales,
                                             const ResizeInput& sizes);

/// The geometry of Resize or Upsample `node` (attributes `attrs`) for an input of sizes `inSizes`, its roi,
/// scales and sizes as `input(slot)` gives each (slots of the node's inputs; Upsample reads only its scales).
/// tf_crop_and_resize without a roi is an error (kInvalidArgument).
Result<ResizeGeometry> resolveNodeResizeGeometry(const Node& node, const ResizeAttrs& attrs,
                                                 const std::vector<int64_t>& inSizes,
                                                 const std::function<ResizeInput(size_t slot)>& input);

/// The input coordinate that output index `o` of one axis maps to. Sets `outside` when tf_crop_and_resize
/// maps it outside the input (the output there is the extrapolation value).
double resizeSourceCoordinate(const ResizeAttrs& attrs, int64_t o, int64_t inSize, int64_t outSize,
                              double scale, double roiStart, double roiEnd, bool* outside);

/// One input index that an output index reads along one axis, and its weight.
struct ResizeTap {
  int64_t index;
  double weight;
};

/// What one output index of one axis reads: its taps, or (`outside`, tf_crop_and_resize) nothing: the output
/// there is the extrapolation value.
struct ResizeOutputTaps {
  bool outside = false;
  std::vector<ResizeTap> taps;
};

/// The taps of every output index along one axis.
struct ResizeAxisTaps {
  std::vector<ResizeOutputTaps> outputs;
  bool identity = true;  ///< Output index o reads input index o with weight 1, for every o.
};

/// The taps of axis `axis` (input size inSize, output size outSize) under geometry `g`, in double as the
/// ONNX reference computes them: nearest one tap, the index its nearest_mode picks; linear 2, cubic 4;
/// antialiased downscaling as many as the widened filter covers; exclude_outside renormalises; taps of zero
/// weight are dropped and indices clamped into the input. Shared by every Resize kernel, so they agree on
/// what each output reads.
ResizeAxisTaps resizeAxisTaps(const ResizeAttrs& attrs, const ResizeGeometry& g, size_t axis, int64_t inSize,
                              int64_t outSize);

/// The taps of one axis flattened for a kernel: output index o reads input elements offset[o * taps + j]
/// (the tap's index times the axis's element stride) with weight weight[o * taps + j] (fp32) for
/// j < count[o]; the slots past count[o] hold offset 0 and weight 0; count[o] is -1 where o is outside
/// (tf_crop_and_resize: the fill value).
struct ResizeTapTable {
  bool identity = true;  ///< As ResizeAxisTaps::identity.
  int taps = 1;          ///< The most taps any output index reads (at least 1).
  std::vector<int32_t> count;
  std::vector<int64_t> offset;
  std::vector<float> weight;
};

ResizeTapTable resizeTapTable(const ResizeAxisTaps& axis, int64_t stride);

}  // namespace lowp::ir::ops
