// Type and shape rules of the tensor ops.
#include "ir/ops/common.h"

namespace lowp::ir::ops {

void registerTensorSchemas(OpSchemaRegistry& registry) { (void)registry; }

}  // namespace lowp::ir::ops
