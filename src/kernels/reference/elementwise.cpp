// Reference kernels of the elementwise ops.
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {

void registerElementwiseKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace lowp::kernels::ref
