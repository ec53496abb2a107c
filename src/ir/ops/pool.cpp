// Type and shape rules of the pool ops.
#include "ir/ops/common.h"

namespace lowp::ir::ops {

void registerPoolSchemas(OpSchemaRegistry& registry) { (void)registry; }

}  // namespace lowp::ir::ops
