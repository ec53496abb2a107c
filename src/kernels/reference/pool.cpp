// Reference kernels of the pool ops.
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {

void registerPoolKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace lowp::kernels::ref
