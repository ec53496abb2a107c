// ONNX importer entries of the conversion ops.
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerConversionImporters(ImporterRegistry& registry) { (void)registry; }

}  // namespace lowp::onnx
