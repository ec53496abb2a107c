// Reference kernels of the reduction ops.
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {

void registerReductionKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace lowp::kernels::ref
