// Registration of lowp's CUDA kernels (Backend::kCuda; this folder), listed in kernels/kernel_list.cpp when
// the build has LOWP_WITH_CUDA. Names: "<dtype>-<op>[-<variant>]-<source>[-hwc]", the source being "cuda"
// (lowp's own kernels), "cublaslt" or "cudnn"; "-hwc" marks the channels-last (ir/format.h kHwc) variant.
// Kernels named "tf32-..." take fp32 tensors and compute with TF32 tensor cores (10-bit mantissa, fp32
// accumulation): they may run only where the build allows TF32.
//
// Every kernel here runs on a KernelContext whose cuda() is set and whose tensors are in device memory
// (kernels/cuda/cuda_context.h); `.reference` is false for all of them.
#pragma once

#include "kernels/kernel.h"

namespace lowp::kernels::cuda {

/// Every kernel of this folder.
void registerCudaKernels(KernelRegistry& registry);

/// The unary activations and math ops, Add, Sub, Mul, Div, Max, Min, Cast, CastLike, QuantizeLinear,
/// DequantizeLinear (elementwise.cpp).
void registerElementwiseKernels(KernelRegistry& registry);
/// Comparisons, And, Or, Xor, Not, IsNaN, IsInf, Where, integer Add / Sub / Mul / Div / Max / Min, Mod and
/// Pow (logic.cpp).
void registerLogicKernels(KernelRegistry& registry);
/// Pad (pad.cpp); ArgMax, ArgMin, TopK, GatherElements and Trilu (index.cpp).
void registerPadKernels(KernelRegistry& registry);
void registerIndexKernels(KernelRegistry& registry);
/// lowp.Reformat between linear and hwc (reformat.cpp).
void registerReformatKernels(KernelRegistry& registry);
/// MatMul, Gemm and lowp.FusedMatMul through cuBLASLt (matmul.cpp).
void registerMatMulKernels(KernelRegistry& registry);
/// Conv and lowp.FusedConv through cuDNN (conv.cpp).
void registerConvKernels(KernelRegistry& registry);
/// ConvTranspose through cuDNN's backward-data convolution (conv_transpose.cpp).
void registerConvTransposeKernels(KernelRegistry& registry);
/// lowp.QuantizedConv on int8 tensor cores through cuDNN's graph API (quantized_conv.cpp).
void registerQuantizedConvKernels(KernelRegistry& registry);
/// lowp.QuantizedMatMul on int8 tensor cores through cuBLASLt (quantized_matmul.cpp).
void registerQuantizedMatMulKernels(KernelRegistry& registry);
/// MaxPool, AveragePool, GlobalAveragePool (pool.cpp); Softmax, LogSoftmax and Hardmax (softmax.cpp).
void registerPoolKernels(KernelRegistry& registry);
void registerSoftmaxKernels(KernelRegistry& registry);
/// lowp.Attention on tensor cores (fp16, bf16) and on CUDA cores (fp32, fp16, bf16) (attention.cpp).
void registerAttentionKernels(KernelRegistry& registry);
/// Flatten, Reshape, Squeeze, Unsqueeze and Identity as a copy (composed.cpp).
void registerComposedKernels(KernelRegistry& registry);
/// lowp.ElementwiseChain in one kernel (chain.cpp).
void registerChainKernels(KernelRegistry& registry);
/// LayerNormalization over the trailing dims (layernorm.cpp).
void registerLayerNormKernels(KernelRegistry& registry);
/// GroupNormalization and InstanceNormalization (groupnorm.cpp).
void registerGroupNormKernels(KernelRegistry& registry);
/// Transpose, Slice, Gather, Concat, Split and Expand for every type of 1, 2, 4 or 8 bytes (tensor.cpp).
void registerTensorKernels(KernelRegistry& registry);
/// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceSumSquare, ReduceL1, ReduceL2 over any constant axes;
/// CumSum and CumProd (reduce.cpp).
void registerReduceKernels(KernelRegistry& registry);
/// Resize and Upsample: nearest for every type of 1, 2, 4 or 8 bytes, linear and cubic in fp32, fp16, bf16
/// (resize.cpp).
void registerResizeKernels(KernelRegistry& registry);
/// ScatterND, ScatterElements and Scatter, GatherND and OneHot (scatter.cpp).
void registerScatterKernels(KernelRegistry& registry);

}  // namespace lowp::kernels::cuda
