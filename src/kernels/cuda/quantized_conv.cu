// The int8 convolution of lowp's own (launchQuantizedConv, launch.h): an implicit GEMM on mma.sync int8
// tensor cores, its rescale, bias, residual, activation and requantization fused into the store.
//
// The product is y[p, m] = sum over k of A[p, k] * W[m, k], p an output pixel (n, oy, ox), k a tap and an
// input channel (i, j, c) in the order of the weights reordered to [m, kh, kw, c]; A[p, k] is
// x[n, oy * sh - padTop + i * dh, ox * sw - padLeft + j * dw, c], zero outside x. A tile is kBM pixels by
// kBN output channels: eight warps, each a kWarpM x kWarpN block of m16n8k32 products with int32 sums.
// The reduction runs in steps of 64 channels of one tap; each step's A rows (64 bytes of one pixel) and W
// rows (64 bytes of one output channel) are copied into shared memory with cp.async, kStages steps in
// flight, 16-byte chunks XOR-swizzled so that the eight rows of an ldmatrix fall in distinct banks. Chunks
// outside x, past c or past m are zero-filled.
//
// The blocks are persistent: each takes tiles blockIdx.x, blockIdx.x + gridDim.x, ... and runs their steps
// as one stream, so the copies of the next tile are in flight while the current one is finished. Most
// ResNet layers are a single step or a few (a 1 x 1 convolution over 64 to 256 channels), and without this
// a block would wait for memory once per tile. The residual tile is copied with the tile's last step into
// that stage's residual buffer. The epilogue works on the fragments: v = acc * s[m] + b[m] + alpha * z, the
// activation, the rounding to y's type, written into a shared output tile (rows padded by 16 bytes against
// bank conflicts), which then leaves in 16-byte stores, whole rows of the tile contiguous in y.
// c and m must be multiples of 16 (whole 16-byte chunks of x, of the residual and of y).
// Tests: tests/gpu/test_quantized_conv.cpp, against the CPU reference kernel.
#include <cuda_fp16.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/device_util.cuh"
#include "kernels/cuda/tensor_core.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kStepBytes = 64;  // channels of one tap per reduction step
constexpr int kStages = 4;

template <int kBM, int kBN, int kWarpsM>
struct TileShape {
  static constexpr int kRows = kBM;
  static constexpr int kCols = kBN;
  static constexpr int kWarpsAlongM = kWarpsM;
  static constexpr int kWarpsAlongN = kThreads / 32 / kWarpsM;
  static constexpr int kWarpM = kBM / kWarpsM;
  static constexpr int kWarpN = kBN / kWarpsAlongN;
  static constexpr int kFragsM = kWarpM / 16;
  static constexpr int kFragsN = kWarpN / 8;
  static_assert(kFragsN % 2 == 0, "B fragments are read two n8 tiles at a time");
  static_assert(kBM * 4 % kThreads == 0 && kBN * 4 % kThreads == 0, "whole chunks per thread");
};

/// Byte offset of 16-byte chunk `chunk` (0 to 3) of row `row` in a stage of 64-byte rows. An ldmatrix reads
/// one chunk of 8 consecutive rows: two rows share a 128-byte line, and the XOR with (row / 2) % 4 spreads
/// the four rows of each parity over the line's four chunk positions.
__device__ __forceinline__ int swizzled(int row, int chunk) {
  return row * kStepBytes + ((chunk ^ ((row >> 1) & 3)) << 4);
}

/// d += a . b for one m16n8k32 tile of int8 operands and int32 sums.
__device__ __forceinline__ void mmaS8(int32_t d[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/// The activations an int8 epilogue takes (Relu, LeakyRelu, Clip, none), as one piecewise-linear function:
/// a slope below 0, then bounds. NaN passes through, as in activate(). Only these, and no call to
/// activate(): its transcendental cases, inlined at every value of the unrolled epilogue, filled the kernel
/// with code that never runs.
struct LinearPieces {
  float slope = 1.0f;
  float lower = -INFINITY;
  float upper = INFINITY;
};

__device__ __forceinline__ float applyPieces(const LinearPieces& a, float x) {
  float v = x < 0.0f ? a.slope * x : x;
  v = v < a.lower ? a.lower : v;
  return v > a.upper ? a.upper : v;
}

/// Bytes of one element of y or of the residual (fp32, fp16 or int8).
__host__ __device__ __forceinline__ int elemBytes(Elem type) {
  return type == Elem::kF32 ? 4 : (type == Elem::kF16 ? 2 : 1);
}

/// n / d for 32-bit n < 2^31 and a divisor d > 0 fixed at launch, by a multiply and a shift (Granlund and
/// Montgomery's method): shift = ceil(log2 d), multiplier = floor(2^32 (2^shift - d) / d) + 1, then
/// n / d = (umulhi(n, multiplier) + n) >> shift. The tile and pixel arithmetic of every tile would
/// otherwise take 64-bit divisions, which the GPU runs as a software routine.
struct FastDivisor {
  uint32_t divisor = 1;
  uint32_t multiplier = 0;
  uint32_t shift = 0;
  FastDivisor() = default;
  explicit FastDivisor(uint32_t d) : divisor(d) {
    while ((uint64_t{1} << shift) < d) ++shift;
    multiplier = static_cast<uint32_t>((uint64_t{1} << 32) * ((uint64_t{1} << shift) - d) / d + 1);
  }
  __device__ __forceinline__ uint32_t quotient(uint32_t n) const {
    return (__umulhi(n, multiplier) + n) >> shift;
  }
};

/// The divisors of a launch: tiles by column tiles, pixels by the output plane and by its width.
struct Divisors {
  FastDivisor colTiles, plane, width;
};

/// No residual: the Z of the epilogue's `finish`.
struct NoResidual {};

/// Two consecutive elements of type T at `at` (shared memory), in fp32.
template <typename T>
__device__ __forceinline__ float2 loadPair(const unsigned char* at) {
  if constexpr (std::is_same_v<T, int8_t>) {
    const char2 q = *reinterpret_cast<const char2*>(at);
    return make_float2(q.x, q.y);
  } else if constexpr (std::is_same_v<T, __half>) {
    return __half22float2(*reinterpret_cast<const __half2*>(at));
  } else {
    return *reinterpret_cast<const float2*>(at);
  }
}

/// v rounded to nearest even and saturated to int8, NaN giving 0: one cvt.
__device__ __forceinline__ int8_t saturateInt8(float v) {
  int16_t q;
  asm("cvt.rni.sat.s8.f32 %0, %1;" : "=h"(q) : "f"(v));
  return static_cast<int8_t>(q);
}

/// Stores two fp32 values as T at `at` (shared memory).
template <typename T>
__device__ __forceinline__ void storePair(unsigned char* at, float a, float b) {
  if constexpr (std::is_same_v<T, int8_t>) {
    *reinterpret_cast<char2*>(at) = make_char2(saturateInt8(a), saturateInt8(b));
  } else if constexpr (std::is_same_v<T, __half>) {
    *reinterpret_cast<__half2*>(at) = __floats2half2_rn(a, b);
  } else {
    *reinterpret_cast<float2*>(at) = make_float2(a, b);
  }
}

/// Shared memory of one block: kStages stages of A rows, W rows and the residual tile, then the output tile.
template <typename Shape>
struct SmemLayout {
  int zBytes, yBytes;      // bytes of one element of the residual and of y
  int zLd, yLd;            // bytes per row of the residual and output tiles
  int stageBytes, yStart;  // bytes of one stage; where the output tile starts
  int total;
  __host__ __device__ SmemLayout(Elem yType, const QuantizedConvEpilogue& e)
      : zBytes(elemBytes(e.residualType)), yBytes(elemBytes(yType)) {
    zLd = e.residual != nullptr ? Shape::kCols * zBytes + 16 : 0;
    yLd = Shape::kCols * yBytes + 16;
    stageBytes = (Shape::kRows + Shape::kCols) * kStepBytes + Shape::kRows * zLd;
    yStart = kStages * stageBytes;
    total = yStart + Shape::kRows * yLd;
  }
};

// Where a block's copies of one tile read from: the tile's pixels and output channels.
template <typename Shape>
struct TileSource {
  static constexpr int kARows = Shape::kRows * 4 / kThreads;  // A rows (one chunk each) a thread copies
  static constexpr int kBRows = Shape::kCols * 4 / kThreads;
  int pixel0 = 0;
  int m0 = 0;
  const int8_t* image[kARows];
  int originY[kARows], originX[kARows];
  const int8_t* filter[kBRows];
  bool filterValid[kBRows];
};

// Two blocks a multiprocessor for the 32 x 32 warp tiles; the 64 x 32 ones keep their sums and copy state in
// registers (255 at most) rather than spill them at 128.
template <typename Shape>
__global__ void __launch_bounds__(kThreads, Shape::kFragsM* Shape::kFragsN >= 16 ? 1 : 2)
    quantizedConvKernel(const int8_t* __restrict__ x, const int8_t* __restrict__ w, void* y, Elem yType,
                        ConvHwcGeometry g, QuantizedConvEpilogue e, LinearPieces act, int pixels,
                        Divisors div, int tiles) {
  constexpr int kBM = Shape::kRows;
  constexpr int kBN = Shape::kCols;
  using Source = TileSource<Shape>;
  constexpr int kRowStep = kThreads / 4;
  extern __shared__ __align__(128) unsigned char smem[];

  const int tid = static_cast<int>(threadIdx.x);
  const int c = static_cast<int>(g.c), h = static_cast<int>(g.h), wd = static_cast<int>(g.w);
  const int m = static_cast<int>(g.m);
  const int reduction = g.kh * g.kw * c;
  const SmemLayout<Shape> layout(yType, e);
  const int zBytes = layout.zBytes;
  const int yBytes = layout.yBytes;
  const int channelSteps = (c + kStepBytes - 1) / kStepBytes;
  const int steps = g.kh * g.kw * channelSteps;
  const int myTiles =
      (tiles - static_cast<int>(blockIdx.x) + static_cast<int>(gridDim.x) - 1) / static_cast<int>(gridDim.x);
  const int64_t total = static_cast<int64_t>(myTiles) * steps;
  // Rows of 16-byte chunks of the residual and output tiles: powers of two.
  const int zChunkShift = __ffs(kBN * zBytes / 16) - 1;
  const int yChunkShift = __ffs(kBN * yBytes / 16) - 1;

  // The copy side runs kStages - 1 steps ahead of the products, through the same sequence of tiles.
  const int chunk = tid & 3;
  const int copyRow = tid >> 2;
  Source src;
  int copyTile = static_cast<int>(blockIdx.x) - static_cast<int>(gridDim.x);  // the tile src describes
  // The step of the next copy: its number in the tile, and its channel step and tap (counted, not divided).
  int copyStep = 0, copyChannelStep = 0, copyI = 0, copyJ = 0;
  auto describe = [&](int tile) {
    const int rowTile = static_cast<int>(div.colTiles.quotient(tile));
    src.pixel0 = rowTile * kBM;
    src.m0 = (tile - rowTile * static_cast<int>(div.colTiles.divisor)) * kBN;
#pragma unroll
    for (int i = 0; i < Source::kARows; ++i) {
      const int p = src.pixel0 + copyRow + i * kRowStep;
      if (p < pixels) {
        const int n = static_cast<int>(div.plane.quotient(p));
        const int rest = p - n * static_cast<int>(div.plane.divisor);
        const int oy = static_cast<int>(div.width.quotient(rest));
        const int ox = rest - oy * static_cast<int>(div.width.divisor);
        src.image[i] = x + static_cast<int64_t>(n) * h * wd * c;
        src.originY[i] = oy * g.sh - g.padTop;
        src.originX[i] = ox * g.sw - g.padLeft;
      } else {
        src.image[i] = x;
        src.originY[i] = INT_MIN / 2;  // every tap falls outside x
        src.originX[i] = 0;
      }
    }
#pragma unroll
    for (int i = 0; i < Source::kBRows; ++i) {
      const int row = src.m0 + copyRow + i * kRowStep;
      src.filterValid[i] = row < m;
      src.filter[i] = w + static_cast<int64_t>(src.filterValid[i] ? row : 0) * reduction;
    }
  };
  // Copies the next step of the stream into `stage` (and, with a tile's last step, its residual tile).
  auto copyNext = [&](int stage) {
    if (copyStep == 0) describe(copyTile += static_cast<int>(gridDim.x));
    const int i0 = copyI;
    const int j0 = copyJ;
    const int tap = i0 * g.kw + j0;
    const int channel = copyChannelStep * kStepBytes + chunk * 16;
    const bool channelValid = channel < c;
    unsigned char* a = smem + stage * layout.stageBytes;
    unsigned char* b = a + kBM * kStepBytes;
#pragma unroll
    for (int i = 0; i < Source::kARows; ++i) {
      const int iy = src.originY[i] + i0 * g.dh;
      const int ix = src.originX[i] + j0 * g.dw;
      const bool valid = channelValid && iy >= 0 && iy < h && ix >= 0 && ix < wd;
      const int8_t* from = valid ? src.image[i] + (static_cast<int64_t>(iy) * wd + ix) * c + channel : x;
      copyAsync16(a + swizzled(copyRow + i * kRowStep, chunk), from, valid);
    }
#pragma unroll
    for (int i = 0; i < Source::kBRows; ++i) {
      const bool valid = channelValid && src.filterValid[i];
      copyAsync16(b + swizzled(copyRow + i * kRowStep, chunk), valid ? src.filter[i] + tap * c + channel : w,
                  valid);
    }
    if (copyStep == steps - 1 && e.residual != nullptr) {
      unsigned char* z = b + kBN * kStepBytes;
      const auto* residual = static_cast<const unsigned char*>(e.residual);
      for (int idx = tid; idx < kBM << zChunkShift; idx += kThreads) {
        const int row = idx >> zChunkShift;
        const int part = idx - (row << zChunkShift);
        const int p = src.pixel0 + row;
        const int64_t at = (static_cast<int64_t>(p) * m + src.m0) * zBytes + part * 16;
        const bool valid = p < pixels && src.m0 + part * 16 / zBytes < m;
        copyAsync16(z + row * layout.zLd + part * 16, valid ? residual + at : residual, valid);
      }
    }
    if (++copyStep == steps) copyStep = 0;
    if (++copyChannelStep == channelSteps) {
      copyChannelStep = 0;
      if (++copyJ == g.kw) {
        copyJ = 0;
        if (++copyI == g.kh) copyI = 0;
      }
    }
  };

  const int warp = tid / 32;
  const int lane = tid % 32;
  const int warpRow = (warp % Shape::kWarpsAlongM) * Shape::kWarpM;
  const int warpCol = (warp / Shape::kWarpsAlongM) * Shape::kWarpN;
  int32_t acc[Shape::kFragsM][Shape::kFragsN][4] = {};

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < total) copyNext(s);
    commitCopies();
  }
  int step = 0;                             // within the tile
  int tile = static_cast<int>(blockIdx.x);  // the tile being summed
  for (int64_t at = 0; at < total; ++at) {
    waitCopies<kStages - 2>();
    __syncthreads();  // the step has landed, and every warp is done with the stage refilled below
    const int stage = static_cast<int>(at % kStages);
    if (at + kStages - 1 < total) copyNext(static_cast<int>((at + kStages - 1) % kStages));
    commitCopies();
    const unsigned char* a = smem + stage * layout.stageBytes;
    const unsigned char* b = a + kBM * kStepBytes;
#pragma unroll
    for (int half = 0; half < 2; ++half) {  // k32 products over chunks 2 half and 2 half + 1
      uint32_t af[Shape::kFragsM][4];
      uint32_t bf[Shape::kFragsN][2];
#pragma unroll
      for (int i = 0; i < Shape::kFragsM; ++i)
        ldmatrix(af[i], a + swizzled(warpRow + i * 16 + (lane & 15), 2 * half + (lane >> 4)));
#pragma unroll
      for (int j = 0; j < Shape::kFragsN / 2; ++j) {
        uint32_t r[4];
        ldmatrix(r, b + swizzled(warpCol + j * 16 + ((lane >> 4) << 3) + (lane & 7),
                                 2 * half + ((lane >> 3) & 1)));
        bf[2 * j][0] = r[0];
        bf[2 * j][1] = r[1];
        bf[2 * j + 1][0] = r[2];
        bf[2 * j + 1][1] = r[3];
      }
#pragma unroll
      for (int i = 0; i < Shape::kFragsM; ++i)
#pragma unroll
        for (int j = 0; j < Shape::kFragsN; ++j) mmaS8(acc[i][j], af[i], bf[j][0], bf[j][1]);
    }
    if (++step < steps) continue;

    // The tile is summed: the epilogue, from the fragments (lane holds rows lane / 4 and lane / 4 + 8 of
    // each m16n8 tile, columns 2 (lane % 4) and the next) into the shared output tile.
    step = 0;
    const int rowTile = static_cast<int>(div.colTiles.quotient(tile));
    const int pixel0 = rowTile * kBM;
    const int m0 = (tile - rowTile * static_cast<int>(div.colTiles.divisor)) * kBN;
    tile += static_cast<int>(gridDim.x);
    const unsigned char* z = b + kBN * kStepBytes;
    unsigned char* out = smem + layout.yStart;
    // One instance per pair of types, chosen once a tile, so that the code that runs is only theirs.
    auto finish = [&](auto yTag, auto zTag) {
      using Y = decltype(yTag);
      using Z = decltype(zTag);
#pragma unroll
      for (int j = 0; j < Shape::kFragsN; ++j) {
        const int col = warpCol + j * 8 + 2 * (lane & 3);
        const int channel = m0 + col;  // m is a multiple of 16: channel and channel + 1 are both in or out
        const bool in = channel < m;
        const float s0 = in ? e.scale[channel] : 0.0f;
        const float s1 = in ? e.scale[channel + 1] : 0.0f;
        const float b0 = in && e.bias != nullptr ? e.bias[channel] : 0.0f;
        const float b1 = in && e.bias != nullptr ? e.bias[channel + 1] : 0.0f;
#pragma unroll
        for (int i = 0; i < Shape::kFragsM; ++i) {
#pragma unroll
          for (int half = 0; half < 2; ++half) {
            const int row = warpRow + i * 16 + (lane >> 2) + 8 * half;
            float v0 = fmaf(static_cast<float>(acc[i][j][2 * half]), s0, b0);
            float v1 = fmaf(static_cast<float>(acc[i][j][2 * half + 1]), s1, b1);
            if constexpr (!std::is_same_v<Z, NoResidual>) {
              const float2 r = loadPair<Z>(z + row * layout.zLd + col * static_cast<int>(sizeof(Z)));
              v0 = fmaf(e.residualAlpha, r.x, v0);
              v1 = fmaf(e.residualAlpha, r.y, v1);
            }
            storePair<Y>(out + row * layout.yLd + col * static_cast<int>(sizeof(Y)), applyPieces(act, v0),
                         applyPieces(act, v1));
            acc[i][j][2 * half] = 0;
            acc[i][j][2 * half + 1] = 0;
          }
        }
      }
    };
    const bool residual = e.residual != nullptr;
    const bool int8Residual = residual && e.residualType == Elem::kI8;
    if (yType == Elem::kI8) {
      int8Residual ? finish(int8_t{}, int8_t{}) : finish(int8_t{}, NoResidual{});
    } else if (yType == Elem::kF16) {
      int8Residual ? finish(__half{}, int8_t{})
                   : (residual ? finish(__half{}, __half{}) : finish(__half{}, NoResidual{}));
    } else {
      int8Residual ? finish(float{}, int8_t{})
                   : (residual ? finish(float{}, float{}) : finish(float{}, NoResidual{}));
    }
    __syncthreads();
    // Out in 16-byte chunks; the next write of the output tile comes after the next step's barrier.
    auto* to = static_cast<unsigned char*>(y);
    for (int idx = tid; idx < kBM << yChunkShift; idx += kThreads) {
      const int row = idx >> yChunkShift;
      const int part = idx - (row << yChunkShift);
      const int p = pixel0 + row;
      if (p >= pixels || m0 + part * 16 / yBytes >= m) continue;
      *reinterpret_cast<uint4*>(to + (static_cast<int64_t>(p) * m + m0) * yBytes + part * 16) =
          *reinterpret_cast<const uint4*>(out + row * layout.yLd + part * 16);
    }
  }
}

template <typename Shape>
cudaError_t launchTiled(const int8_t* x, const int8_t* w, void* y, Elem yType, const ConvHwcGeometry& g,
                        const QuantizedConvEpilogue& e, const LinearPieces& act, cudaStream_t stream) {
  const int64_t pixels = g.n * g.oh * g.ow;
  const int64_t colTiles = (g.m + Shape::kCols - 1) / Shape::kCols;
  const int64_t tiles = (pixels + Shape::kRows - 1) / Shape::kRows * colTiles;
  if (pixels > INT_MAX - Shape::kRows || tiles > INT_MAX) return cudaErrorInvalidValue;
  const SmemLayout<Shape> layout(yType, e);
  auto* kernel = quantizedConvKernel<Shape>;
  int device = 0;
  int sharedLimit = 0;
  cudaError_t status = cudaGetDevice(&device);
  if (status == cudaSuccess)
    status = cudaDeviceGetAttribute(&sharedLimit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (status != cudaSuccess) return status;
  if (layout.total > sharedLimit) return cudaErrorNotSupported;
  status = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, layout.total);
  if (status != cudaSuccess) return status;
  // As many blocks as fit on the GPU at once, each looping over its tiles.
  int processors = 0;
  int perProcessor = 0;
  if ((status = cudaDeviceGetAttribute(&processors, cudaDevAttrMultiProcessorCount, device)) != cudaSuccess ||
      (status = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perProcessor, kernel, kThreads,
                                                              layout.total)) != cudaSuccess)
    return status;
  if (perProcessor < 1) return cudaErrorInvalidConfiguration;
  const int64_t blocks = std::min<int64_t>(tiles, static_cast<int64_t>(processors) * perProcessor);
  kernel<<<static_cast<unsigned>(blocks), kThreads, layout.total, stream>>>(
      x, w, y, yType, g, e, act, static_cast<int>(pixels),
      Divisors{FastDivisor(static_cast<uint32_t>(colTiles)), FastDivisor(static_cast<uint32_t>(g.oh * g.ow)),
               FastDivisor(static_cast<uint32_t>(g.ow))},
      static_cast<int>(tiles));
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchQuantizedConv(QuantizedConvTile tile, const int8_t* x, const int8_t* w, void* y, Elem yType,
                                const ConvHwcGeometry& g, const QuantizedConvEpilogue& epilogue,
                                cudaStream_t stream) {
  if (g.n * g.oh * g.ow == 0 || g.m == 0) return cudaSuccess;
  const auto known = [](Elem t) { return t == Elem::kF32 || t == Elem::kF16 || t == Elem::kI8; };
  // A float residual has y's type (QuantizedConv's rule; the epilogue has no other instances).
  const bool residualKnown = epilogue.residual == nullptr || epilogue.residualType == Elem::kI8 ||
                             (epilogue.residualType == yType && yType != Elem::kI8);
  if (!known(yType) || !residualKnown || g.c % 16 != 0 || g.m % 16 != 0 || g.c == 0 ||
      g.h * g.w * g.c > INT_MAX || g.kh * g.kw * g.c > INT_MAX || !aligned(x, 16) || !aligned(w, 16) ||
      !aligned(y, 16) || (epilogue.residual != nullptr && !aligned(epilogue.residual, 16)) ||
      epilogue.scale == nullptr)
    return cudaErrorInvalidValue;
  LinearPieces act;
  switch (epilogue.activation.activation) {
    case Activation::kNone:
      break;
    case Activation::kRelu:
      act.slope = 0.0f;
      break;
    case Activation::kLeakyRelu:
      act.slope = epilogue.activation.alpha;
      break;
    case Activation::kClip:
      act.lower = epilogue.activation.alpha;
      act.upper = epilogue.activation.beta;
      break;
    default:
      return cudaErrorInvalidValue;
  }
  switch (tile) {
    case QuantizedConvTile::k128x128:
      return launchTiled<TileShape<128, 128, 2>>(x, w, y, yType, g, epilogue, act, stream);
    case QuantizedConvTile::k256x64:
      return launchTiled<TileShape<256, 64, 4>>(x, w, y, yType, g, epilogue, act, stream);
    case QuantizedConvTile::k128x64:
      return launchTiled<TileShape<128, 64, 4>>(x, w, y, yType, g, epilogue, act, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace lowp::kernels::cuda
