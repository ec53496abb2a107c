// What the CPU Resize kernels (this folder's and kernels/cpu/resize.cpp) share.
#pragma once

#include "ir/ops/resize_plan.h"
#include "kernels/kernel.h"

namespace lowp::kernels::ref {

/// The geometry of the Resize or Upsample node of `ctx` for its input 0, from the roi, scales and sizes it
/// was given (tensors in host memory; an empty one counts as absent).
Result<ir::ops::ResizeGeometry> resizeGeometryOf(const KernelContext& ctx, const ir::ops::ResizeAttrs& attrs);

}  // namespace lowp::kernels::ref
