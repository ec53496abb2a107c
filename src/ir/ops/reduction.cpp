// Type and shape rules of the reduction ops.
#include "ir/ops/common.h"

namespace lowp::ir::ops {

void registerReductionSchemas(OpSchemaRegistry& registry) { (void)registry; }

}  // namespace lowp::ir::ops
