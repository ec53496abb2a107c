// Type and shape rules of the elementwise ops.
#include "ir/ops/common.h"

namespace lowp::ir::ops {

void registerElementwiseSchemas(OpSchemaRegistry& registry) { (void)registry; }

}  // namespace lowp::ir::ops
