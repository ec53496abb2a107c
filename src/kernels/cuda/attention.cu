// lowp.Attention on the GPU (ir/ops/attention.h): Y = softmax(scale * Q . Kt + mask) . V per (batch, head).
//
// Every operand is read, and Y written, through its strides (AttentionStrides: the views of
// attention_layout.h); the defaults are dense row-major.
// Tensor cores (fp16, bf16): one block of kTcWarps warps per kTcRows query rows of one head; warp w owns rows
// 16w .. 16w + 15 of the tile. Shared memory (each section 128-byte aligned):
//   Q tile    [kTcRows][d + 8]          T      loaded once, then held by each warp as fragments
//   Kt chunk  [d][kTcChunk + 8]         T      kTcChunk key columns at a time (as K's rows
//             or [kTcChunk][d + 8]                   where D is contiguous: fragments read it column-major)
//   V chunk   [kTcChunk][dv + 8]        T      kTcChunk key rows at a time, over Q's and Kt's place
//   scores    [kTcRows][max(Sk16, dv) + 4] fp32, Sk16 = Sk rounded up to 16
// Rows that are contiguous and 16-byte aligned move 16 bytes at a time (AttentionShape::vectorQ, ...).
// S = Q . Kt with wmma 16x16x16 (fp32 accumulators) goes to the scores; each warp then runs the softmax over
// its rows in fp32 (scale, mask, maximum, exp, sum) and writes P back over the same rows as T (read into
// registers first, so the narrower values never overwrite unread ones); O = P . V accumulates in fp32
// fragments in registers, is staged through the warp's score rows and rounded once to T. The +8 / +4 pads
// keep the rows of a fragment in different banks. Key columns and rows past Sk read as zero (P is 0 there),
// query rows past Sq are computed from zeros and not stored.
// CUDA cores (fp32, fp16, bf16): one warp per query row; its Q row and output row live in shared memory; for
// each 32 keys each lane computes one score (a coalesced read of a Kt row), the warp updates the running
// maximum and sum, rescales the output and adds the 32 keys' V rows. All arithmetic in fp32.
// Tests: tests/gpu/test_attention.cpp, against the CPU reference kernel.
#include <mma.h>

#include <cmath>

#include "kernels/cuda/attention_common.cuh"
#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kTcWarps = 4;
constexpr int kTcRows = 16 * kTcWarps;
constexpr int kTcChunk = 64;
constexpr int kSimtWarps = 4;

constexpr int64_t alignUp(int64_t n, int64_t a) {
  return (n + a - 1) / a * a;
}

/// Byte offsets of the shared-memory sections of the tensor-core kernel.
struct TcLayout {
  int qLd, kLd, vLd, sLd;
  int64_t kOffset, vOffset, sOffset, bytes;
};

template <typename T>
__host__ __device__ TcLayout tcLayout(int64_t d, int64_t dv, int64_t sk) {
  TcLayout l{};
  l.qLd = static_cast<int>(d) + 8;
  l.kLd = kTcChunk + 8;
  l.vLd = static_cast<int>(dv) + 8;
  const int64_t sk16 = alignUp(sk, 16);
  l.sLd = static_cast<int>((sk16 > dv ? sk16 : dv) + 4);
  const int64_t qBytes = alignUp(kTcRows * l.qLd * static_cast<int64_t>(sizeof(T)), 128);
  // Kt as [d][chunk] or, read as K's rows, [chunk][d]: room for either.
  const int64_t kElems = d * l.kLd > kTcChunk * l.qLd ? d * l.kLd : kTcChunk * l.qLd;
  const int64_t kBytes = alignUp(kElems * static_cast<int64_t>(sizeof(T)), 128);
  const int64_t vBytes = alignUp(kTcChunk * l.vLd * static_cast<int64_t>(sizeof(T)), 128);
  // V is loaded once S = Q . Kt is done: it takes Q's and Kt's place.
  l.kOffset = qBytes;
  l.vOffset = 0;
  l.sOffset = qBytes + kBytes > vBytes ? qBytes + kBytes : vBytes;
  l.bytes = l.sOffset + kTcRows * l.sLd * 4;
  return l;
}

/// Copies `rows` rows of `cols` elements (a multiple of 8) from `src` (rows `ld` apart, each 16-byte aligned)
/// into shared memory rows `sld` apart, 16 bytes at a time; rows from `valid` on are zeros.
template <typename T>
__device__ __forceinline__ void loadRows16(T* dst, int sld, const T* src, int64_t ld, int rows, int cols,
                                           int valid) {
  // cols / 8 is a power of two (head sizes 32, 64, 128): shifts instead of divisions.
  const int shift = __ffs(cols / 8) - 1;
  for (int idx = threadIdx.x; idx < rows << shift; idx += blockDim.x) {
    const int r = idx >> shift;
    const int c = (idx & ((1 << shift) - 1)) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (r < valid) v = *reinterpret_cast<const uint4*>(src + r * ld + c);
    *reinterpret_cast<uint4*>(dst + r * sld + c) = v;
  }
}

template <typename T, int kDv>
__global__ void __launch_bounds__(kTcWarps * 32)
    attentionTensorCoreKernel(const T* __restrict__ q, const T* __restrict__ kt, const T* __restrict__ v,
                              T* __restrict__ y, AttentionShape s, int64_t tilesPerHead) {
  using namespace nvcuda;
  extern __shared__ __align__(128) unsigned char smem[];
  const int d = static_cast<int>(s.d);
  const int sk = static_cast<int>(s.sk);
  const int sk16 = static_cast<int>(alignUp(sk, 16));
  const TcLayout l = tcLayout<T>(s.d, kDv, s.sk);
  T* qs = reinterpret_cast<T*>(smem);
  T* ks = reinterpret_cast<T*>(smem + l.kOffset);
  T* vs = reinterpret_cast<T*>(smem + l.vOffset);
  float* ss = reinterpret_cast<float*>(smem + l.sOffset);

  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int64_t h = blockIdx.x / tilesPerHead;
  const int64_t row0 = blockIdx.x % tilesPerHead * kTcRows;
  const T zero = fromFloat<T>(0.0f);

  const T* qHead = q + attentionHeadOffset(s, s.q.lead, h);
  const int validRows = s.sq - row0 < kTcRows ? static_cast<int>(s.sq - row0) : kTcRows;
  if (s.vectorQ) {
    loadRows16(qs, l.qLd, qHead + row0 * s.q.row, s.q.row, kTcRows, d, validRows);
  } else {
    for (int idx = tid; idx < kTcRows * d; idx += blockDim.x) {
      const int r = idx / d;
      const int k = idx % d;
      qs[r * l.qLd + k] = r < validRows ? qHead[(row0 + r) * s.q.row + k * s.q.col] : zero;
    }
  }

  // The warp's Q rows as fragments, read once for every chunk of keys.
  __syncthreads();
  constexpr int kMaxDSteps = 128 / 16;
  wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> qa[kMaxDSteps];
#pragma unroll
  for (int step = 0; step < kMaxDSteps; ++step) {
    if (step * 16 < d) wmma::load_matrix_sync(qa[step], qs + warp * 16 * l.qLd + step * 16, l.qLd);
  }

  // S = Q . Kt, a chunk of key columns at a time. Where K's rows are contiguous (Kt read as K), the chunk
  // holds them as [key][d] and Kt's fragments read it column-major.
  float* rows = ss + warp * 16 * l.sLd;
  const T* ktHead = kt + attentionHeadOffset(s, s.kt.lead, h);
  const bool keyRows = s.kt.row == 1;
  for (int c = 0; c < sk16; c += kTcChunk) {
    const int width = sk16 - c < kTcChunk ? sk16 - c : kTcChunk;
    const int validKeys = sk - c < width ? sk - c : width;
    __syncthreads();
    if (keyRows && s.vectorKt) {
      loadRows16(ks, l.qLd, ktHead + c * s.kt.col, s.kt.col, width, d, validKeys);
    } else if (keyRows) {
      for (int idx = tid; idx < d * width; idx += blockDim.x) {
        const int k = idx % d;
        const int j = idx / d;
        ks[j * l.qLd + k] = j < validKeys ? ktHead[k + (c + j) * s.kt.col] : zero;
      }
    } else {
      for (int idx = tid; idx < d * width; idx += blockDim.x) {
        const int k = idx / width;
        const int j = idx % width;
        ks[k * l.kLd + j] = j < validKeys ? ktHead[k * s.kt.row + (c + j) * s.kt.col] : zero;
      }
    }
    __syncthreads();
    for (int n = 0; n < width / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int step = 0; step < kMaxDSteps; ++step) {
        if (step * 16 >= d) break;
        const int k = step * 16;
        if (keyRows) {
          wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b;
          wmma::load_matrix_sync(b, ks + n * 16 * l.qLd + k, l.qLd);
          wmma::mma_sync(acc, qa[step], b, acc);
        } else {
          wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
          wmma::load_matrix_sync(b, ks + k * l.kLd + n * 16, l.kLd);
          wmma::mma_sync(acc, qa[step], b, acc);
        }
      }
      wmma::store_matrix_sync(rows + c + n * 16, acc, l.sLd, wmma::mem_row_major);
    }
  }
  __syncwarp();

  // Softmax of the warp's 16 rows in fp32; P (as T) overwrites each row from its start.
  const T* mask = static_cast<const T*>(s.mask);
  const int64_t maskHead = mask != nullptr ? attentionHeadOffset(s, s.maskLeadStride, h) : 0;
  constexpr int kPerLane = static_cast<int>(kAttentionTensorCoreMaxSk / 32);
  const int perLane = (sk + 31) / 32;  // the lanes' share of the keys this head has
  for (int r = 0; r < 16; ++r) {
    float* row = rows + r * l.sLd;
    const int64_t i = row0 + warp * 16 + r;
    const int64_t seen = attentionKeysSeen(s, i);
    float vals[kPerLane];
    float maxValue = -INFINITY;
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) {
      if (t >= perLane) break;
      const int j = lane + 32 * t;
      float x = -INFINITY;
      if (j < seen) {
        x = attentionScore(s, row[j]);
        if (mask != nullptr && i < s.sq) {
          x += toFloat(mask[maskHead + i * s.maskRowStride + j * s.maskColStride]);
        }
      }
      vals[t] = x;
      maxValue = fmaxf(maxValue, x);
    }
    maxValue = warpMax(maxValue);
    // A row of -inf everywhere shifts by 0: its exponentials are 0 and its sum 0 (see `inverse`).
    const float shift = maxValue == -INFINITY ? 0.0f : maxValue;
    float sum = 0.0f;
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) {
      if (t >= perLane) break;
      const float e = lane + 32 * t < sk ? expf(vals[t] - shift) : 0.0f;
      vals[t] = e;
      sum += e;
    }
    sum = warpSum(sum);
    __syncwarp();
    T* p = reinterpret_cast<T*>(row);
    // Sum 0 (every key masked): 0 * (1 / 0) is the unfused Softmax's NaN, or 0 with zeroMaskedRows.
    const float inverse = s.zeroMaskedRows && sum == 0.0f ? 0.0f : 1.0f / sum;
#pragma unroll
    for (int t = 0; t < kPerLane; ++t) {
      if (t >= perLane) break;
      const int j = lane + 32 * t;
      if (j < sk16) p[j] = fromFloat<T>(vals[t] * inverse);
    }
  }
  __syncwarp();

  // O = P . V, a chunk of key rows at a time.
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> o[kDv / 16];
#pragma unroll
  for (int n = 0; n < kDv / 16; ++n) wmma::fill_fragment(o[n], 0.0f);
  const T* p = reinterpret_cast<const T*>(rows);
  const int pLd = 2 * l.sLd;
  const T* vHead = v + attentionHeadOffset(s, s.v.lead, h);
  for (int c = 0; c < sk16; c += kTcChunk) {
    const int width = sk16 - c < kTcChunk ? sk16 - c : kTcChunk;
    __syncthreads();
    const int validKeys = sk - c < width ? sk - c : width;
    if (s.vectorV) {
      loadRows16(vs, l.vLd, vHead + c * s.v.row, s.v.row, width, kDv, validKeys);
    } else {
      for (int idx = tid; idx < width * kDv; idx += blockDim.x) {
        const int j = idx / kDv;
        const int e = idx % kDv;
        vs[j * l.vLd + e] = j < validKeys ? vHead[(c + j) * s.v.row + e * s.v.col] : zero;
      }
    }
    __syncthreads();
    for (int k = 0; k < width; k += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
      wmma::load_matrix_sync(a, p + c + k, pLd);
#pragma unroll
      for (int n = 0; n < kDv / 16; ++n) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b;
        wmma::load_matrix_sync(b, vs + k * l.vLd + n * 16, l.vLd);
        wmma::mma_sync(o[n], a, b, o[n]);
      }
    }
  }
  __syncwarp();
#pragma unroll
  for (int n = 0; n < kDv / 16; ++n) wmma::store_matrix_sync(rows + n * 16, o[n], l.sLd, wmma::mem_row_major);
  __syncwarp();
  T* yHead = y + attentionHeadOffset(s, s.y.lead, h);
  if (s.vectorY) {
    for (int idx = lane; idx < 16 * kDv / 8; idx += 32) {
      const int r = idx / (kDv / 8);
      const int e = idx % (kDv / 8) * 8;
      const int64_t i = row0 + warp * 16 + r;
      if (i >= s.sq) continue;
      alignas(16) T out[8];
#pragma unroll
      for (int k = 0; k < 8; ++k) out[k] = fromFloat<T>(rows[r * l.sLd + e + k]);
      *reinterpret_cast<uint4*>(yHead + i * s.y.row + e) = *reinterpret_cast<const uint4*>(out);
    }
  } else {
    for (int idx = lane; idx < 16 * kDv; idx += 32) {
      const int r = idx / kDv;
      const int e = idx % kDv;
      const int64_t i = row0 + warp * 16 + r;
      if (i < s.sq) yHead[i * s.y.row + e * s.y.col] = fromFloat<T>(rows[r * l.sLd + e]);
    }
  }
}

template <typename T, int kDv>
cudaError_t launchTensorCore(const void* q, const void* kt, const void* v, void* y, const AttentionShape& s,
                             cudaStream_t stream) {
  const TcLayout l = tcLayout<T>(s.d, kDv, s.sk);
  auto kernel = attentionTensorCoreKernel<T, kDv>;
  // Allowed once for the largest case (D = 128, Sk = 512).
  const cudaError_t result = allowDynamicSharedMemory(attentionTensorCoreKernel<T, kDv>,
                                                      tcLayout<T>(128, kDv, kAttentionTensorCoreMaxSk).bytes);
  if (result != cudaSuccess) return result;
  const int64_t tilesPerHead = (s.sq + kTcRows - 1) / kTcRows;
  kernel<<<static_cast<unsigned>(s.heads * tilesPerHead), kTcWarps * 32, static_cast<size_t>(l.bytes),
           stream>>>(static_cast<const T*>(q), static_cast<const T*>(kt), static_cast<const T*>(v),
                     static_cast<T*>(y), s, tilesPerHead);
  return cudaGetLastError();
}

template <typename T>
__global__ void __launch_bounds__(kSimtWarps * 32)
    attentionSimtKernel(const T* __restrict__ q, const T* __restrict__ kt, const T* __restrict__ v,
                        T* __restrict__ y, AttentionShape s) {
  extern __shared__ float simtSmem[];
  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  float* qRow = simtSmem + warp * (s.d + s.dv + 32);
  float* out = qRow + s.d;
  float* p = out + s.dv;
  const T* mask = static_cast<const T*>(s.mask);
  const int64_t rowCount = s.heads * s.sq;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kSimtWarps + warp; r < rowCount;
       r += static_cast<int64_t>(gridDim.x) * kSimtWarps) {
    const int64_t h = r / s.sq;
    const int64_t i = r % s.sq;
    const T* qSource = q + attentionHeadOffset(s, s.q.lead, h) + i * s.q.row;
    for (int64_t k = lane; k < s.d; k += 32) qRow[k] = toFloat(qSource[k * s.q.col]);
    for (int64_t e = lane; e < s.dv; e += 32) out[e] = 0.0f;
    __syncwarp();
    const T* ktHead = kt + attentionHeadOffset(s, s.kt.lead, h);
    const T* vHead = v + attentionHeadOffset(s, s.v.lead, h);
    const T* maskRow =
        mask != nullptr ? mask + attentionHeadOffset(s, s.maskLeadStride, h) + i * s.maskRowStride : nullptr;
    float maxValue = -INFINITY;
    float sum = 0.0f;
    const int64_t seen = attentionKeysSeen(s, i);  // the keys past it score -inf: skipped
    for (int64_t j0 = 0; j0 < seen; j0 += 32) {
      const int64_t j = j0 + lane;
      float score = -INFINITY;
      if (j < seen) {
        float dot = 0.0f;
        for (int64_t k = 0; k < s.d; ++k) dot += qRow[k] * toFloat(ktHead[k * s.kt.row + j * s.kt.col]);
        score = attentionScore(s, dot);
        if (maskRow != nullptr) score += toFloat(maskRow[j * s.maskColStride]);
      }
      const float newMax = fmaxf(maxValue, warpMax(score));
      // While every score so far is -inf, shift by 0: exp(-inf) = 0 keeps them out without a NaN.
      const float shift = newMax == -INFINITY ? 0.0f : newMax;
      const float rescale = expf(maxValue - shift);
      const float e = j < seen ? expf(score - shift) : 0.0f;
      sum = sum * rescale + warpSum(e);
      maxValue = newMax;
      p[lane] = e;
      __syncwarp();
      const int keys = seen - j0 < 32 ? static_cast<int>(seen - j0) : 32;
      for (int64_t col = lane; col < s.dv; col += 32) {
        float acc = out[col] * rescale;
        for (int t = 0; t < keys; ++t) acc += p[t] * toFloat(vHead[(j0 + t) * s.v.row + col * s.v.col]);
        out[col] = acc;
      }
      __syncwarp();
    }
    // A row masked to -inf everywhere has sum 0: 0 / 0 gives the NaN the unfused Softmax gives, or 0 with
    // zeroMaskedRows.
    T* yRow = y + attentionHeadOffset(s, s.y.lead, h) + i * s.y.row;
    const bool empty = s.zeroMaskedRows && sum == 0.0f;
    for (int64_t col = lane; col < s.dv; col += 32)
      yRow[col * s.y.col] = fromFloat<T>(empty ? 0.0f : out[col] / sum);
    __syncwarp();
  }
}

}  // namespace

cudaError_t launchAttentionTensorCore(Elem type, const void* q, const void* kt, const void* v, void* y,
                                      const AttentionShape& shape, cudaStream_t stream) {
  if (shape.heads <= 0 || shape.sq <= 0 || shape.dv <= 0) return cudaSuccess;
  if (shape.heads > INT32_MAX) return cudaErrorInvalidValue;  // attentionHeadOffset splits 32-bit indices
  if (!attentionTensorCoreHeadSize(shape.d) || !attentionTensorCoreHeadSize(shape.dv) || shape.sk <= 0 ||
      shape.sk > kAttentionTensorCoreMaxSk) {
    return cudaErrorInvalidValue;
  }
  auto byDv = [&](auto tag) -> cudaError_t {
    using T = decltype(tag);
    switch (shape.dv) {
      case 32:
        return launchTensorCore<T, 32>(q, kt, v, y, shape, stream);
      case 64:
        return launchTensorCore<T, 64>(q, kt, v, y, shape, stream);
      default:
        return launchTensorCore<T, 128>(q, kt, v, y, shape, stream);
    }
  };
  if (type == Elem::kF16) return byDv(__half{});
  if (type == Elem::kBF16) return byDv(__nv_bfloat16{});
  return cudaErrorInvalidValue;
}

cudaError_t launchAttentionSimt(Elem type, const void* q, const void* kt, const void* v, void* y,
                                const AttentionShape& shape, cudaStream_t stream) {
  if (shape.heads <= 0 || shape.sq <= 0 || shape.dv <= 0) return cudaSuccess;
  if (shape.heads > INT32_MAX) return cudaErrorInvalidValue;  // attentionHeadOffset splits 32-bit indices
  if (shape.d + shape.dv > kAttentionSimtMaxWidth) return cudaErrorInvalidValue;
  const size_t bytes = static_cast<size_t>(kSimtWarps * (shape.d + shape.dv + 32)) * sizeof(float);
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    attentionSimtKernel<T><<<gridFor(shape.heads * shape.sq, kSimtWarps), kSimtWarps * 32, bytes, stream>>>(
        static_cast<const T*>(q), static_cast<const T*>(kt), static_cast<const T*>(v), static_cast<T*>(y),
        shape);
    result = cudaGetLastError();
  });
  return result;
}

}  // namespace lowp::kernels::cuda
