// The one list of op families whose schemas lowp knows.
#include "ir/ops/common.h"

namespace lowp::ir {

const OpSchemaRegistry& OpSchemaRegistry::global() {
  static const OpSchemaRegistry registry = [] {
    OpSchemaRegistry r;
    ops::registerElementwiseSchemas(r);
    ops::registerTensorSchemas(r);
    ops::registerLinearSchemas(r);
    ops::registerPoolSchemas(r);
    ops::registerNormalizationSchemas(r);
    ops::registerReductionSchemas(r);
    ops::registerConversionSchemas(r);
    ops::registerResizeSchemas(r);
    ops::registerElementwiseChainSchema(r);
    ops::registerFusedSchemas(r);
    ops::registerAttentionSchema(r);
    ops::registerOnnxAttentionSchema(r);
    ops::registerRotaryEmbeddingSchema(r);
    ops::registerQuantizedSchemas(r);
    ops::registerReformatSchema(r);
    return r;
  }();
  return registry;
}

}  // namespace lowp::ir
