// ONNX importer entries of the pool ops.
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerPoolImporters(ImporterRegistry& registry) { (void)registry; }

}  // namespace lowp::onnx
