// What the host kernels of lowp.Attention (the reference here, kernels/cpu/attention.cpp) share: the
// operands as dense tensors.
#pragma once

#include "ir/ops/attention_layout.h"
#include "kernels/kernel.h"
#include "lowp/status.h"

namespace lowp::kernels::ref {

/// The node's Q, Kt and V as dense tensors, its scale and Y's permutation (ir/ops/attention_layout.h):
/// views gathered on the context's threads into scratch the kernel's state slot keeps between runs. Errors
/// name the node; Q, Kt and V must be present.
Result<ir::ops::DenseAttention*> denseAttentionOf(KernelContext& ctx);

}  // namespace lowp::kernels::ref
