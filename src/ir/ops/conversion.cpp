// Type and shape rules of the conversion ops.
#include "ir/ops/common.h"

namespace lowp::ir::ops {

void registerConversionSchemas(OpSchemaRegistry& registry) { (void)registry; }

}  // namespace lowp::ir::ops
