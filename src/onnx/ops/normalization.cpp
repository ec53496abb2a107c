// ONNX importer entries of the normalization ops.
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerNormalizationImporters(ImporterRegistry& registry) { (void)registry; }

}  // namespace lowp::onnx
