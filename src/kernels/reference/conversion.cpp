// Reference kernels of the conversion ops.
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {

void registerConversionKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace lowp::kernels::ref
