// ONNX importer entries of the normalization ops.
//
// No op here needs rewriting: where semantics changed between opsets the schema and the kernels read
// node.opsetVersion themselves (BatchNormalization's spatial attribute in opsets 7-8, GroupNormalization's
// per-group scale in opset 18, the 2-D coercion of Softmax/LogSoftmax/Hardmax before opset 13).
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerNormalizationImporters(ImporterRegistry& registry) {
  // BatchNormalization 6 and older carry is_test / consumed_inputs; 7 is the first of today's form.
  registry.add({.opType = "BatchNormalization", .sinceVersion = 7});
  // InstanceNormalization 1 carries the legacy consumed_inputs attribute.
  registry.add({.opType = "InstanceNormalization", .sinceVersion = 6});
  registry.add({.opType = "LayerNormalization", .sinceVersion = 17});
  registry.add({.opType = "GroupNormalization", .sinceVersion = 18});
  registry.add({.opType = "RMSNormalization", .sinceVersion = 23});
  registry.add({.opType = "LpNormalization", .sinceVersion = 1});
  registry.add({.opType = "MeanVarianceNormalization", .sinceVersion = 9});
  registry.add({.opType = "LRN", .sinceVersion = 1});
  registry.add({.opType = "Softmax", .sinceVersion = 1});
  registry.add({.opType = "LogSoftmax", .sinceVersion = 1});
  registry.add({.opType = "Hardmax", .sinceVersion = 1});
}

}  // namespace lowp::onnx
