// CUDA kernels made of others: the ops that only rename a tensor's shape run as one device-to-device copy,
// and FusedMatMul (the rewrite of Gemm with its bias and activation) runs as the cuBLASLt Gemm kernel with
// its bias epilogue followed by the CUDA activation in place.
#include <functional>
#include <string_view>
#include <vector>

#include "ir/ops/fused.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

// Flatten, Reshape, Squeeze, Unsqueeze and Identity keep the bytes of a linear tensor in order: the output
// is the input copied (the planned output shape is already the right one).
Status copySameBytes(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (x.type() != y.type() || x.byteSize() != y.byteSize())
    return ctx.invalid("output " + y.describe() + " does not hold the bytes of input " + x.describe());
  if (y.byteSize() == 0 || x.data() == y.data()) return {};
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, cudaMemcpyAsync(y.data(), x.data(), static_cast<size_t>(y.byteSize()),
                                                      cudaMemcpyDeviceToDevice, cuda->stream));
  return {};
}

KernelDef sameBytesKernel(std::string_view opType, std::string_view name) {
  return {.opType = opType,
          .backend = Backend::kCuda,
          .name = name,
          .inputTypes = {allStorableTypes()},
          .outputTypes = {allStorableTypes()},
          .fn = &copySameBytes,
          .reference = false};
}

// Looked up when a kernel first runs, after the registry is complete.
const KernelDef* registryKernel(std::string_view name) {
  for (const KernelDef& k : KernelRegistry::global().all()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// FusedMatMul(A, B, bias) has Gemm's defaults (no transposes, alpha = beta = 1), so the registry's Gemm
// kernel computes A x B + bias from the same node; the activation follows on the output in place.
template <bool kTf32>
const KernelDef* gemmKernel() {
  static const KernelDef* k = registryKernel(kTf32 ? "tf32-gemm-cublaslt-h0" : "f32-gemm-cublaslt-h0");
  return k;
}

const KernelDef* activationKernel(ir::ops::FusedActivation kind) {
  static const KernelDef* relu = registryKernel("f32-relu-cuda");
  static const KernelDef* sigmoid = registryKernel("f32-sigmoid-cuda");
  switch (kind) {
    case ir::ops::FusedActivation::kRelu:
      return relu;
    case ir::ops::FusedActivation::kSigmoid:
      return sigmoid;
    default:
      return nullptr;
  }
}

template <bool kTf32>
bool supportsFusedMatMulAsGemm(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const KernelDef* gemm = gemmKernel<kTf32>();
  auto activation = ir::ops::readActivation(node.attributes);
  if (gemm == nullptr || !activation) return false;
  if (activation->kind != ir::ops::FusedActivation::kNone && activationKernel(activation->kind) == nullptr)
    return false;
  if (!shapes.empty() && (!shapes[0].rankKnown() || shapes[0].rank() != 2)) return false;
  return gemm->supports == nullptr || gemm->supports(node, shapes);
}

template <bool kTf32>
Status fusedMatMulAsGemm(KernelContext& ctx) {
  const KernelDef* gemm = gemmKernel<kTf32>();
  LOWP_ASSIGN_OR_RETURN(const ir::ops::ActivationSpec activation, ir::ops::readActivation(ctx.attrs()));
  const KernelDef* act = activationKernel(activation.kind);
  if (gemm == nullptr || (activation.kind != ir::ops::FusedActivation::kNone && act == nullptr))
    return ctx.unsupported("no CUDA Gemm or activation kernel to compose");
  LOWP_RETURN_IF_ERROR(gemm->fn(ctx));
  if (act == nullptr) return {};
  const ParallelFor serial = [](int64_t n, int64_t, const std::function<void(int64_t, int64_t)>& fn) {
    fn(0, n);
  };
  Tensor& y = ctx.output(0);
  KernelContext inPlace(ctx.node(), {&y}, {&y}, serial,
                        [](DataType, const std::vector<int64_t>&) { return Tensor(); });
  inPlace.setCuda(ctx.cuda());
  return act->fn(inPlace);
}

template <bool kTf32>
KernelDef fusedMatMulKernel() {
  const TypeSet f32 = {DataType::kFloat32};
  return {.opType = "FusedMatMul",
          .backend = Backend::kCuda,
          .name = kTf32 ? "tf32-fusedmatmul-gemm-cuda" : "f32-fusedmatmul-gemm-cuda",
          .inputTypes = {f32},
          .outputTypes = {f32},
          .fn = &fusedMatMulAsGemm<kTf32>,
          .domain = ir::ops::kLowpDomain,
          .supports = &supportsFusedMatMulAsGemm<kTf32>,
          .reference = false};
}

}  // namespace

void registerComposedKernels(KernelRegistry& registry) {
  registry.add(sameBytesKernel("Flatten", "x-flatten-copy-cuda"));
  registry.add(sameBytesKernel("Reshape", "x-reshape-copy-cuda"));
  registry.add(sameBytesKernel("Squeeze", "x-squeeze-copy-cuda"));
  registry.add(sameBytesKernel("Unsqueeze", "x-unsqueeze-copy-cuda"));
  registry.add(sameBytesKernel("Identity", "x-identity-copy-cuda"));
  registry.add(fusedMatMulKernel<true>());
  registry.add(fusedMatMulKernel<false>());
}

}  // namespace lowp::kernels::cuda
