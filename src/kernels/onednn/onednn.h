// The oneDNN CPU kernels (built when LOWP_WITH_ONEDNN is on): Conv, lowp's FusedConv (conv + bias + residual
// + activation, ir/ops/fused.h), ConvTranspose, MatMul, FusedMatMul (matmul + bias + activation), Gemm,
// MaxPool, AveragePool and GlobalAveragePool through oneDNN primitives, in fp32 and (but Gemm) in bf16, and
// lowp's QuantizedConv and QuantizedMatMul (ir/ops/quantized.h) in int8 with AVX-512 VNNI, MaxPool also in
// int8 and uint8, and channels-last (ir/format.h, kHwc) variants of QuantizedConv, MaxPool and
// GlobalAveragePool that let a chain of INT8 layers skip oneDNN's reorders between them. Each kernel is a
// registry entry with `.reference = false` and a `supports` predicate that declines what it does not handle,
// so the reference kernel runs there instead.
//
// Threads: Debian's libdnnl is built with the OpenMP runtime. The kernels set an OpenMP team of one on every
// thread that calls oneDNN and split their work (batch images or output channels, rows of the product, pooled
// planes) over lowp's own pool (EngineOptions::threads), so a run uses exactly the pool's threads and no
// OpenMP worker spin-waits beside them; kernels/onednn/common.h says why.
#pragma once

#include "kernels/kernel.h"

namespace lowp::kernels::onednn {

/// Adds every oneDNN kernel to `registry`; listed once in kernels/kernel_list.cpp.
void registerOneDnnKernels(KernelRegistry& registry);

}  // namespace lowp::kernels::onednn
