// ONNX importer entries of the pooling ops. Later opsets only added attributes with backward-compatible
// defaults (storage_order and the Indices output in 8, ceil_mode and dilations in 10, count_include_pad in
// 7, AveragePool dilations in 19, LpPool ceil_mode and dilations in 18), so each op imports from its first
// version, except LpPool and GlobalLpPool, whose opset 1 took `p` as a float.
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerPoolImporters(ImporterRegistry& registry) {
  registry.add({.opType = "MaxPool", .sinceVersion = 1});
  registry.add({.opType = "AveragePool", .sinceVersion = 1});
  registry.add({.opType = "LpPool", .sinceVersion = 2});
  registry.add({.opType = "GlobalMaxPool", .sinceVersion = 1});
  registry.add({.opType = "GlobalAveragePool", .sinceVersion = 1});
  registry.add({.opType = "GlobalLpPool", .sinceVersion = 2});
  registry.add({.opType = "MaxUnpool", .sinceVersion = 9});
}

}  // namespace lowp::onnx
