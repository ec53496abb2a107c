// Reference kernels of the resize ops.
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {

void registerResizeKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace lowp::kernels::ref
