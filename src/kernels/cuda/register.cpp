#include "kernels/cuda/cuda_kernels.h"

namespace lowp::kernels::cuda {

void registerCudaKernels(KernelRegistry& registry) {
  registerElementwiseKernels(registry);
  registerLogicKernels(registry);
  registerReformatKernels(registry);
  registerMatMulKernels(registry);
  registerConvKernels(registry);
  registerConvTransposeKernels(registry);
  registerQuantizedConvKernels(registry);
  registerQuantizedMatMulKernels(registry);
  registerPoolKernels(registry);
  registerSoftmaxKernels(registry);
  registerComposedKernels(registry);
  registerChainKernels(registry);
  registerLayerNormKernels(registry);
  registerGroupNormKernels(registry);
  registerTensorKernels(registry);
  registerResizeKernels(registry);
  registerReduceKernels(registry);
  registerPadKernels(registry);
  registerIndexKernels(registry);
  registerAttentionKernels(registry);
  registerScatterKernels(registry);
}

}  // namespace lowp::kernels::cuda
