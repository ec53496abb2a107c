// Type and shape rules of the linear ops.
#include "ir/ops/common.h"

namespace lowp::ir::ops {

void registerLinearSchemas(OpSchemaRegistry& registry) { (void)registry; }

}  // namespace lowp::ir::ops
