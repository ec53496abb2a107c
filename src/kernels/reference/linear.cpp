// Reference kernels of the linear ops.
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {

void registerLinearKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace lowp::kernels::ref
