// Registration of lowp's own vectorised CPU kernels (this folder); listed in kernels/kernel_list.cpp.
#pragma once

#include "kernels/kernel.h"

namespace lowp::kernels::cpu {

/// Registers every kernel of this folder, both ISAs, AVX-512 first so that it is preferred where both
/// apply. Kernel names: "<dtype>-<op>-<isa>", e.g. "bf16-gelu-avx512", "f32tobf16-cast-avx2".
void registerCpuKernels(KernelRegistry& registry);

/// QuantizeLinear / DequantizeLinear between fp32 and int8 / uint8 with a per-tensor scale (quantize.cpp).
void registerQuantizeKernels(KernelRegistry& registry);

/// Transpose and Slice as copies of whole rows and tiles (copies.cpp; plain C++, any ISA).
void registerCopyKernels(KernelRegistry& registry);

/// Resize and Upsample output row by output row (resize.cpp; plain C++, any ISA).
void registerResizeKernels(KernelRegistry& registry);

/// lowp.Attention for fp32, bf16 and fp16 storage on AVX-512 and AVX2 (attention.cpp).
void registerAttentionKernels(KernelRegistry& registry);

/// lowp.Reformat between the linear and channels-last (hwc) layouts (reformat.cpp; SSE2, any x86-64 CPU).
void registerReformatKernels(KernelRegistry& registry);

}  // namespace lowp::kernels::cpu
