// lowp.QuantizedMatMul (ir/ops/quantized.h) on int8 tensor cores through cuBLASLt:
//   i8-quantizedmatmul-cublaslt
// A int8 [..., K] (no zero point), B int8 [K, N] a constant, transposed once to [N, K] (cuBLASLt's int8
// kernels take both operands with K contiguous); the products summed exactly in int32 into scratch memory
// the node's state keeps, then one pass (launchRequantize) gives y = act(acc * s[n] + b[n]) with
// s[n] = a_scale * b_scales[n] and b[n] = Bias[n] * s[n], in fp32 or fp16, or quantized with y_scale to int8
// (no zero point). The activation comes before the output's quantization, so every FusedMatMul activation
// runs. K and N must be multiples of 4 (cuBLASLt's int8 layouts).
// Tests: tests/gpu/test_quantized_matmul.cpp.
#include <array>
#include <memory>
#include <string>
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

Status quantizedMatMulKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  auto params = ir::ops::readQuantizedParams(ctx.attrs(), false);
  if (!params) return ctx.invalid(params.status().message());
  auto activation = ir::ops::readActivation(ctx.attrs());
  if (!activation) return ctx.invalid(activation.status().message());
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Tensor& y = ctx.output(0);
  const Tensor* bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  if (a.type() != DataType::kInt8 || b.type() != DataType::kInt8 || y.type() != params->outputType)
    return ctx.invalid("A " + a.describe() + ", B " + b.describe() + " and output " + y.describe() +
                       " do not match the op's types");
  if (params->inputZeroPoint != 0 || params->outputZeroPoint != 0)
    return ctx.unsupported("cuBLASLt's int8 product takes no zero points");
  if (a.rank() < 1 || b.rank() != 2 || a.shape().back() != b.shape()[0])
    return ctx.invalid("A " + a.describe() + " and B " + b.describe() + " do not multiply");
  const int64_t k = b.shape()[0];
  const int64_t n = b.shape()[1];
  const int64_t m = k > 0 ? a.elementCount() / k : 0;
  if (y.elementCount() != m * n) return ctx.invalid("output " + y.describe() + " is not [..., N]");
  if (params->weightScales.size() != 1 && static_cast<int64_t>(params->weightScales.size()) != n)
    return ctx.invalid(std::to_string(params->weightScales.size()) + " weight scales for " +
                       std::to_string(n) + " columns");
  if (bias != nullptr && (bias->type() != DataType::kInt32 || bias->elementCount() != n))
    return ctx.invalid("bias " + bias->describe() + " is not one int32 per column");
  if (k % 4 != 0 || n % 4 != 0) return ctx.unsupported("K and N must be multiples of 4");
  if (m * n * 4 > kMaxScratchBytes) return ctx.unsupported("the int32 sums would take more than 256 MB");
  if (y.elementCount() == 0) return {};

  auto plan = std::static_pointer_cast<QuantizedMatMulPlan>(ctx.state());
  if (!plan) {
    plan = std::make_shared<QuantizedMatMulPlan>();
    auto vectors = quantizedRescale(*cuda, *params, bias, n, 1.0);
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
    LOWP_RETURN_IF_ERROR(forNode(ctx, plan->lt->create(cuda->cublasLt, kInt8Types, problem, alignments,
                                                       cuda->workspaceBytes, 0, false)));
  }
  LOWP_RETURN_IF_ERROR(forNode(ctx, plan->lt->run(*cuda, a.data(), *weights, nullptr, nullptr, sums)));
  Epilogue act;
  act.activation = static_cast<Activation>(activation->kind);
  act.alpha = activation->alpha;
  act.beta = activation->beta;
  const auto* vectors = static_cast<const float*>(plan->vectors.data);
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchRequantize(static_cast<const int32_t*>(sums), *elemOf(y.type()), y.data(), m, n, vectors,
                            bias != nullptr ? vectors + n : nullptr, act, params->outputScale, cuda->stream));
  return {};
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

}  // namespace

void registerQuantizedMatMulKernels(KernelRegistry& registry) {
  registry.add({.opType = "QuantizedMatMul",
                .backend = Backend::kCuda,
                .name = "i8-quantizedmatmul-cublaslt",
                .inputTypes = {{DataType::kInt8}, {DataType::kInt8}, {DataType::kInt32}},
                .outputTypes = {{DataType::kInt8, DataType::kFloat16, DataType::kFloat32}},
                .fn = &quantizedMatMulKernel,
                .domain = ir::ops::kLowpDomain,
                .supports = &supportsQuantizedMatMul,
                .reference = false});
}

}  // namespace lowp::kernels::cuda
