// The one list of op families the ONNX importer knows.
#include "onnx/op_importer.h"

namespace lowp::onnx {

const ImporterRegistry& ImporterRegistry::global() {
  static const ImporterRegistry registry = [] {
    ImporterRegistry r;
    registerElementwiseImporters(r);
    registerTensorImporters(r);
    registerLinearImporters(r);
    registerPoolImporters(r);
    registerNormalizationImporters(r);
    registerReductionImporters(r);
    registerConversionImporters(r);
    registerResizeImporters(r);
    return r;
  }();
  return registry;
}

}  // namespace lowp::onnx
