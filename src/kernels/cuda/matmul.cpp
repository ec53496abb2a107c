// MatMul, Gemm and lowp.FusedMatMul through cuBLASLt: {f32,tf32,f16,bf16}-{matmul,gemm,fusedmatmul}-cublaslt-
// h{0..7}, and {f16,bf16}-fusedmatmul-cublaslt-gelutanh-h{0..7}; and 1x1 convolutions over NHWC as one GEMM
// each: {f32,tf32,f16,bf16}-{conv,fusedconv}-1x1-cublaslt-hwc-h{0..7}.
//
// Types: fp32 (CUBLAS_COMPUTE_32F: plain fp32 arithmetic), tf32 (fp32 tensors, CUBLAS_COMPUTE_32F_FAST_TF32),
// fp16 and bf16 (fp32 accumulation and scale). Tactic hN runs the N-th algorithm of cuBLASLt's heuristic for
// the problem, so the builder can time several (the first is often not the fastest: 4-10% apart on an
// encoder's products); a problem for which cuBLASLt offers fewer algorithms is
// declined at run time with kUnsupported while the builder times tactics, and runs cuBLASLt's first choice
// in an engine (a shape it was not built for; CudaContext::exactTactics).
//
// Layout: row-major products through column-major cuBLASLt (cublaslt_plan.h, where GemmProblem and LtPlan
// live).
// MatMul: numpy.matmul geometry; a B without batch dims folds A's batch into M (one GEMM); equal batch dims,
// or an A without batch dims, run as a strided batch. Gemm: transA / transB, alpha, and C either absent,
// of Y's shape [M, N] (cuBLASLt's C with beta), or a row bias [N] / [1, N] with beta = 1 (the BIAS
// epilogue). Other broadcasts of C, and other batch broadcasts of MatMul, are declined by supports().
// FusedMatMul (ir/ops/fused.h): A of any rank >= 2 by a 2-D B folds A's leading dims into M (one GEMM); a
// bias [N] of the tensors' type, then Relu or the tanh GELU, are cuBLASLt's epilogue (splitEpilogue); an
// fp32 bias beside fp16 / bf16 tensors, and the other activations, take one pass of conv_epilogue.cu after
// the product. The erf GELU is that pass too (cuBLASLt's GELU is the tanh form), except in the -gelutanh
// tactics of fp16 and bf16, which run it as the tanh form in the epilogue: the builder times them against
// the exact pass and takes them where they are faster (within the bound that splitEpilogue states).
// A 1x1 convolution (stride 1, no padding, one group) over NHWC is the row-major product
// X [N*H*W, C] x W [M, C]^T: a residual is cuBLASLt's C matrix (beta 1), the bias and Relu (or the tanh
// GELU) its epilogue (applied to the sum), and another activation takes one pass of conv_epilogue.cu after
// it.
// Descriptors and the chosen algorithm live in the node's state slot and are rebuilt when the problem,
// the pointers' alignment or the workspace changes.
// Tests: tests/gpu/test_matmul.cpp.
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/ops/fused.h"
#include "kernels/cuda/cublaslt_plan.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

int64_t product(const std::vector<int64_t>& v, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= v[i];
  return p;
}

// numpy.matmul geometry of shapes a and b as one GemmProblem; nullopt for batch broadcasts other than
// "B has no batch", "equal batch dims" and "A has no batch".
std::optional<GemmProblem> matMulProblem(std::vector<int64_t> a, std::vector<int64_t> b) {
  if (a.empty() || b.empty()) return std::nullopt;
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  GemmProblem p;
  p.m = a[a.size() - 2];
  p.k = a.back();
  p.n = b.back();
  if (b[b.size() - 2] != p.k) return std::nullopt;
  const int64_t batchA = product(a, 0, a.size() - 2);
  const int64_t batchB = product(b, 0, b.size() - 2);
  if (batchB == 1) {
    p.m *= batchA;  // A's rows of every batch matrix are consecutive: one [batch * M, K] matrix
    return p;
  }
  std::vector<int64_t> da(a.begin(), a.end() - 2);
  std::vector<int64_t> db(b.begin(), b.end() - 2);
  while (!da.empty() && da.front() == 1) da.erase(da.begin());
  while (!db.empty() && db.front() == 1) db.erase(db.begin());
  if (batchA == 1) {
    p.batch = batchB;
    p.strideA = 0;
    p.strideB = p.k * p.n;
    return p;
  }
  if (da != db) return std::nullopt;
  p.batch = batchA;
  p.strideA = p.m * p.k;
  p.strideB = p.k * p.n;
  return p;
}

// Gemm's geometry for static shapes a, b and (when present) c; nullopt for what the kernel does not handle.
std::optional<GemmProblem> gemmProblem(const ir::AttributeMap& attrs, const std::vector<int64_t>& a,
                                       const std::vector<int64_t>& b, const std::vector<int64_t>* c) {
  if (a.size() != 2 || b.size() != 2) return std::nullopt;
  GemmProblem p;
  p.transA = attrs.getInt("transA", 0) != 0;
  p.transB = attrs.getInt("transB", 0) != 0;
  p.m = a[p.transA ? 1 : 0];
  p.k = a[p.transA ? 0 : 1];
  p.n = b[p.transB ? 0 : 1];
  if (b[p.transB ? 1 : 0] != p.k) return std::nullopt;
  p.alpha = attrs.getFloat("alpha", 1.0f);
  p.beta = attrs.getFloat("beta", 1.0f);
  if (c == nullptr || p.beta == 0.0f) return p;
  if (*c == std::vector<int64_t>{p.m, p.n}) {
    p.c = GemmProblem::C::kMatrix;
  } else if ((*c == std::vector<int64_t>{p.n} || *c == std::vector<int64_t>{1, p.n}) && p.beta == 1.0f) {
    p.bias = true;
  } else {
    return std::nullopt;
  }
  return p;
}

bool supportsMatMul(const ir::Node& /*node*/, const std::vector<ir::Shape>& shapes) {
  const auto a = staticSizes(shapes, 0);
  const auto b = staticSizes(shapes, 1);
  if (!a || !b) return false;
  const auto p = matMulProblem(*a, *b);
  return p.has_value() && p->k > 0 && p->batch <= 0x7fffffff;
}

bool supportsGemm(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto a = staticSizes(shapes, 0);
  const auto b = staticSizes(shapes, 1);
  if (!a || !b) return false;
  std::optional<std::vector<int64_t>> c;
  if (node.input(2) != nullptr) {
    c = staticSizes(shapes, 2);
    if (!c) return false;
  }
  const auto p = gemmProblem(node.attributes, *a, *b, c ? &*c : nullptr);
  return p.has_value() && p->k > 0;
}

// A, B and Y all of `type`.
Status requireOperandTypes(const KernelContext& ctx, const Tensor& a, const Tensor& b, const Tensor& y,
                           DataType type) {
  if (a.type() == type && b.type() == type && y.type() == type) return {};
  return ctx.invalid("operands " + a.describe() + ", " + b.describe() + " and output " + y.describe() +
                     " are not all " + std::string(dataTypeName(type)));
}

template <Precision kPrecision, bool kGemm, int kHeuristic>
Status matMulKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Tensor& y = ctx.output(0);
  const DataType type = tensorTypeOf(kPrecision);
  LOWP_RETURN_IF_ERROR(requireOperandTypes(ctx, a, b, y, type));
  const Tensor* c = kGemm && ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  if (c != nullptr && c->type() != type) return ctx.invalid("C " + c->describe() + " is not of A's type");
  const std::optional<GemmProblem> problem =
      kGemm ? gemmProblem(ctx.attrs(), a.shape(), b.shape(), c != nullptr ? &c->shape() : nullptr)
            : matMulProblem(a.shape(), b.shape());
  if (!problem)
    return ctx.unsupported("no cuBLASLt product of " + a.describe() + " and " + b.describe() +
                           (c != nullptr ? " with C " + c->describe() : std::string()));
  if (problem->batch * problem->m * problem->n != y.elementCount())
    return ctx.invalid("output " + y.describe() + " does not hold the product of " + a.describe() + " and " +
                       b.describe());
  if (y.elementCount() == 0) return {};
  if (problem->k == 0) return ctx.unsupported("a product over an empty dimension");
  const void* cPtr = problem->c == GemmProblem::C::kMatrix ? c->data() : nullptr;
  const void* biasPtr = problem->bias ? c->data() : nullptr;
  const std::array<uint32_t, 4> alignments = {alignmentOf(b.data()), alignmentOf(a.data()),
                                              alignmentOf(cPtr != nullptr ? cPtr : y.data()),
                                              alignmentOf(y.data())};
  auto plan = std::static_pointer_cast<LtPlan>(ctx.state());
  if (!plan || !plan->fits(ltTypesOf(kPrecision), *problem, alignments, cuda->workspaceBytes)) {
    plan = std::make_shared<LtPlan>();
    LOWP_RETURN_IF_ERROR(
        forNode(ctx, plan->create(cuda->cublasLt, ltTypesOf(kPrecision), *problem, alignments,
                                  cuda->workspaceBytes, kHeuristic, cuda->exactTactics)));
    ctx.state() = plan;
  }
  LOWP_RETURN_IF_ERROR(forNode(ctx, plan->run(*cuda, a.data(), b.data(), cPtr, biasPtr, y.data())));
  return {};
}

// FusedMatMul's product: A [..., M, K] with its leading dims folded into M, B [K, N]; nullopt otherwise.
std::optional<GemmProblem> fusedMatMulProblem(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() < 2 || b.size() != 2 || a.back() != b[0]) return std::nullopt;
  GemmProblem p;
  p.m = product(a, 0, a.size() - 1);
  p.k = a.back();
  p.n = b[1];
  return p;
}

bool supportsFusedMatMul(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto a = staticSizes(shapes, 0);
  const auto b = staticSizes(shapes, 1);
  if (!a || !b || !ir::ops::readActivation(node.attributes).isOk()) return false;
  const auto p = fusedMatMulProblem(*a, *b);
  if (!p || p->k == 0) return false;
  if (node.input(2) == nullptr) return true;
  const auto bias = staticSizes(shapes, 2);
  return bias.has_value() && product(*bias, 0, bias->size()) == p->n;
}

bool supportsFusedMatMulErfGeluAsTanh(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto activation = ir::ops::readActivation(node.attributes);
  return activation.isOk() && isErfGelu(*activation) && supportsFusedMatMul(node, shapes);
}

template <Precision kPrecision, int kHeuristic, bool kErfGeluAsTanh>
Status fusedMatMulKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Tensor& y = ctx.output(0);
  const DataType type = tensorTypeOf(kPrecision);
  LOWP_RETURN_IF_ERROR(requireOperandTypes(ctx, a, b, y, type));
  auto activation = ir::ops::readActivation(ctx.attrs());
  if (!activation) return ctx.invalid(activation.status().message());
  std::optional<GemmProblem> problem = fusedMatMulProblem(a.shape(), b.shape());
  if (!problem)
    return ctx.unsupported("no cuBLASLt product of " + a.describe() + " and " + b.describe() +
                           " (A of rank >= 2 by a 2-D B)");
  if (problem->m * problem->n != y.elementCount() || y.rank() == 0 || y.shape().back() != problem->n)
    return ctx.invalid("output " + y.describe() + " does not hold the product of " + a.describe() + " and " +
                       b.describe());
  const Tensor* bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  if (bias != nullptr &&
      (bias->elementCount() != problem->n || (bias->type() != type && bias->type() != DataType::kFloat32)))
    return ctx.invalid("bias " + bias->describe() + " is not one value per column of the output " +
                       y.describe());
  if (y.elementCount() == 0) return {};
  if (problem->k == 0) return ctx.unsupported("a product over an empty dimension");
  if (kErfGeluAsTanh && !isErfGelu(*activation))
    return ctx.unsupported("the -gelutanh tactics are for the erf GELU");
  const EpilogueSplit split =
      splitEpilogue(*activation, bias != nullptr, bias != nullptr && bias->type() == type, kErfGeluAsTanh);
  problem->bias = split.biasInProduct;
  problem->activation = split.activationInProduct;
  const std::array<uint32_t, 4> alignments = {alignmentOf(b.data()), alignmentOf(a.data()),
                                              alignmentOf(y.data()), alignmentOf(y.data())};
  auto plan = std::static_pointer_cast<LtPlan>(ctx.state());
  if (!plan || !plan->fits(ltTypesOf(kPrecision), *problem, alignments, cuda->workspaceBytes)) {
    plan = std::make_shared<LtPlan>();
    LOWP_RETURN_IF_ERROR(
        forNode(ctx, plan->create(cuda->cublasLt, ltTypesOf(kPrecision), *problem, alignments,
                                  cuda->workspaceBytes, kHeuristic, cuda->exactTactics)));
    ctx.state() = plan;
  }
  LOWP_RETURN_IF_ERROR(forNode(ctx, plan->run(*cuda, a.data(), b.data(), nullptr,
                                              split.biasInProduct ? bias->data() : nullptr, y.data())));
  if (!split.passAfter) return {};
  // y is [M, N]: a channels-last tensor of N channels over M positions for the epilogue.
  Epilogue e = activationEpilogue(*activation, split.activationInProduct != GemmProblem::Activation::kNone);
  if (bias != nullptr && !split.biasInProduct) {
    e.bias = bias->data();
    e.biasType = Elem::kF32;
  }
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchConvEpilogue(*elemOf(type), y.data(), 1, problem->n, problem->m,
                                                         /*hwc=*/true, e, cuda->stream));
  return {};
}

// The GEMM of a 1x1 convolution of x [N, C, H, W] (stored NHWC) by w [M, C, 1, 1], with a bias of the
// tensors' type and, for FusedConv, a residual and Relu; nullopt where the kernel does not apply.
std::optional<GemmProblem> conv1x1Problem(const ir::AttributeMap& attrs, const std::vector<int64_t>& x,
                                          const std::vector<int64_t>& w) {
  if (x.size() != 4 || w.size() != 4 || w[2] != 1 || w[3] != 1 || w[1] != x[1] ||
      attrs.getInt("group", 1) != 1)
    return std::nullopt;
  for (const char* name : {"strides", "dilations"}) {
    if (attrs.has(name)) {
      for (int64_t v : attrs.getInts(name)) {
        if (v != 1) return std::nullopt;
      }
    }
  }
  if (attrs.has("pads")) {
    for (int64_t v : attrs.getInts("pads")) {
      if (v != 0) return std::nullopt;
    }
  }
  const std::string autoPad = attrs.getString("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return std::nullopt;
  GemmProblem p;
  p.m = x[0] * x[2] * x[3];
  p.k = x[1];
  p.n = w[0];
  p.transB = true;  // w is [M, C]: ONNX's B stored [N, K]
  return p;
}

bool supportsConv1x1(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto x = staticSizes(shapes, 0);
  const auto w = staticSizes(shapes, 1);
  if (!x || !w || !conv1x1Problem(node.attributes, *x, *w).has_value() || (*x)[1] == 0) return false;
  return node.opType != "FusedConv" || ir::ops::readActivation(node.attributes).isOk();
}

template <Precision kPrecision, bool kFused, int kHeuristic>
Status conv1x1Kernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const DataType type = tensorTypeOf(kPrecision);
  LOWP_ASSIGN_OR_RETURN(const ConvOperands operands, convOperands(ctx, type, kFused));
  const Tensor& x = *operands.x;
  const Tensor& w = *operands.w;
  Tensor& y = *operands.y;
  const Tensor* bias = operands.bias;
  const Tensor* residual = operands.residual;
  const ir::ops::ActivationSpec& activation = operands.activation;
  std::optional<GemmProblem> problem = conv1x1Problem(ctx.attrs(), x.shape(), w.shape());
  if (!problem) return ctx.unsupported("not a 1x1 convolution with stride 1, no padding and one group");
  if (y.shape() != std::vector<int64_t>{x.shape()[0], w.shape()[0], x.shape()[2], x.shape()[3]})
    return ctx.invalid("output " + y.describe() + " is not the convolution's");
  // cuBLASLt's bias has the product's type.
  if (bias != nullptr && bias->type() != type)
    return ctx.unsupported("bias " + bias->describe() + " is not " + std::string(dataTypeName(type)));
  if (y.elementCount() == 0) return {};
  if (residual != nullptr) {
    problem->c = GemmProblem::C::kMatrix;
    problem->beta = 1.0f;
  }
  // cuBLASLt's epilogue adds the bias and applies the activation it has to alpha A B + beta C, the
  // residual included; another activation takes one pass after the product.
  const EpilogueSplit split = splitEpilogue(activation, bias != nullptr, true, false);
  problem->bias = split.biasInProduct;
  problem->activation = split.activationInProduct;
  const std::array<uint32_t, 4> alignments = {alignmentOf(w.data()), alignmentOf(x.data()),
                                              alignmentOf(residual != nullptr ? residual->data() : y.data()),
                                              alignmentOf(y.data())};
  auto plan = std::static_pointer_cast<LtPlan>(ctx.state());
  if (!plan || !plan->fits(ltTypesOf(kPrecision), *problem, alignments, cuda->workspaceBytes)) {
    plan = std::make_shared<LtPlan>();
    LOWP_RETURN_IF_ERROR(
        forNode(ctx, plan->create(cuda->cublasLt, ltTypesOf(kPrecision), *problem, alignments,
                                  cuda->workspaceBytes, kHeuristic, cuda->exactTactics)));
    ctx.state() = plan;
  }
  LOWP_RETURN_IF_ERROR(
      forNode(ctx, plan->run(*cuda, x.data(), w.data(), residual != nullptr ? residual->data() : nullptr,
                             bias != nullptr ? bias->data() : nullptr, y.data())));
  if (!split.passAfter) return {};
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchConvEpilogue(*elemOf(type), y.data(), 1, problem->n, problem->m,
                              /*hwc=*/true, epilogueOf(operands, type, false), cuda->stream));
  return {};
}

template <Precision kPrecision, int kHeuristic>
void registerTactic(KernelRegistry& registry, std::string_view dtype) {
  const TypeSet types = {tensorTypeOf(kPrecision)};
  const std::string suffix = "-cublaslt-h" + std::to_string(kHeuristic);
  registry.add({.opType = "MatMul",
                .backend = Backend::kCuda,
                .name = keepName(std::string(dtype) + "-matmul" + suffix),
                .inputTypes = {types},
                .outputTypes = {types},
                .fn = &matMulKernel<kPrecision, false, kHeuristic>,
                .supports = &supportsMatMul,
                .reference = false});
  registry.add({.opType = "Gemm",
                .backend = Backend::kCuda,
                .name = keepName(std::string(dtype) + "-gemm" + suffix),
                .inputTypes = {types},
                .outputTypes = {types},
                .fn = &matMulKernel<kPrecision, true, kHeuristic>,
                .supports = &supportsGemm,
                .reference = false});
  // The -gelutanh tactics take a bias of the tensors' type only: an fp32 one goes with the activation into
  // the pass after the product, where the GELU is exact (the plain tactics cover that).
  auto addFusedMatMul = [&](const std::string& name, KernelFn fn, SupportsFn supports,
                            std::string_view approximation) {
    const TypeSet biasTypes = approximation.empty() ? TypeSet{tensorTypeOf(kPrecision), DataType::kFloat32}
                                                    : TypeSet{tensorTypeOf(kPrecision)};
    registry.add({.opType = "FusedMatMul",
                  .backend = Backend::kCuda,
                  .name = keepName(name),
                  .inputTypes = {types, types, biasTypes},
                  .outputTypes = {types},
                  .fn = fn,
                  .domain = ir::ops::kLowpDomain,
                  .supports = supports,
                  .reference = false,
                  .approximation = approximation});
  };
  addFusedMatMul(std::string(dtype) + "-fusedmatmul" + suffix,
                 &fusedMatMulKernel<kPrecision, kHeuristic, false>, &supportsFusedMatMul, "");
  if constexpr (kPrecision == Precision::kF16 || kPrecision == Precision::kBf16) {
    addFusedMatMul(std::string(dtype) + "-fusedmatmul-cublaslt-gelutanh-h" + std::to_string(kHeuristic),
                   &fusedMatMulKernel<kPrecision, kHeuristic, true>, &supportsFusedMatMulErfGeluAsTanh,
                   kErfGeluAsTanhApproximation);
  }
  const std::vector<TensorFormat> convIn = {TensorFormat::kHwc, TensorFormat::kLinear, TensorFormat::kLinear,
                                            TensorFormat::kHwc};
  registry.add({.opType = "Conv",
                .backend = Backend::kCuda,
                .name = keepName(std::string(dtype) + "-conv-1x1" + suffix + "-hwc"),
                .inputTypes = {types},
                .outputTypes = {types},
                .fn = &conv1x1Kernel<kPrecision, false, kHeuristic>,
                .inputFormats = convIn,
                .outputFormats = {TensorFormat::kHwc},
                .supports = &supportsConv1x1,
                .reference = false});
  registry.add({.opType = "FusedConv",
                .backend = Backend::kCuda,
                .name = keepName(std::string(dtype) + "-fusedconv-1x1" + suffix + "-hwc"),
                .inputTypes = {types},
                .outputTypes = {types},
                .fn = &conv1x1Kernel<kPrecision, true, kHeuristic>,
                .inputFormats = convIn,
                .outputFormats = {TensorFormat::kHwc},
                .domain = ir::ops::kLowpDomain,
                .supports = &supportsConv1x1,
                .reference = false});
}

template <Precision kPrecision, int... kHeuristics>
void registerPrecision(KernelRegistry& registry, std::string_view dtype,
                       std::integer_sequence<int, kHeuristics...> /*heuristics*/) {
  (registerTactic<kPrecision, kHeuristics>(registry, dtype), ...);
}

template <Precision kPrecision>
void registerPrecision(KernelRegistry& registry, std::string_view dtype) {
  registerPrecision<kPrecision>(registry, dtype, std::make_integer_sequence<int, kHeuristicResults>());
}

}  // namespace

void registerMatMulKernels(KernelRegistry& registry) {
  registerPrecision<Precision::kF32>(registry, "f32");
  registerPrecision<Precision::kTf32>(registry, "tf32");
  registerPrecision<Precision::kF16>(registry, "f16");
  registerPrecision<Precision::kBf16>(registry, "bf16");
}

}  // namespace lowp::kernels::cuda
