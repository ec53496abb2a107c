// lowp.Reformat: the builder's change of a tensor's memory layout (ir/format.h), inserted where a consumer
// reads another format than the producer writes. One input, one output of the same type and logical shape
// [N, C, spatial...]; the formats are those of the input and output values, so the op has no attributes.
// Its kernels: kernels/reference/reformat.cpp (the oracle) and kernels/cpu/reformat.cpp.
#include "ir/ops/common.h"
#include "ir/ops/fused.h"

namespace lowp::ir::ops {

void registerReformatSchema(OpSchemaRegistry& registry) {
  registry.add({.opType = "Reformat",
                .minInputs = 1,
                .maxInputs = 1,
                .infer = inferSameAsInput0,
                .domain = kLowpDomain});
}

}  // namespace lowp::ir::ops
