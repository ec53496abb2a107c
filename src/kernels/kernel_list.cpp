// The one list of kernel families lowp registers.
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/kernel.h"
#include "kernels/reference/common.h"
#if LOWP_WITH_ONEDNN
#include "kernels/onednn/onednn.h"
#endif
#if LOWP_WITH_CUDA
#include "kernels/cuda/cuda_kernels.h"
#endif

namespace lowp::kernels {

const KernelRegistry& KernelRegistry::global() {
  static const KernelRegistry registry = [] {
    KernelRegistry r;
    ref::registerElementwiseKernels(r);
    ref::registerTensorKernels(r);
    ref::registerLinearKernels(r);
    ref::registerPoolKernels(r);
    ref::registerNormalizationKernels(r);
    ref::registerReductionKernels(r);
    ref::registerConversionKernels(r);
    ref::registerResizeKernels(r);
    ref::registerElementwiseChainKernels(r);
    ref::registerFusedKernels(r);
    ref::registerAttentionKernels(r);
    ref::registerOnnxAttentionKernels(r);
    ref::registerRotaryEmbeddingKernels(r);
    ref::registerQuantizedKernels(r);
    ref::registerReformatKernels(r);
#if LOWP_WITH_ONEDNN
    onednn::registerOneDnnKernels(r);
#endif
    cpu::registerCpuKernels(r);
#if LOWP_WITH_CUDA
    cuda::registerCudaKernels(r);
#endif
    return r;
  }();
  return registry;
}

}  // namespace lowp::kernels
