// ONNX importer entries of the linear ops.
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerLinearImporters(ImporterRegistry& registry) { (void)registry; }

}  // namespace lowp::onnx
