// ONNX importer entries of the conversion ops. Every supported opset reads alike: later opsets only add
// attributes (saturate 19, block_size / output_dtype 21, round_mode 24, precision 25) whose defaults give
// the older behaviour, and the schema's inference checks what an opset allows.
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerConversionImporters(ImporterRegistry& registry) {
  // Cast-6 replaced Cast-1's string `to` with the type id lowp reads.
  registry.add({.opType = "Cast", .sinceVersion = 6});
  registry.add({.opType = "CastLike", .sinceVersion = 15});
  registry.add({.opType = "QuantizeLinear", .sinceVersion = 10});
  registry.add({.opType = "DequantizeLinear", .sinceVersion = 10});
  registry.add({.opType = "DynamicQuantizeLinear", .sinceVersion = 11});
}

}  // namespace lowp::onnx
