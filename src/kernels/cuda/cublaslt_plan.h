// A cuBLASLt matrix product (or strided batch of them) in ONNX's row-major terms, with its descriptors and
// the algorithm cuBLASLt's heuristic ranks N-th: what the MatMul, Gemm, FusedMatMul and 1x1-convolution
// kernels (matmul.cpp) and the composed attention (attention.cpp) run.
//
// Layout: lowp's tensors are row-major; cuBLASLt's matrices column-major. A row-major [M, K] x [K, N]
// product is the column-major [N, K] x [K, M] product of the same memory, so cuBLASLt multiplies B by A
// ("A" and "B" are ONNX's) and writes the column-major [N, M] matrix that is row-major Y.
#pragma once

#include <cublasLt.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {

inline constexpr int kHeuristicResults = 8;

inline cudaDataType_t cudaTypeOf(Precision p) {
  switch (p) {
    case Precision::kF16:
      return CUDA_R_16F;
    case Precision::kBf16:
      return CUDA_R_16BF;
    default:
      return CUDA_R_32F;
  }
}

inline cublasComputeType_t computeTypeOf(Precision p) {
  return p == Precision::kTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

// The element types and arithmetic of one product.
struct LtTypes {
  cudaDataType_t operands = CUDA_R_32F;  ///< A and B
  cudaDataType_t result = CUDA_R_32F;    ///< C, the bias, and D unless `output` says otherwise
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  cudaDataType_t scale = CUDA_R_32F;  ///< of alpha and beta
  /// D's type where it is not `result`'s: float8e4m3fn, written scaled by GemmProblem::dScale.
  std::optional<cudaDataType_t> output;

  bool operator==(const LtTypes&) const = default;
};

inline LtTypes ltTypesOf(Precision p) {
  return {cudaTypeOf(p), cudaTypeOf(p), computeTypeOf(p), CUDA_R_32F};
}

/// int8 operands, the products summed exactly in int32 (alpha 1, beta 0): int8 tensor cores, which take A
/// with K contiguous ("TN": ONNX's B transposed, ONNX's A as it is).
inline constexpr LtTypes kInt8Types = {CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I, CUDA_R_32I};

/// float8e4m3fn operands ("TN", as int8), the products summed in fp32 and written as `result` (fp32, fp16 or
/// bf16), alpha in fp32: the fp8 tensor cores of sm_89 and later.
inline LtTypes fp8LtTypes(Precision result) {
  return {CUDA_R_8F_E4M3, cudaTypeOf(result), CUBLAS_COMPUTE_32F, CUDA_R_32F};
}

/// fp8 operands and a float8e4m3fn D: the fp32 sums (bias and activation applied) times *dScale, rounded to
/// E4M3 with saturation; C and the bias fp16.
inline constexpr LtTypes kFp8OutputTypes = {CUDA_R_8F_E4M3, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F,
                                            CUDA_R_8F_E4M3};

// One GEMM (or a strided batch of them) in ONNX's row-major terms.
struct GemmProblem {
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;
  int64_t strideA = 0, strideB = 0;  ///< Elements between batch matrices; 0: shared by the batch.
  bool transA = false, transB = false;
  float alpha = 1.0f;
  float beta = 0.0f;
  enum class C { kNone, kMatrix } c = C::kNone;
  /// A row bias [N], of the result's type, added by cuBLASLt's epilogue (to alpha A B + beta C).
  bool bias = false;
  /// The activation cuBLASLt's epilogue applies after the bias. Its GELU is the tanh form
  /// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
  enum class Activation { kNone, kRelu, kGelu } activation = Activation::kNone;
  /// Device float that D is multiplied by before it is rounded to an fp8 output type (LtTypes::output).
  const float* dScale = nullptr;

  bool operator==(const GemmProblem&) const = default;
};

/// How a product's bias and activation divide between cuBLASLt's epilogue and one pass after the product
/// (conv_epilogue.cu).
struct EpilogueSplit {
  bool biasInProduct = false;
  GemmProblem::Activation activationInProduct = GemmProblem::Activation::kNone;
  bool passAfter = false;
};

/// What the -gelutanh tactics report as their approximation (KernelDef::approximation).
inline constexpr std::string_view kErfGeluAsTanhApproximation =
    "the erf GELU as the tanh form (at most 4.8e-4 apart)";

/// Whether `activation` is the exact (erf) GELU.
inline bool isErfGelu(const ir::ops::ActivationSpec& activation) {
  return activation.kind == ir::ops::FusedActivation::kGelu && activation.alpha != 1.0f;
}

/// The epilogue takes a bias of the result's type (`biasInResultType`) and, after it or where there is
/// no bias, Relu or the tanh GELU (activation_alpha 1). `erfGeluAsTanh` lets it take the erf GELU as the
/// tanh form too: the -gelutanh tactics of fp16 and bf16 products, where the two differ by at most
/// 4.8e-4 (at x = -2.70), under one fp16 ulp of results of magnitude 0.5 and up (README). The
/// pass takes the rest: a bias of another type, and any activation after it.
inline EpilogueSplit splitEpilogue(const ir::ops::ActivationSpec& activation, bool hasBias,
                                   bool biasInResultType, bool erfGeluAsTanh) {
  EpilogueSplit split;
  split.biasInProduct = hasBias && biasInResultType;
  const bool activationMayFollow = !hasBias || split.biasInProduct;
  if (activationMayFollow && activation.kind == ir::ops::FusedActivation::kRelu) {
    split.activationInProduct = GemmProblem::Activation::kRelu;
  } else if (activationMayFollow && activation.kind == ir::ops::FusedActivation::kGelu &&
             (activation.alpha == 1.0f || erfGeluAsTanh)) {
    split.activationInProduct = GemmProblem::Activation::kGelu;
  }
  split.passAfter =
      (hasBias && !split.biasInProduct) || (activation.kind != ir::ops::FusedActivation::kNone &&
                                            split.activationInProduct == GemmProblem::Activation::kNone);
  return split;
}

// Largest power of two (up to 256) dividing the address: what cuBLASLt's heuristic may assume.
inline uint32_t alignmentOf(const void* p) {
  uint32_t a = 256;
  while (a > 1 && reinterpret_cast<uintptr_t>(p) % a != 0) a /= 2;
  return a;
}

// The cuBLASLt objects of one problem, with the algorithm chosen.
class LtPlan {
 public:
  LtPlan() = default;
  LtPlan(const LtPlan&) = delete;
  LtPlan& operator=(const LtPlan&) = delete;
  ~LtPlan() {
    if (pref_ != nullptr) cublasLtMatmulPreferenceDestroy(pref_);
    for (cublasLtMatrixLayout_t l : layouts_) {
      if (l != nullptr) cublasLtMatrixLayoutDestroy(l);
    }
    if (desc_ != nullptr) cublasLtMatmulDescDestroy(desc_);
  }

  Status create(cublasLtHandle_t handle, const LtTypes& types, const GemmProblem& p,
                const std::array<uint32_t, 4>& alignments, size_t workspaceBytes, int heuristic, bool exact) {
    problem_ = p;
    types_ = types;
    alignments_ = alignments;
    workspaceBytes_ = workspaceBytes;
    if (types.scale == CUDA_R_32I && (p.alpha != 1.0f || p.c != GemmProblem::C::kNone))
      return Status(StatusCode::kInvalidArgument, "an integer product takes alpha 1 and no C");
    LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmulDescCreate(&desc_, types.compute, types.scale));
    // cuBLASLt's A is ONNX's B and its B is ONNX's A (see the file comment).
    const cublasOperation_t opLtA = p.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t opLtB = p.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    LOWP_CUDA_RETURN_IF_ERROR(
        cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &opLtA, sizeof(opLtA)));
    LOWP_CUDA_RETURN_IF_ERROR(
        cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &opLtB, sizeof(opLtB)));
    if (p.dScale != nullptr) {
      LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_D_SCALE_POINTER,
                                                               &p.dScale, sizeof(p.dScale)));
    }
    if (types.output && p.bias) {  // the bias has C's type, not the fp8 D's
      LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                                               &types.result, sizeof(types.result)));
    }
    const cublasLtEpilogue_t epilogue = epilogueOf(p);
    if (epilogue != CUBLASLT_EPILOGUE_DEFAULT) {
      LOWP_CUDA_RETURN_IF_ERROR(
          cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
    }
    // Stored shapes, column-major: ONNX B is [K, N] row-major (or [N, K] when transB).
    const uint64_t n = static_cast<uint64_t>(p.n);
    const uint64_t m = static_cast<uint64_t>(p.m);
    const uint64_t k = static_cast<uint64_t>(p.k);
    LOWP_RETURN_IF_ERROR(layout(0, types.operands, p.transB ? k : n, p.transB ? n : k, p.strideB));
    LOWP_RETURN_IF_ERROR(layout(1, types.operands, p.transA ? m : k, p.transA ? k : m, p.strideA));
    LOWP_RETURN_IF_ERROR(layout(2, types.result, n, m, p.m * p.n));                         // C
    LOWP_RETURN_IF_ERROR(layout(3, types.output.value_or(types.result), n, m, p.m * p.n));  // D
    LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmulPreferenceCreate(&pref_));
    const uint64_t ws = workspaceBytes;
    LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmulPreferenceSetAttribute(
        pref_, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    const cublasLtMatmulPreferenceAttributes_t alignAttrs[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (size_t i = 0; i < 4; ++i) {
      LOWP_CUDA_RETURN_IF_ERROR(
          cublasLtMatmulPreferenceSetAttribute(pref_, alignAttrs[i], &alignments[i], sizeof(uint32_t)));
    }
    std::array<cublasLtMatmulHeuristicResult_t, kHeuristicResults> results{};
    int found = 0;
    LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmulAlgoGetHeuristic(handle, desc_, layouts_[0], layouts_[1],
                                                             layouts_[2], layouts_[3], pref_,
                                                             kHeuristicResults, results.data(), &found));
    if (found > 0 && found <= heuristic && !exact) heuristic = 0;
    if (found <= heuristic)
      return Status(StatusCode::kUnsupported, "cuBLASLt offers " + std::to_string(found) +
                                                  " algorithms for this product, not " +
                                                  std::to_string(heuristic + 1));
    algo_ = results[static_cast<size_t>(heuristic)].algo;
    return {};
  }

  bool fits(const LtTypes& types, const GemmProblem& p, const std::array<uint32_t, 4>& alignments,
            size_t workspaceBytes) const {
    return desc_ != nullptr && types == types_ && p == problem_ && alignments == alignments_ &&
           workspaceBytes == workspaceBytes_;
  }

  // D = alpha * A B + beta * C (+ bias), in ONNX's operands.
  Status run(const CudaContext& cuda, const void* a, const void* b, const void* c, const void* bias,
             void* d) {
    if (problem_.bias) {
      LOWP_CUDA_RETURN_IF_ERROR(
          cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    }
    const float alpha = problem_.alpha;
    const float beta = problem_.c == GemmProblem::C::kMatrix ? problem_.beta : 0.0f;
    const int32_t integerAlpha = 1;
    const int32_t integerBeta = 0;
    const bool integer = types_.scale == CUDA_R_32I;
    LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmul(
        cuda.cublasLt, desc_, integer ? static_cast<const void*>(&integerAlpha) : &alpha, b, layouts_[0], a,
        layouts_[1], integer ? static_cast<const void*>(&integerBeta) : &beta,
        // Without C, D serves (beta is 0), unless D has another type than C: cuBLASLt refuses C == D then.
        c != nullptr || types_.output ? c : d, layouts_[2], d, layouts_[3], &algo_, cuda.workspace,
        workspaceBytes_, cuda.stream));
    return {};
  }

 private:
  static cublasLtEpilogue_t epilogueOf(const GemmProblem& p) {
    switch (p.activation) {
      case GemmProblem::Activation::kRelu:
        return p.bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
      case GemmProblem::Activation::kGelu:
        return p.bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
      case GemmProblem::Activation::kNone:
        break;
    }
    return p.bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
  }

  Status layout(size_t i, cudaDataType_t type, uint64_t rows, uint64_t cols, int64_t batchStride) {
    LOWP_CUDA_RETURN_IF_ERROR(
        cublasLtMatrixLayoutCreate(&layouts_[i], type, rows, cols, static_cast<int64_t>(rows)));
    if (problem_.batch > 1) {
      const int32_t count = static_cast<int32_t>(problem_.batch);
      LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatrixLayoutSetAttribute(
          layouts_[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
      LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatrixLayoutSetAttribute(
          layouts_[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &batchStride, sizeof(batchStride)));
    }
    return {};
  }

  GemmProblem problem_;
  LtTypes types_;
  std::array<uint32_t, 4> alignments_{};
  size_t workspaceBytes_ = 0;
  cublasLtMatmulDesc_t desc_ = nullptr;
  std::array<cublasLtMatrixLayout_t, 4> layouts_{};
  cublasLtMatmulPreference_t pref_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
};

}  // namespace lowp::kernels::cuda
