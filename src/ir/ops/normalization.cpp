// Type and shape rules of the normalization ops.
#include "ir/ops/common.h"

namespace lowp::ir::ops {

void registerNormalizationSchemas(OpSchemaRegistry& registry) { (void)registry; }

}  // namespace lowp::ir::ops
