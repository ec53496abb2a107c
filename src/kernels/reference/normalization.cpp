// Reference kernels of the normalization ops.
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {

void registerNormalizationKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace lowp::kernels::ref
