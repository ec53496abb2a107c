// ONNX importer entries of the elementwise ops.
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerElementwiseImporters(ImporterRegistry& registry) { (void)registry; }

}  // namespace lowp::onnx
