// Type and shape rules of the resize ops.
#include "ir/ops/common.h"

namespace lowp::ir::ops {

void registerResizeSchemas(OpSchemaRegistry& registry) { (void)registry; }

}  // namespace lowp::ir::ops
