// ONNX importer entries of the resize ops.
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerResizeImporters(ImporterRegistry& registry) { (void)registry; }

}  // namespace lowp::onnx
