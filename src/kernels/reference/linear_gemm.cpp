// Blocked, auto-vectorised GEMM of the reference kernels; the contract is in linear_gemm.h.
//
// Blocking: k in panels of kPanel; within a panel, C in register tiles of MR rows x NR columns that
// accumulate the panel's k terms in order (acc = C, or 0 for the first panel; acc += a[i][k] * b[k][j]).
// Columns past the last full tile go through a zero-padded copy of B and C, so every tile is full width.
#include "kernels/reference/linear_gemm.h"

#include <array>

namespace lowp::kernels::ref {
namespace {

constexpr int64_t kPanel = 128;

// acc[MR][NR] (+)= A[MR x kc] * B[kc x NR]; `first` starts from zero instead of C.
template <typename T, int MR, int NR>
[[gnu::always_inline]] inline void tile(bool first, int64_t kc, const T* __restrict a, int64_t lda,
                                        const T* __restrict b, int64_t ldb, T* __restrict c, int64_t ldc) {
  T acc[MR][NR];
  for (int r = 0; r < MR; ++r) {
    for (int j = 0; j < NR; ++j) acc[r][j] = first ? T(0) : c[r * ldc + j];
  }
  for (int64_t kk = 0; kk < kc; ++kk) {
    const T* brow = b + kk * ldb;
    for (int r = 0; r < MR; ++r) {
      const T av = a[r * lda + kk];
      for (int j = 0; j < NR; ++j) acc[r][j] += av * brow[j];
    }
  }
  for (int r = 0; r < MR; ++r) {
    for (int j = 0; j < NR; ++j) c[r * ldc + j] = acc[r][j];
  }
}

// The rows of one column tile of one k panel: full MR-row tiles, then single rows.
template <typename T, int MR, int NR>
[[gnu::always_inline]] inline void columnTile(bool first, int64_t m, int64_t kc, const T* a, int64_t lda,
                                              const T* b, int64_t ldb, T* c, int64_t ldc) {
  int64_t i = 0;
  for (; i + MR <= m; i += MR) tile<T, MR, NR>(first, kc, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
  for (; i < m; ++i) tile<T, 1, NR>(first, kc, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
}

template <typename T, int MR, int NR>
[[gnu::always_inline]] inline void gemmTiled(int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
                                             const T* b, int64_t ldb, T* c, int64_t ldc) {
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = T(0);
    }
    return;
  }
  if (n * 4 < NR) {
    // Too narrow for a tile (matrix-vector products): plain dot products, in the same k order.
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        T sum = T(0);
        for (int64_t kk = 0; kk < k; ++kk) sum += a[i * lda + kk] * b[kk * ldb + j];
        c[i * ldc + j] = sum;
      }
    }
    return;
  }
  const int64_t fullCols = n - n % NR;
  std::array<T, kPanel * NR> bTail;
  std::array<T, MR * NR> cTail;
  for (int64_t k0 = 0; k0 < k; k0 += kPanel) {
    const int64_t kc = std::min(kPanel, k - k0);
    const bool first = k0 == 0;
    const T* ap = a + k0;
    const T* bp = b + k0 * ldb;
    for (int64_t j = 0; j < fullCols; j += NR)
      columnTile<T, MR, NR>(first, m, kc, ap, lda, bp + j, ldb, c + j, ldc);
    if (fullCols == n) continue;
    const int64_t width = n - fullCols;
    for (int64_t kk = 0; kk < kc; ++kk) {
      for (int64_t j = 0; j < NR; ++j) bTail[kk * NR + j] = j < width ? bp[kk * ldb + fullCols + j] : T(0);
    }
    for (int64_t i0 = 0; i0 < m; i0 += MR) {
      const int64_t rows = std::min<int64_t>(MR, m - i0);
      T* ct = c + i0 * ldc + fullCols;
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < width; ++j) cTail[r * NR + j] = ct[r * ldc + j];
      }
      columnTile<T, MR, NR>(first, rows, kc, ap + i0 * lda, lda, bTail.data(), NR, cTail.data(), NR);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < width; ++j) ct[r * ldc + j] = cTail[r * NR + j];
      }
    }
  }
}

}  // namespace

// One clone per ISA: the arithmetic is the same scalar-order sum in each, only the vector width differs.
[[gnu::target_clones("avx2", "default")]] void gemm(int64_t m, int64_t n, int64_t k, const float* a,
                                                    int64_t lda, const float* b, int64_t ldb, float* c,
                                                    int64_t ldc) {
  gemmTiled<float, 4, 32>(m, n, k, a, lda, b, ldb, c, ldc);
}

[[gnu::target_clones("avx2", "default")]] void gemm(int64_t m, int64_t n, int64_t k, const double* a,
                                                    int64_t lda, const double* b, int64_t ldb, double* c,
                                                    int64_t ldc) {
  gemmTiled<double, 4, 16>(m, n, k, a, lda, b, ldb, c, ldc);
}

[[gnu::target_clones("avx2", "default")]] void gemm(int64_t m, int64_t n, int64_t k, const uint32_t* a,
                                                    int64_t lda, const uint32_t* b, int64_t ldb, uint32_t* c,
                                                    int64_t ldc) {
  gemmTiled<uint32_t, 4, 32>(m, n, k, a, lda, b, ldb, c, ldc);
}

void gemm(int64_t m, int64_t n, int64_t k, const uint64_t* a, int64_t lda, const uint64_t* b, int64_t ldb,
          uint64_t* c, int64_t ldc) {
  gemmTiled<uint64_t, 4, 8>(m, n, k, a, lda, b, ldb, c, ldc);
}

}  // namespace lowp::kernels::ref
