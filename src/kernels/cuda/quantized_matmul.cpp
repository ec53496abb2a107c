// lowp.QuantizedMatMul (ir/ops/quantized.h) on int8 tensor cores through cuBLASLt:
//   i8-quantizedmatmul-cublaslt-h{0..7}
// A int8 [..., K] (no zero point), B int8 [K, N] a constant, transposed once to [N, K] (cuBLASLt's int8
// kernels take both operands with K contiguous); the products summed exactly in int32 into scratch memory
// the node's state keeps, then one pass (launchRequantize) gives y = act(acc * s[n] + b[n]) with
// s[n] = a_scale * b_scales[n] and b[n] = Bias[n] * s[n], in fp32 or fp16, or quantized with y_scale to int8
// (no zero point). The activation comes before the output's quantization, so every FusedMatMul activation
// runs. K and N must be multiples of 4 (cuBLASLt's int8 layouts).
//
// With float8e4m3fn operands (the FP8 form, sm_89 and later): f8-quantizedmatmul-cublaslt-h{0..7}, and
// f8-quantizedmatmul-cublaslt-gelutanh-h{0..7}, which run the erf GELU as the tanh form in the epilogue (as
// the fp16 -gelutanh tactics of matmul.cpp do). cuBLASLt's fp8 product (TN, like int8) sums into fp32
// (Hopper's tensor cores keep fewer bits along the way: 1.2e-4 relative L2 from a double sum, measured) and
// writes the output type directly, alpha = a_scale * b_scale (one scale per operand). A bias, converted
// once to fp16 / bf16, and Relu or the tanh GELU go in the epilogue where splitEpilogue says; for fp32
// outputs, and for other activations, one pass of conv_epilogue.cu follows the product. An fp8 output
// (y_scale) whose bias and activation the epilogue takes is written by cuBLASLt too, times 1 / y_scale;
// otherwise, or where cuBLASLt has no such algorithm, the product goes to fp16 scratch memory and one pass
// (launchQuantizeEpilogueFp8) applies the activation and quantizes. K and N must be multiples of 16
// (cuBLASLt's fp8 layouts).
//
// Tactic hN runs the N-th algorithm of cuBLASLt's heuristic, as matmul.cpp's do: declined while the builder
// times tactics where cuBLASLt offers fewer, cuBLASLt's first choice in an engine
// (CudaContext::exactTactics). Tests: tests/gpu/test_quantized_matmul.cpp.
#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/ops/fused.h"
#include "ir/ops/quantized.h"
#include "kernels/cuda/cublaslt_plan.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

// The int32 sums of more than this many bytes are not kept: such products run in a float precision.
constexpr int64_t kMaxScratchBytes = int64_t{256} << 20;

// What one node keeps: the transposed weights, the rescale vectors, the int32 scratch and the cuBLASLt plan.
struct QuantizedMatMulPlan {
  ChannelsLastCopy weights;            // B as [N, K]
  DeviceBuffer vectors;                // s[n], then b[n]
  std::unique_ptr<DeviceBuffer> sums;  // int32 [M, N]
  int64_t sumsBytes = 0;
  std::unique_ptr<LtPlan> lt;
};

// The operands of one run, read and checked: A [..., K] of `operandType` by a 2-D B [K, N] of the same type
// into Y [..., N] of the op's output type; the weight scales one or one per column; the bias, if given, one
// value per column of the operands' bias type (ir::ops::quantizedBiasType).
struct Operands {
  ir::ops::QuantizedParams params;
  ir::ops::ActivationSpec activation;
  const Tensor* a = nullptr;
  const Tensor* b = nullptr;
  Tensor* y = nullptr;
  const Tensor* bias = nullptr;
  int64_t m = 0, n = 0, k = 0;
};

Result<Operands> readOperands(KernelContext& ctx, DataType operandType) {
  Operands o;
  auto params = ir::ops::readQuantizedParams(ctx.attrs(), false);
  if (!params) return ctx.invalid(params.status().message());
  o.params = *std::move(params);
  auto activation = ir::ops::readActivation(ctx.attrs());
  if (!activation) return ctx.invalid(activation.status().message());
  o.activation = *activation;
  o.a = &ctx.input(0);
  o.b = &ctx.input(1);
  o.y = &ctx.output(0);
  o.bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  const Tensor& a = *o.a;
  const Tensor& b = *o.b;
  const Tensor& y = *o.y;
  if (a.type() != operandType || b.type() != operandType || y.type() != o.params.outputType)
    return ctx.invalid("A " + a.describe() + ", B " + b.describe() + " and output " + y.describe() +
                       " do not match the op's types");
  if (a.rank() < 1 || b.rank() != 2 || a.shape().back() != b.shape()[0])
    return ctx.invalid("A " + a.describe() + " and B " + b.describe() + " do not multiply");
  o.k = b.shape()[0];
  o.n = b.shape()[1];
  o.m = o.k > 0 ? a.elementCount() / o.k : 0;
  if (y.elementCount() != o.m * o.n) return ctx.invalid("output " + y.describe() + " is not [..., N]");
  const size_t scales = o.params.weightScales.size();
  if (scales != 1 && static_cast<int64_t>(scales) != o.n)
    return ctx.invalid(std::to_string(scales) + " weight scales for " + std::to_string(o.n) + " columns");
  const DataType biasType = ir::ops::quantizedBiasType(operandType);
  if (o.bias != nullptr && (o.bias->type() != biasType || o.bias->elementCount() != o.n))
    return ctx.invalid("bias " + o.bias->describe() + " is not one " + std::string(dataTypeName(biasType)) +
                       " value per column");
  return o;
}

template <int kHeuristic>
Status quantizedMatMulKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  LOWP_ASSIGN_OR_RETURN(const Operands o, readOperands(ctx, DataType::kInt8));
  const ir::ops::QuantizedParams& params = o.params;
  const Tensor& a = *o.a;
  const Tensor& b = *o.b;
  Tensor& y = *o.y;
  const Tensor* bias = o.bias;
  const int64_t m = o.m, n = o.n, k = o.k;
  if (params.inputZeroPoint != 0 || params.outputZeroPoint != 0)
    return ctx.unsupported("cuBLASLt's int8 product takes no zero points");
  if (k % 4 != 0 || n % 4 != 0) return ctx.unsupported("K and N must be multiples of 4");
  if (m * n * 4 > kMaxScratchBytes) return ctx.unsupported("the int32 sums would take more than 256 MB");
  if (y.elementCount() == 0) return {};

  auto plan = std::static_pointer_cast<QuantizedMatMulPlan>(ctx.state());
  if (!plan) {
    plan = std::make_shared<QuantizedMatMulPlan>();
    auto vectors = quantizedRescale(*cuda, params, bias, n, 1.0);
    if (!vectors) return forNode(ctx, vectors.status());
    LOWP_RETURN_IF_ERROR(
        forNode(ctx, upload(plan->vectors, vectors->data(), vectors->size() * sizeof(float), cuda->stream)));
    ctx.state() = plan;
  }
  auto weights = plan->weights.get(*cuda, b, isConstantInput(ctx, 1), 1, k, n);
  if (!weights) return forNode(ctx, weights.status());
  if (plan->sumsBytes < m * n * 4) {
    plan->sums = std::make_unique<DeviceBuffer>();
    LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, cudaMalloc(&plan->sums->data, static_cast<size_t>(m * n * 4)));
    plan->sumsBytes = m * n * 4;
  }
  void* sums = plan->sums->data;
  GemmProblem problem;
  problem.m = m;
  problem.n = n;
  problem.k = k;
  problem.transB = true;  // the weights as [N, K]
  const std::array<uint32_t, 4> alignments = {alignmentOf(*weights), alignmentOf(a.data()), alignmentOf(sums),
                                              alignmentOf(sums)};
  if (!plan->lt || !plan->lt->fits(kInt8Types, problem, alignments, cuda->workspaceBytes)) {
    plan->lt = std::make_unique<LtPlan>();
    LOWP_RETURN_IF_ERROR(
        forNode(ctx, plan->lt->create(cuda->cublasLt, kInt8Types, problem, alignments, cuda->workspaceBytes,
                                      kHeuristic, cuda->exactTactics)));
  }
  LOWP_RETURN_IF_ERROR(forNode(ctx, plan->lt->run(*cuda, a.data(), *weights, nullptr, nullptr, sums)));
  const Epilogue act = activationEpilogue(o.activation);
  const auto* vectors = static_cast<const float*>(plan->vectors.data);
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchRequantize(static_cast<const int32_t*>(sums), *elemOf(y.type()), y.data(), m, n, vectors,
                            bias != nullptr ? vectors + n : nullptr, act, params.outputScale, cuda->stream));
  return {};
}

// What one fp8 node keeps: the transposed weights, the bias in the product's type, 1 / y_scale on the device
// (an fp8 output written by cuBLASLt), the fp16 product of an fp8 output that takes a pass, and the cuBLASLt
// plan.
struct Fp8MatMulPlan {
  ChannelsLastCopy weights;               // B as [N, K]
  DeviceBuffer bias;                      // the bias in the product's type (epilogue) when it is fp16 / bf16
  DeviceBuffer dScale;                    // one float, 1 / y_scale
  float dScaleHost = 0.0f;                // its source, kept while the copy may be pending
  bool directDeclined = false;            // cuBLASLt has no (N-th) algorithm writing this fp8 output
  std::unique_ptr<DeviceBuffer> product;  // fp16 [M, N], for an fp8 output that takes a pass
  int64_t productBytes = 0;
  std::unique_ptr<LtPlan> lt;
};

Precision precisionOfOutput(DataType t) {
  if (t == DataType::kFloat16) return Precision::kF16;
  if (t == DataType::kBFloat16) return Precision::kBf16;
  return Precision::kF32;
}

template <bool kErfGeluAsTanh, int kHeuristic>
Status fp8MatMulKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  LOWP_ASSIGN_OR_RETURN(const Operands o, readOperands(ctx, DataType::kFloat8E4M3FN));
  const ir::ops::QuantizedParams& params = o.params;
  const ir::ops::ActivationSpec& activation = o.activation;
  const Tensor& a = *o.a;
  const Tensor& b = *o.b;
  Tensor& y = *o.y;
  const Tensor* bias = o.bias;
  const int64_t m = o.m, n = o.n, k = o.k;
  if (y.type() == DataType::kInt8 || y.type() == DataType::kUInt8)
    return ctx.invalid("fp8 operands give a float or float8e4m3fn output, not " + y.describe());
  if (params.weightScales.size() != 1)
    return ctx.unsupported("cuBLASLt's fp8 product takes one weight scale, not one per column");
  if (k % 16 != 0 || n % 16 != 0) return ctx.unsupported("K and N must be multiples of 16");
  if (kErfGeluAsTanh && !isErfGelu(activation))
    return ctx.unsupported("the -gelutanh tactics are for the erf GELU");
  const bool fp8Out = y.type() == DataType::kFloat8E4M3FN;
  if (y.elementCount() == 0) return {};

  const Precision out = fp8Out ? Precision::kF16 : precisionOfOutput(y.type());
  const DataType productType = fp8Out ? DataType::kFloat16 : y.type();
  // The bias goes into the epilogue converted to the 16-bit result type.
  const EpilogueSplit split =
      splitEpilogue(activation, bias != nullptr, out != Precision::kF32, kErfGeluAsTanh);
  auto plan = std::static_pointer_cast<Fp8MatMulPlan>(ctx.state());
  if (!plan) {
    plan = std::make_shared<Fp8MatMulPlan>();
    if (split.biasInProduct) {
      LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, cudaMalloc(&plan->bias.data, static_cast<size_t>(n) * 2));
      LOWP_CUDA_RETURN_IF_ERROR_NODE(
          ctx, launchCast(Elem::kF32, *elemOf(productType), bias->data(), plan->bias.data, n, cuda->stream));
    }
    if (fp8Out) {
      plan->dScaleHost = 1.0f / params.outputScale;
      LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, cudaMalloc(&plan->dScale.data, sizeof(float)));
      LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, cudaMemcpyAsync(plan->dScale.data, &plan->dScaleHost, sizeof(float),
                                                          cudaMemcpyHostToDevice, cuda->stream));
    }
    ctx.state() = plan;
  }
  auto weights = plan->weights.get(*cuda, b, isConstantInput(ctx, 1), 1, k, n);
  if (!weights) return forNode(ctx, weights.status());
  GemmProblem problem;
  problem.m = m;
  problem.n = n;
  problem.k = k;
  problem.transB = true;  // the weights as [N, K]
  problem.alpha = params.inputScale * params.weightScales[0];
  problem.bias = split.biasInProduct;
  problem.activation = split.activationInProduct;
  // The product into `d` of `types` (cuBLASLt's plan kept while they hold).
  auto product = [&](const LtTypes& types, void* d) -> Status {
    const std::array<uint32_t, 4> alignments = {alignmentOf(*weights), alignmentOf(a.data()), alignmentOf(d),
                                                alignmentOf(d)};
    if (!plan->lt || !plan->lt->fits(types, problem, alignments, cuda->workspaceBytes)) {
      plan->lt = std::make_unique<LtPlan>();
      LOWP_RETURN_IF_ERROR(plan->lt->create(cuda->cublasLt, types, problem, alignments, cuda->workspaceBytes,
                                            kHeuristic, cuda->exactTactics));
    }
    return plan->lt->run(*cuda, a.data(), *weights, nullptr, split.biasInProduct ? plan->bias.data : nullptr,
                         d);
  };
  // An fp8 output whose bias and activation the epilogue takes comes out of cuBLASLt itself, scaled by
  // 1 / y_scale and rounded once (saturating at +-448, as QuantizeLinear does).
  if (fp8Out && !split.passAfter && !plan->directDeclined) {
    problem.dScale = static_cast<const float*>(plan->dScale.data);
    if (product(kFp8OutputTypes, y.data()).isOk()) return {};
    // No algorithm for it here, or cuBLASLt refused the call (nothing ran): the fp16 product and one pass.
    plan->directDeclined = true;
    plan->lt.reset();
    problem.dScale = nullptr;
  }
  if (fp8Out && m * n * 2 > kMaxScratchBytes)
    return ctx.unsupported("the fp16 product would take more than 256 MB");
  if (fp8Out && plan->productBytes < m * n * 2) {
    plan->product = std::make_unique<DeviceBuffer>();
    LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, cudaMalloc(&plan->product->data, static_cast<size_t>(m * n * 2)));
    plan->productBytes = m * n * 2;
  }
  void* d = fp8Out ? plan->product->data : y.data();
  LOWP_RETURN_IF_ERROR(forNode(ctx, product(fp8LtTypes(out), d)));
  Epilogue e = activationEpilogue(activation, split.activationInProduct != GemmProblem::Activation::kNone);
  if (fp8Out) {
    LOWP_CUDA_RETURN_IF_ERROR_NODE(
        ctx, launchQuantizeEpilogueFp8(d, y.data(), m * n, e, params.outputScale, cuda->stream));
    return {};
  }
  if (!split.passAfter) return {};
  // y is [M, N]: a channels-last tensor of N channels over M positions for the epilogue.
  if (bias != nullptr && !split.biasInProduct) {
    e.bias = bias->data();
    e.biasType = Elem::kF32;
  }
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchConvEpilogue(*elemOf(y.type()), y.data(), 1, n, m, /*hwc=*/true, e, cuda->stream));
  return {};
}

bool supportsFp8MatMul(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto a = staticSizes(shapes, 0);
  const auto b = staticSizes(shapes, 1);
  if (!a || !b || a->empty() || b->size() != 2 || a->back() != (*b)[0]) return false;
  const ir::Value* weights = node.input(1);
  auto params = ir::ops::readQuantizedParams(node.attributes, false);
  return (*b)[0] % 16 == 0 && (*b)[1] % 16 == 0 && weights != nullptr && weights->constant.has_value() &&
         params && params->weightScales.size() == 1 && ir::ops::readActivation(node.attributes).isOk();
}

// An fp32 output with a bias runs the bias and the activation in the pass after the product, where the
// GELU is exact: the plain tactic covers it.
bool supportsFp8MatMulErfGeluAsTanh(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto activation = ir::ops::readActivation(node.attributes);
  const auto params = ir::ops::readQuantizedParams(node.attributes, false);
  return activation.isOk() && isErfGelu(*activation) && params &&
         (node.input(2) == nullptr || params->outputType != DataType::kFloat32) &&
         supportsFp8MatMul(node, shapes);
}

bool supportsQuantizedMatMul(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto a = staticSizes(shapes, 0);
  const auto b = staticSizes(shapes, 1);
  if (!a || !b || a->empty() || b->size() != 2 || a->back() != (*b)[0]) return false;
  const int64_t k = (*b)[0];
  const int64_t n = (*b)[1];
  int64_t m = 1;
  for (size_t i = 0; i + 1 < a->size(); ++i) m *= (*a)[i];
  const ir::Value* weights = node.input(1);
  auto params = ir::ops::readQuantizedParams(node.attributes, false);
  return k % 4 == 0 && n % 4 == 0 && m * n * 4 <= kMaxScratchBytes && weights != nullptr &&
         weights->constant.has_value() && params && params->inputZeroPoint == 0 &&
         params->outputZeroPoint == 0 && ir::ops::readActivation(node.attributes).isOk();
}

template <int kHeuristic>
void registerTactics(KernelRegistry& registry) {
  const std::string suffix = "-cublaslt-h" + std::to_string(kHeuristic);
  registry.add({.opType = "QuantizedMatMul",
                .backend = Backend::kCuda,
                .name = keepName("i8-quantizedmatmul" + suffix),
                .inputTypes = {{DataType::kInt8}, {DataType::kInt8}, {DataType::kInt32}},
                .outputTypes = {{DataType::kInt8, DataType::kFloat16, DataType::kFloat32}},
                .fn = &quantizedMatMulKernel<kHeuristic>,
                .domain = ir::ops::kLowpDomain,
                .supports = &supportsQuantizedMatMul,
                .reference = false});
  for (const bool tanhForm : {false, true}) {
    registry.add(
        {.opType = "QuantizedMatMul",
         .backend = Backend::kCuda,
         .name = keepName(tanhForm ? "f8-quantizedmatmul-cublaslt-gelutanh-h" + std::to_string(kHeuristic)
                                   : "f8-quantizedmatmul" + suffix),
         .inputTypes = {{DataType::kFloat8E4M3FN}, {DataType::kFloat8E4M3FN}, {DataType::kFloat32}},
         .outputTypes = {{DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                          DataType::kFloat8E4M3FN}},
         .fn = tanhForm ? &fp8MatMulKernel<true, kHeuristic> : &fp8MatMulKernel<false, kHeuristic>,
         .domain = ir::ops::kLowpDomain,
         .supports = tanhForm ? &supportsFp8MatMulErfGeluAsTanh : &supportsFp8MatMul,
         .reference = false,
         .approximation = tanhForm ? kErfGeluAsTanhApproximation : std::string_view()});
  }
}

template <int... kHeuristics>
void registerHeuristics(KernelRegistry& registry, std::integer_sequence<int, kHeuristics...> /*heuristics*/) {
  (registerTactics<kHeuristics>(registry), ...);
}

}  // namespace

void registerQuantizedMatMulKernels(KernelRegistry& registry) {
  registerHeuristics(registry, std::make_integer_sequence<int, kHeuristicResults>());
}

}  // namespace lowp::kernels::cuda
