// Reference kernels of the tensor ops.
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {

void registerTensorKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace lowp::kernels::ref
