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

// One GEMM (or a strided batch of them) in ONNX's row-major terms.
struct GemmProblem {
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;
  int64_t strideA = 0, strideB = 0;  ///< Elements between batch matrices; 0: shared by the batch.
  bool transA = false, transB = false;
  float alpha = 1.0f;
  float beta = 0.0f;
  enum class C { kNone, kMatrix } c = C::kNone;
  /// A row bias [N] added by cuBLASLt's epilogue, then Relu for kReluBias.
  enum class Bias { kNone, kBias, kReluBias } bias = Bias::kNone;

  bool operator==(const GemmProblem&) const = default;
};

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

  Status create(cublasLtHandle_t handle, Precision precision, const GemmProblem& p,
                const std::array<uint32_t, 4>& alignments, size_t workspaceBytes, int heuristic, bool exact) {
    problem_ = p;
    precision_ = precision;
    alignments_ = alignments;
    workspaceBytes_ = workspaceBytes;
    const cudaDataType_t type = cudaTypeOf(precision);
    LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmulDescCreate(&desc_, computeTypeOf(precision), CUDA_R_32F));
    // cuBLASLt's A is ONNX's B and its B is ONNX's A (see the file comment).
    const cublasOperation_t opLtA = p.transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t opLtB = p.transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    LOWP_CUDA_RETURN_IF_ERROR(
        cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &opLtA, sizeof(opLtA)));
    LOWP_CUDA_RETURN_IF_ERROR(
        cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &opLtB, sizeof(opLtB)));
    if (p.bias != GemmProblem::Bias::kNone) {
      const cublasLtEpilogue_t epilogue =
          p.bias == GemmProblem::Bias::kReluBias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
      LOWP_CUDA_RETURN_IF_ERROR(
          cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
    }
    // Stored shapes, column-major: ONNX B is [K, N] row-major (or [N, K] when transB).
    const uint64_t n = static_cast<uint64_t>(p.n);
    const uint64_t m = static_cast<uint64_t>(p.m);
    const uint64_t k = static_cast<uint64_t>(p.k);
    LOWP_RETURN_IF_ERROR(layout(0, type, p.transB ? k : n, p.transB ? n : k, p.strideB));
    LOWP_RETURN_IF_ERROR(layout(1, type, p.transA ? m : k, p.transA ? k : m, p.strideA));
    LOWP_RETURN_IF_ERROR(layout(2, type, n, m, p.m * p.n));  // C
    LOWP_RETURN_IF_ERROR(layout(3, type, n, m, p.m * p.n));  // D
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

  bool fits(Precision precision, const GemmProblem& p, const std::array<uint32_t, 4>& alignments,
            size_t workspaceBytes) const {
    return desc_ != nullptr && precision == precision_ && p == problem_ && alignments == alignments_ &&
           workspaceBytes == workspaceBytes_;
  }

  // D = alpha * A B + beta * C (+ bias), in ONNX's operands.
  Status run(const CudaContext& cuda, const void* a, const void* b, const void* c, const void* bias,
             void* d) {
    if (problem_.bias != GemmProblem::Bias::kNone) {
      LOWP_CUDA_RETURN_IF_ERROR(
          cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    }
    const float alpha = problem_.alpha;
    const float beta = problem_.c == GemmProblem::C::kMatrix ? problem_.beta : 0.0f;
    LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmul(cuda.cublasLt, desc_, &alpha, b, layouts_[0], a, layouts_[1],
                                             &beta, c != nullptr ? c : d, layouts_[2], d, layouts_[3], &algo_,
                                             cuda.workspace, workspaceBytes_, cuda.stream));
    return {};
  }

 private:
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
  Precision precision_ = Precision::kF32;
  std::array<uint32_t, 4> alignments_{};
  size_t workspaceBytes_ = 0;
  cublasLtMatmulDesc_t desc_ = nullptr;
  std::array<cublasLtMatrixLayout_t, 4> layouts_{};
  cublasLtMatmulPreference_t pref_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
};

}  // namespace lowp::kernels::cuda
