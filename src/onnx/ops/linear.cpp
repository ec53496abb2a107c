// ONNX importer entries of the linear ops. Every opset listed reads alike for lowp, so no entry needs a
// normalising function: Conv/ConvTranspose/MatMul are unchanged in meaning since opset 1, Gemm since 7
// (opset 6 and older had a `broadcast` attribute), MatMulInteger/ConvInteger/QLinearConv/QLinearMatMul since
// 10, Einsum since 12. Attention (23) gained the input nonpad_kv_seqlen in 24, which the schema reads as an
// optional seventh input. RotaryEmbedding (23), which transformer exports apply before Attention, is here
// beside it.
#include "onnx/op_importer.h"

namespace lowp::onnx {

void registerLinearImporters(ImporterRegistry& registry) {
  registry.add({.opType = "Conv", .sinceVersion = 1});
  registry.add({.opType = "ConvTranspose", .sinceVersion = 1});
  registry.add({.opType = "ConvInteger", .sinceVersion = 10});
  registry.add({.opType = "Gemm", .sinceVersion = 7});
  registry.add({.opType = "MatMul", .sinceVersion = 1});
  registry.add({.opType = "MatMulInteger", .sinceVersion = 10});
  registry.add({.opType = "QLinearConv", .sinceVersion = 10});
  registry.add({.opType = "QLinearMatMul", .sinceVersion = 10});
  registry.add({.opType = "Einsum", .sinceVersion = 12});
  registry.add({.opType = "Attention", .sinceVersion = 23});
  registry.add({.opType = "RotaryEmbedding", .sinceVersion = 23});
}

}  // namespace lowp::onnx
