// The matrix product under the reference Conv, ConvTranspose, Gemm, MatMul and their integer forms.
//
// C[m x n] = A[m x k] * B[k x n], all row-major with leading dimensions (row strides) lda, ldb, ldc.
// Every C element is summed over k in ascending order starting from zero, in the element type itself
// (float for fp32, double for fp64, wrap-around modulo 2^32 / 2^64 for the unsigned types, which is also
// two's complement arithmetic for the signed ones). The result does not depend on the blocking, the thread
// split or the vector width, so this is an exact oracle for faster kernels that sum in the same order and
// a close one (a few ulp per k term) for those that do not.
//
// The loops are blocked for the caches (k in panels, a register tile of C held across a panel) and written
// for the compiler's auto-vectoriser; an AVX2 clone is selected at run time where the CPU has it. No FMA
// is used, so every clone rounds identically.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/kernel.h"

namespace lowp::kernels::ref {

/// Serial C = A * B (see the header comment). m, n or k may be zero; k == 0 writes zeros.
void gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
          int64_t ldc);
void gemm(int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b, int64_t ldb,
          double* c, int64_t ldc);
void gemm(int64_t m, int64_t n, int64_t k, const uint32_t* a, int64_t lda, const uint32_t* b, int64_t ldb,
          uint32_t* c, int64_t ldc);
void gemm(int64_t m, int64_t n, int64_t k, const uint64_t* a, int64_t lda, const uint64_t* b, int64_t ldb,
          uint64_t* c, int64_t ldc);

/// One product of a batch: operand and result pointers for gemm's arguments.
template <typename T>
struct GemmOperands {
  const T* a;
  const T* b;
  T* c;
};

/// Splits `count` products of equal shape into row and column blocks and runs them over ctx.parallelFor.
/// `operands(i)` gives the pointers of product i.
template <typename T, typename F>
void parallelGemm(const KernelContext& ctx, int64_t count, int64_t m, int64_t n, int64_t k, int64_t lda,
                  int64_t ldb, int64_t ldc, F&& operands) {
  // Blocks of about 64 rows x 256 columns keep the tasks coarse while still giving two cores work.
  constexpr int64_t kRowBlock = 64;
  constexpr int64_t kColBlock = 256;
  const int64_t rowBlocks = m == 0 ? 0 : (m + kRowBlock - 1) / kRowBlock;
  const int64_t colBlocks = n == 0 ? 0 : (n + kColBlock - 1) / kColBlock;
  const int64_t tasks = count * rowBlocks * colBlocks;
  const int64_t flopsPerTask = 2 * std::min(m, kRowBlock) * std::min(n, kColBlock) * (k > 0 ? k : 1);
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(flopsPerTask, 1));
  ctx.parallelFor(tasks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t item = t / (rowBlocks * colBlocks);
      const int64_t rb = (t / colBlocks) % rowBlocks;
      const int64_t cb = t % colBlocks;
      const int64_t r0 = rb * kRowBlock;
      const int64_t c0 = cb * kColBlock;
      GemmOperands<T> p = operands(item);
      gemm(std::min(kRowBlock, m - r0), std::min(kColBlock, n - c0), k, p.a + r0 * lda, lda, p.b + c0, ldb,
           p.c + r0 * ldc + c0, ldc);
    }
  });
}

}  // namespace lowp::kernels::ref
