// ONNX importer entries of the reduction ops.
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerReductionImporters(ImporterRegistry& registry) { (void)registry; }

}  // namespace lowp::onnx
