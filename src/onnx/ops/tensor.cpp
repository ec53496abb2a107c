// ONNX importer entries of the tensor ops.
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerTensorImporters(ImporterRegistry& registry) { (void)registry; }

}  // namespace lowp::onnx
