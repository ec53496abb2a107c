// The one list of kernel families lowp registers.
#include "kernels/kernel.h"
#include "kernels/reference/common.h"

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
    return r;
  }();
  return registry;
}

}  // namespace lowp::kernels
