// lowp.Attention on tensor cores in one pass over the keys (launchAttentionFlash, launch.h): the scores
// never leave registers.
//
// One block of kWarps warps per kRows query rows of one head; warp w owns rows 16w .. 16w + 15 (eight warps
// sharing each chunk of keys measured slower than four on BERT-base's heads). Each warp holds its Q rows as
// mma.sync A fragments (m16n8k16, fp32 accumulation) for the whole run, read with ldmatrix from the block's
// Q rows in shared memory. Keys come in chunks of kChunk: the block copies the chunk's K rows [kChunk][D] and
// V rows [kChunk][Dv] into shared memory, with cp.async into one of two buffers while the other chunk is used
// where the rows are contiguous and 16-byte aligned (Q's too), element by element otherwise. Each warp then
// computes its 16 x kChunk scores S = Q . Kt in registers (ldmatrix gives K's B fragments), scales them,
// adds the mask (its tile of the chunk copied into shared memory with K and V), and folds them into a running
// softmax per row (the row maximum m, the sum l of exp(s - m), the output O rescaled by exp(m_old - m_new)
// when m grows); a whole chunk every row sees, without softcap, skips the per-key checks. exp(s - m) is
// rounded to T and multiplied by V from shared memory (ldmatrix.trans gives V's B fragments); O = sum / l is
// rounded once to T at the end and leaves through the warp's shared rows in 16-byte stores where Y's rows are
// contiguous. Keys past Sk score -inf; query rows past Sq are not stored, and a warp with none of its rows
// below Sq only copies. A row whose every score is -inf gives 0 / 0 = NaN, as the unfused Softmax does. Few
// rows (a generated token's) make few blocks: the keys are then split between `splits` blocks per tile, each
// leaving its rows' unnormalised output, maximum and sum in fp32 (FlashSplit), and a second kernel merges the
// splits' rows, rescaled to the largest maximum, into Y.
//
// Rounding differs from the reference by P: the unnormalised exp(s - m) is rounded to T before P . V (the
// unfused graph rounds the normalised P), within the tolerance of the tests. Operands are read, and Y
// written, through their strides (AttentionStrides). D = Dv in {32, 64, 128}; any Sq and Sk.
// Tests: tests/gpu/test_attention.cpp, against the CPU reference kernel.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/attention_common.cuh"
#include "kernels/cuda/device_util.cuh"
#include "kernels/cuda/tensor_core.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kRows = 16 * kWarps;
constexpr int kChunk = 64;
constexpr int kMaskLd = kChunk + 8;  // a mask tile's rows in shared memory

template <typename T>
__device__ __forceinline__ uint32_t pack(float lo, float hi);
template <>
__device__ __forceinline__ uint32_t pack<__half>(float lo, float hi) {
  const __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&h);
}
template <>
__device__ __forceinline__ uint32_t pack<__nv_bfloat16>(float lo, float hi) {
  const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&h);
}

/// d += a . b for one m16n8k16 tile (fp32 accumulators).
template <typename T>
__device__ __forceinline__ void mma16816(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  if constexpr (std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

/// Starts copying `count` rows of kCols elements (rows contiguous and 16-byte aligned) into shared memory
/// rows kLd apart, 16 bytes per cp.async; rows past `valid` are zero-filled. The copies land once the
/// group they are committed in is waited for.
template <typename T, int kCols, int kLd>
__device__ __forceinline__ void copyRowsAsync(T* dst, const T* src, int64_t rowStride, int count, int valid) {
  constexpr int kVectors = kCols / 8;
  for (int idx = threadIdx.x; idx < count * kVectors; idx += blockDim.x) {
    const int r = idx / kVectors;
    const int c = idx % kVectors * 8;
    copyAsync16(dst + r * kLd + c, src + (r < valid ? r * rowStride + c : 0), r < valid);
  }
}

/// Copies `count` rows of kCols elements into shared memory rows kLd apart, element by element through the
/// strides (rows that are not contiguous or not aligned); rows past `valid` are zeros.
template <typename T, int kCols, int kLd>
__device__ __forceinline__ void loadRows(T* dst, const T* src, int64_t rowStride, int64_t colStride,
                                         int count, int valid) {
  for (int idx = threadIdx.x; idx < count * kCols; idx += blockDim.x) {
    const int r = idx / kCols;
    const int c = idx % kCols;
    dst[r * kLd + c] = r < valid ? src[r * rowStride + c * colStride] : fromFloat<T>(0.0f);
  }
}

/// Where the blocks of a split tile leave their rows: split p's row r of head h at index (p * heads + h) * sq
/// + r of `maxSum` (two floats: the row's maximum in log2 units and its sum) and, times Dv, of `o`. One
/// split (the default) writes Y directly.
struct FlashSplit {
  int splits = 1;
  float* o = nullptr;
  float2* maxSum = nullptr;
};

template <typename T, int kD>
__global__ void __launch_bounds__(kWarps * 32, kD <= 64 ? 4 : 1)
    flashAttentionKernel(const T* __restrict__ q, const T* __restrict__ kt, const T* __restrict__ v,
                         T* __restrict__ y, AttentionShape s, int64_t tilesPerHead, FlashSplit split) {
  constexpr int kLd = kD + 8;  // shared rows padded so that a fragment's rows fall in different banks
  // Two buffers of K and V chunks (the next chunk's copies run while the current one is used), then the
  // block's Q rows, which later stage its Y rows, then (with a mask) two buffers of the mask's tile of the
  // chunk: one row where the mask is the same for every query row (a padding mask), else kRows.
  extern __shared__ __align__(16) unsigned char flashSmem[];
  T* buffers = reinterpret_cast<T*>(flashSmem);
  T* rows = buffers + 2 * 2 * kChunk * kLd;
  T* maskTiles = rows + kRows * kLd;
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const int quad = lane / 4;  // the fragment row (and B column) this lane holds
  const int pair = lane % 4;  // which pair of columns (A) or rows (B)
  const int part = static_cast<int>(blockIdx.x % static_cast<unsigned>(split.splits));
  const int64_t tileIndex = blockIdx.x / static_cast<unsigned>(split.splits);
  const int64_t h = tileIndex / tilesPerHead;
  const int64_t blockRow0 = tileIndex % tilesPerHead * kRows;
  const int64_t row0 = blockRow0 + warp * 16;
  const int blockRows = s.sq - blockRow0 < kRows ? static_cast<int>(s.sq - blockRow0) : kRows;
  const T* qHead = q + attentionHeadOffset(s, s.q.lead, h);
  const T* kHead = kt + attentionHeadOffset(s, s.kt.lead, h);
  const T* vHead = v + attentionHeadOffset(s, s.v.lead, h);
  T* warpRows = rows + warp * 16 * kLd;  // this warp's 16 rows of Q, then of Y
  // ldmatrix's row for this lane: row lane % 8 of matrix lane / 8, whose rows start 8 further for matrices
  // 1 and 3 (A fragments) and whose columns start 8 further from one matrix to the next (B fragments).
  const int aRow = (lane / 8 % 2) * 8 + lane % 8;
  const int aCol = (lane / 16) * 8;

  // K's rows are contiguous where Kt's stride along D is 1; otherwise each element is gathered.
  const int64_t kRowStride = s.kt.col;
  const int64_t kColStride = s.kt.row;
  const bool async = s.vectorKt && s.vectorV;
  // Chunk i's K and V: buffer i % 2 (one buffer where rows are gathered element by element).
  auto keysOf = [&](int64_t i) { return buffers + (async ? i % 2 : 0) * 2 * kChunk * kLd; };
  auto maskTileOf = [&](int64_t i) { return maskTiles + (async ? i % 2 : 0) * kRows * kMaskLd; };
  const T* mask = static_cast<const T*>(s.mask);
  const int64_t maskHead = mask != nullptr ? attentionHeadOffset(s, s.maskLeadStride, h) : 0;
  const int maskRows = s.maskRowStride == 0 ? 1 : kRows;
  // The mask's tile of chunk i: with cp.async where its rows are contiguous and aligned and the chunk is
  // whole (`copies`), else element by element. Rows past Sq and keys past Sk read nothing: they are masked.
  auto stageMask = [&](int64_t i, bool copies) {
    const int64_t c = i * kChunk;
    const int valid = s.sk - c < kChunk ? static_cast<int>(s.sk - c) : kChunk;
    T* tile = maskTileOf(i);
    if (copies && s.vectorMask && valid == kChunk) {
      constexpr int kVectors = kChunk / 8;
      for (int idx = threadIdx.x; idx < maskRows * kVectors; idx += blockDim.x) {
        const int r = idx / kVectors;
        const int col = idx % kVectors * 8;
        const bool inside = blockRow0 + r < s.sq;
        copyAsync16(tile + r * kMaskLd + col,
                    mask + (inside ? maskHead + (blockRow0 + r) * s.maskRowStride + c + col : 0), inside);
      }
      return;
    }
    for (int idx = threadIdx.x; idx < maskRows * kChunk; idx += blockDim.x) {
      const int r = idx / kChunk;
      const int key = idx % kChunk;
      const int64_t row = blockRow0 + r;
      tile[r * kMaskLd + key] = row < s.sq && key < valid
                                    ? mask[maskHead + row * s.maskRowStride + (c + key) * s.maskColStride]
                                    : fromFloat<T>(0.0f);
    }
  };
  auto startCopies = [&](int64_t i) {
    const int64_t c = i * kChunk;
    const int valid = s.sk - c < kChunk ? static_cast<int>(s.sk - c) : kChunk;
    copyRowsAsync<T, kD, kLd>(keysOf(i), kHead + c * kRowStride, kRowStride, kChunk, valid);
    copyRowsAsync<T, kD, kLd>(keysOf(i) + kChunk * kLd, vHead + c * s.v.row, s.v.row, kChunk, valid);
    if (mask != nullptr) stageMask(i, true);
    commitCopies();
  };

  // Q's rows row0 + quad and row0 + quad + 8 as A fragments, one per 16 columns of D: through shared memory
  // (ldmatrix) where Q's rows are contiguous, gathered pair by pair otherwise.
  constexpr int kSteps = kD / 16;
  uint32_t qa[kSteps][4];
  if (s.vectorQ) {
    copyRowsAsync<T, kD, kLd>(rows, qHead + blockRow0 * s.q.row, s.q.row, kRows, blockRows);
    commitCopies();
  }
  // With causal, the chunks past the keys the block's last row sees are skipped (every score there -inf).
  const int64_t keysSeen = attentionKeysSeen(s, blockRow0 + blockRows - 1);
  // This split's chunks: [firstChunk, chunks).
  const int64_t chunksPerSplit = ((s.sk + kChunk - 1) / kChunk + split.splits - 1) / split.splits;
  const int64_t firstChunk = part * chunksPerSplit;
  const int64_t seenChunks = (keysSeen + kChunk - 1) / kChunk;
  const int64_t chunks = seenChunks < firstChunk + chunksPerSplit ? seenChunks : firstChunk + chunksPerSplit;
  // Keys the block's first row sees: chunks within them need no per-key causal check.
  const int64_t keysSeenByAll = attentionKeysSeen(s, blockRow0);
  const bool active = row0 < s.sq;  // whether this warp has rows to compute
  const bool prefetch = async && chunks > firstChunk;
  if (prefetch) startCopies(firstChunk);
  if (s.vectorQ) {
    if (prefetch) {
      waitCopies<1>();
    } else {
      waitCopies<0>();
    }
    __syncthreads();  // every thread's copies landed; each warp then reads only its own 16 rows
#pragma unroll
    for (int step = 0; step < kSteps; ++step) ldmatrix(qa[step], warpRows + aRow * kLd + step * 16 + aCol);
  } else {
#pragma unroll
    for (int step = 0; step < kSteps; ++step) {
#pragma unroll
      for (int reg = 0; reg < 4; ++reg) {
        const int64_t row = row0 + quad + (reg % 2) * 8;
        const int col = step * 16 + pair * 2 + (reg / 2) * 8;
        qa[step][reg] = row >= s.sq ? 0u
                                    : pack<T>(toFloat(qHead[row * s.q.row + col * s.q.col]),
                                              toFloat(qHead[row * s.q.row + (col + 1) * s.q.col]));
      }
    }
  }

  // log2(e) folded into the scale: exp(x) = exp2(x * log2(e)).
  const float scale = s.scale * 1.4426950408889634f;
  constexpr int kTiles = kD / 8;  // output tiles of 8 columns
  float o[kTiles][4] = {};
  float rowMax[2] = {-INFINITY, -INFINITY};
  float rowSum[2] = {0.0f, 0.0f};
  for (int64_t i = firstChunk; i < chunks; ++i) {
    const int64_t c = i * kChunk;
    const int valid = s.sk - c < kChunk ? static_cast<int>(s.sk - c) : kChunk;
    T* ks = keysOf(i);
    T* vs = ks + kChunk * kLd;
    if (async) {
      if (i + 1 < chunks) {
        startCopies(i + 1);
        waitCopies<1>();
      } else {
        waitCopies<0>();
      }
    } else {
      loadRows<T, kD, kLd>(ks, kHead + c * kRowStride, kRowStride, kColStride, kChunk, valid);
      loadRows<T, kD, kLd>(vs, vHead + c * s.v.row, s.v.row, s.v.col, kChunk, valid);
      if (mask != nullptr) stageMask(i, false);
    }
    __syncthreads();

    if (active) {
      // S = Q . Kt for the chunk: kChunk / 8 tiles of 16 x 8. One ldmatrix gives the B fragments of two
      // steps of 16 along D (K's rows are Kt's columns).
      float sc[kChunk / 8][4];
#pragma unroll
      for (int n = 0; n < kChunk / 8; ++n) {
        sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.0f;
        const T* keyRow = ks + (n * 8 + lane % 8) * kLd + (lane / 8) * 8;
#pragma unroll
        for (int step = 0; step < kSteps; step += 2) {
          uint32_t b[4];
          ldmatrix(b, keyRow + step * 16);
          mma16816<T>(sc[n], qa[step], b[0], b[1]);
          mma16816<T>(sc[n], qa[step + 1], b[2], b[3]);
        }
      }
      // Scale, mask, keys past Sk; the chunk's maximum of each of the lane's two rows. A whole chunk every
      // row sees, without softcap, needs no per-key checks: the scores are scaled, and the mask's tile added.
      float chunkMax[2] = {-INFINITY, -INFINITY};
      const T* maskTile = maskTileOf(i);
      const bool plain = valid == kChunk && s.softcap == 0.0f && c + kChunk <= keysSeenByAll;
      if (plain && mask == nullptr) {
#pragma unroll
        for (int n = 0; n < kChunk / 8; ++n) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            sc[n][e] *= scale;
            chunkMax[e / 2] = fmaxf(chunkMax[e / 2], sc[n][e]);
          }
        }
      } else if (plain) {
        const T* laneMaskRows[2] = {maskTile, maskTile};  // the tile rows of the lane's two rows
        if (maskRows != 1) {
          for (int r = 0; r < 2; ++r) laneMaskRows[r] = maskTile + (warp * 16 + quad + r * 8) * kMaskLd;
        }
#pragma unroll
        for (int n = 0; n < kChunk / 8; ++n) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            sc[n][e] = sc[n][e] * scale +
                       toFloat(laneMaskRows[e / 2][n * 8 + pair * 2 + e % 2]) * 1.4426950408889634f;
            chunkMax[e / 2] = fmaxf(chunkMax[e / 2], sc[n][e]);
          }
        }
      } else {
#pragma unroll
        for (int n = 0; n < kChunk / 8; ++n) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int key = n * 8 + pair * 2 + (e % 2);
            const int64_t row = row0 + quad + (e / 2) * 8;
            float x = s.softcap > 0.0f ? attentionScore(s, sc[n][e]) * 1.4426950408889634f : sc[n][e] * scale;
            if (key >= valid || c + key >= attentionKeysSeen(s, row)) {
              x = -INFINITY;
            } else if (mask != nullptr) {
              const int tileRow = maskRows == 1 ? 0 : static_cast<int>(row - blockRow0);
              x += toFloat(maskTile[tileRow * kMaskLd + key]) * 1.4426950408889634f;
            }
            sc[n][e] = x;
            chunkMax[e / 2] = fmaxf(chunkMax[e / 2], x);
          }
        }
      }
      float rescale[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        chunkMax[r] = fmaxf(chunkMax[r], __shfl_xor_sync(0xffffffffu, chunkMax[r], 1));
        chunkMax[r] = fmaxf(chunkMax[r], __shfl_xor_sync(0xffffffffu, chunkMax[r], 2));
        const float newMax = fmaxf(rowMax[r], chunkMax[r]);
        // While every score so far is -inf, shift by 0: exp2(-inf) = 0 keeps them out without a NaN.
        const float shift = newMax == -INFINITY ? 0.0f : newMax;
        rescale[r] = exp2f(rowMax[r] - shift);
        rowMax[r] = newMax;
        rowSum[r] *= rescale[r];
        chunkMax[r] = shift;
      }
#pragma unroll
      for (int t = 0; t < kTiles; ++t) {
        o[t][0] *= rescale[0];
        o[t][1] *= rescale[0];
        o[t][2] *= rescale[1];
        o[t][3] *= rescale[1];
      }
      // P = exp2(S - m) as A fragments (two 16 x 8 score tiles make one 16 x 16 A tile), then O += P . V.
#pragma unroll
      for (int step = 0; step < kChunk / 16; ++step) {
        uint32_t pa[4];
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          float* tile = sc[2 * step + half];
          const float p0 = exp2f(tile[0] - chunkMax[0]);
          const float p1 = exp2f(tile[1] - chunkMax[0]);
          const float p2 = exp2f(tile[2] - chunkMax[1]);
          const float p3 = exp2f(tile[3] - chunkMax[1]);
          rowSum[0] += p0 + p1;
          rowSum[1] += p2 + p3;
          pa[half * 2] = pack<T>(p0, p1);
          pa[half * 2 + 1] = pack<T>(p2, p3);
        }
        // V rows step * 16 .. + 15: lane i addresses row i % 8 of matrix i / 8 (rows +8 for matrices 1 and
        // 3, columns +8 for matrices 2 and 3), giving b0, b1 of two output tiles.
        const T* vRow = vs + (step * 16 + (lane / 8 % 2) * 8 + lane % 8) * kLd + (lane / 16) * 8;
#pragma unroll
        for (int t = 0; t < kTiles; t += 2) {
          uint32_t b[4];
          ldmatrixTrans(b, vRow + t * 8);
          mma16816<T>(o[t], pa, b[0], b[1]);
          mma16816<T>(o[t + 1], pa, b[2], b[3]);
        }
      }
    }
    __syncthreads();  // every warp is done with this chunk's buffer before copies into it start
  }
  // Each row's sum over the quad's lanes; O / l, rounded once. A row masked everywhere has l = 0: O is 0 and
  // 0 * (1 / 0) the unfused Softmax's NaN, or 0 with zeroMaskedRows.
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    rowSum[r] += __shfl_xor_sync(0xffffffffu, rowSum[r], 1);
    rowSum[r] += __shfl_xor_sync(0xffffffffu, rowSum[r], 2);
  }
  if (split.splits > 1) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int64_t row = row0 + quad + r * 8;
      if (row >= s.sq) continue;
      const int64_t at = (part * s.heads + h) * s.sq + row;
      if (pair == 0) split.maxSum[at] = make_float2(rowMax[r], rowSum[r]);
      float* oRow = split.o + at * kD;
#pragma unroll
      for (int t = 0; t < kTiles; ++t) {
        *reinterpret_cast<float2*>(oRow + t * 8 + pair * 2) = make_float2(o[t][r * 2], o[t][r * 2 + 1]);
      }
    }
    return;
  }
  T* yHead = y + attentionHeadOffset(s, s.y.lead, h);
  if (s.vectorY) {
    // Through the warp's rows of shared memory (Q's, read into registers long ago), then out in 16-byte
    // stores, a row's lanes side by side.
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float inverse = s.zeroMaskedRows && rowSum[r] == 0.0f ? 0.0f : 1.0f / rowSum[r];
#pragma unroll
      for (int t = 0; t < kTiles; ++t) {
        *reinterpret_cast<uint32_t*>(warpRows + (quad + r * 8) * kLd + t * 8 + pair * 2) =
            pack<T>(o[t][r * 2] * inverse, o[t][r * 2 + 1] * inverse);
      }
    }
    __syncwarp();
    constexpr int kVectors = kD / 8;  // 16-byte vectors of a row
    for (int idx = lane; idx < 16 * kVectors; idx += 32) {
      const int r = idx / kVectors;
      const int col = idx % kVectors * 8;
      if (row0 + r < s.sq) {
        *reinterpret_cast<uint4*>(yHead + (row0 + r) * s.y.row + col) =
            *reinterpret_cast<const uint4*>(warpRows + r * kLd + col);
      }
    }
    return;
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int64_t row = row0 + quad + r * 8;
    if (row >= s.sq) continue;
    const float inverse = s.zeroMaskedRows && rowSum[r] == 0.0f ? 0.0f : 1.0f / rowSum[r];
    T* yRow = yHead + row * s.y.row;
#pragma unroll
    for (int t = 0; t < kTiles; ++t) {
      const int col = t * 8 + pair * 2;
      yRow[col * s.y.col] = fromFloat<T>(o[t][r * 2] * inverse);
      yRow[(col + 1) * s.y.col] = fromFloat<T>(o[t][r * 2 + 1] * inverse);
    }
  }
}

/// Y from the splits of flashAttentionKernel: one block of Dv threads per row, each thread one column. The
/// splits' sums and outputs are rescaled to the largest maximum; a row with every score -inf in every split
/// has l = 0 and, as in the kernel, gives NaN (0 with zeroMaskedRows).
template <typename T>
__global__ void mergeFlashSplitsKernel(T* __restrict__ y, AttentionShape s, FlashSplit split) {
  const int64_t rowIndex = blockIdx.x;  // h * sq + row
  const int64_t h = rowIndex / s.sq;
  const int64_t row = rowIndex % s.sq;
  const int col = static_cast<int>(threadIdx.x);
  const int64_t partStride = s.heads * s.sq;
  float largest = -INFINITY;
  for (int p = 0; p < split.splits; ++p) largest = fmaxf(largest, split.maxSum[p * partStride + rowIndex].x);
  const float shift = largest == -INFINITY ? 0.0f : largest;
  float sum = 0.0f;
  float out = 0.0f;
  for (int p = 0; p < split.splits; ++p) {
    const int64_t at = p * partStride + rowIndex;
    const float2 ms = split.maxSum[at];
    const float weight = exp2f(ms.x - shift);
    sum += ms.y * weight;
    out += split.o[at * s.dv + col] * weight;
  }
  const float inverse = s.zeroMaskedRows && sum == 0.0f ? 0.0f : 1.0f / sum;
  y[attentionHeadOffset(s, s.y.lead, h) + row * s.y.row + col * s.y.col] = fromFloat<T>(out * inverse);
}

/// Shared memory of the kernel for head size kD: two buffers of a K and a V chunk, the block's rows of Q
/// (later Y), and with a mask two buffers of its tiles.
template <typename T, int kD>
constexpr size_t flashSmemBytes(bool mask) {
  return ((2 * 2 * kChunk + kRows) * (kD + 8) + (mask ? 2 * kRows * kMaskLd : 0)) * sizeof(T);
}

/// How many splits of the keys each tile gets: enough for the blocks to fill the GPU (`blocksPerSm` resident
/// on each of its SMs) where the tiles alone leave it idle, at least two chunks of keys each, and as many as
/// the scratch memory holds.
int flashSplits(const AttentionShape& s, int64_t tiles, int blocksPerSm, const AttentionScratch& scratch) {
  const int64_t slots = static_cast<int64_t>(scratch.multiprocessors) * blocksPerSm;
  const int64_t chunks = (s.sk + kChunk - 1) / kChunk;
  int64_t splits = std::min(slots / std::max<int64_t>(tiles, 1), chunks / 2);
  const auto bytesPerSplit = static_cast<size_t>(s.heads * s.sq) * (s.dv + 2) * sizeof(float);
  splits =
      std::min<int64_t>(splits, static_cast<int64_t>(scratch.bytes / std::max<size_t>(bytesPerSplit, 1)));
  splits = std::min<int64_t>({splits, 64, INT32_MAX / std::max<int64_t>(tiles, 1)});
  return splits > 1 && scratch.data != nullptr ? static_cast<int>(splits) : 1;
}

template <typename T, int kD>
cudaError_t launchFlash(const void* q, const void* kt, const void* v, void* y, const AttentionShape& s,
                        const AttentionScratch& scratch, cudaStream_t stream) {
  // Over the default 48 KiB for D = 128.
  const cudaError_t allowed = allowDynamicSharedMemory(flashAttentionKernel<T, kD>,
                                                       static_cast<int64_t>(flashSmemBytes<T, kD>(true)));
  if (allowed != cudaSuccess) return allowed;
  const int64_t tilesPerHead = (s.sq + kRows - 1) / kRows;
  const int64_t tiles = s.heads * tilesPerHead;
  FlashSplit split;
  split.splits = flashSplits(s, tiles, kD <= 64 ? 4 : 2, scratch);
  if (split.splits > 1) {
    split.maxSum = static_cast<float2*>(scratch.data);
    split.o = reinterpret_cast<float*>(split.maxSum + split.splits * s.heads * s.sq);
  }
  flashAttentionKernel<T, kD>
      <<<static_cast<unsigned>(tiles * split.splits), kWarps * 32, flashSmemBytes<T, kD>(s.mask != nullptr),
         stream>>>(static_cast<const T*>(q), static_cast<const T*>(kt), static_cast<const T*>(v),
                   static_cast<T*>(y), s, tilesPerHead, split);
  if (split.splits > 1) {
    mergeFlashSplitsKernel<T>
        <<<static_cast<unsigned>(s.heads * s.sq), static_cast<unsigned>(kD), 0, stream>>>(static_cast<T*>(y),
                                                                                          s, split);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchAttentionFlash(Elem type, const void* q, const void* kt, const void* v, void* y,
                                 const AttentionShape& shape, const AttentionScratch& scratch,
                                 cudaStream_t stream) {
  if (shape.heads <= 0 || shape.sq <= 0) return cudaSuccess;
  if (!attentionFlashHeadSize(shape.d) || shape.dv != shape.d || shape.sk <= 0 ||
      shape.heads * ((shape.sq + kRows - 1) / kRows) > INT32_MAX) {
    return cudaErrorInvalidValue;
  }
  auto byD = [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    switch (shape.d) {
      case 32:
        return launchFlash<T, 32>(q, kt, v, y, shape, scratch, stream);
      case 64:
        return launchFlash<T, 64>(q, kt, v, y, shape, scratch, stream);
      default:
        return launchFlash<T, 128>(q, kt, v, y, shape, scratch, stream);
    }
  };
  if (type == Elem::kF16) return byD(__half{});
  if (type == Elem::kBF16) return byD(__nv_bfloat16{});
  return cudaErrorInvalidValue;
}

}  // namespace lowp::kernels::cuda
