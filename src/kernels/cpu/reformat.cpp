// x{8,16,32}-reformat-{lineartohwc,hwctolinear}-sse2: lowp.Reformat (ir/ops/reformat.cpp) between ONNX's
// plain layout [N, C, spatial...] and channels-last [N, spatial..., C] (ir/format.h, kHwc), for tensors of
// rank 3 to 5 and elements of 1, 2 or 4 bytes (int8 / uint8, bf16 / fp16, fp32). Values move unchanged.
// x{8,16,32}-reformat-{lineartochw16,chw16tolinear}: the same between the plain layout and kChw16
// ([N, C / 16, spatial..., 16], zeros past C), one block of 16 channels of one image per work unit: each
// channel's contiguous plane is read (or written) once, the block's pixels written (read) 16 elements apart.
// x{16,32}-reformat-{chw16tohwc,hwctochw16}: between kChw16 and channels-last, a pixel's block of 16
// channels moved as one run.
//
// Per image it is the transpose of a C x S matrix (S = the spatial size) into S x C, or back. The matrix is
// cut into tiles of 16 bytes by 16 / E rows (E the element size): 16 / E rows of 16 bytes are loaded, and
// log2(16 / E) rounds of unpacklo / unpackhi of width E over the row pairs (i, i + 16 / E / 2) transpose the
// tile (each round rotates the bits of (row, column) by one, so after log2(16 / E) rounds row and column
// have swapped). SSE2 is in every x86-64 CPU, so the kernels need no CPU feature; the work is memory-bound
// (measured against memcpy in tests/unit/test_hwc.cpp, HwcReformat.Bandwidth). Rows and columns past the
// last whole tile are copied one element at a time.
// Threads: blocks of 256 rows of each image are split over lowp's pool.
// Covered by tests/unit/test_hwc.cpp (HwcReformat.*), against a plain index loop.
#include <emmintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "ir/ops/fused.h"
#include "kernels/cpu/cpu_kernels.h"

namespace lowp::kernels::cpu {
namespace {

template <int kBytes>
__m128i unpackLo(__m128i a, __m128i b) {
  if constexpr (kBytes == 1) return _mm_unpacklo_epi8(a, b);
  if constexpr (kBytes == 2) return _mm_unpacklo_epi16(a, b);
  if constexpr (kBytes == 4) return _mm_unpacklo_epi32(a, b);
}

template <int kBytes>
__m128i unpackHi(__m128i a, __m128i b) {
  if constexpr (kBytes == 1) return _mm_unpackhi_epi8(a, b);
  if constexpr (kBytes == 2) return _mm_unpackhi_epi16(a, b);
  if constexpr (kBytes == 4) return _mm_unpackhi_epi32(a, b);
}

// Transposes one tile of kN x kN elements (kN = 16 / kBytes): src rows `srcStride` bytes apart into dst
// rows `dstStride` bytes apart.
template <int kBytes>
inline void transposeTile(const std::byte* src, int64_t srcStride, std::byte* dst, int64_t dstStride) {
  constexpr int kN = 16 / kBytes;
  __m128i r[kN];
  for (int i = 0; i < kN; ++i) r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * srcStride));
  for (int round = 1; round < kN; round *= 2) {
    __m128i t[kN];
    for (int i = 0; i < kN / 2; ++i) {
      t[2 * i] = unpackLo<kBytes>(r[i], r[i + kN / 2]);
      t[2 * i + 1] = unpackHi<kBytes>(r[i], r[i + kN / 2]);
    }
    for (int i = 0; i < kN; ++i) r[i] = t[i];
  }
  for (int i = 0; i < kN; ++i) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i * dstStride), r[i]);
}

// Rows of src per cache block: a block's 64-byte pieces of its rows (16 KiB) stay in L1 while the column
// tiles sweep across them.
constexpr int64_t kBlockRows = 256;

// dst[c][r] = src[r][c] for rows [r0, r1) of a rows x cols matrix of kBytes elements; dst is cols x rows.
// In blocks of kBlockRows rows, column tiles outer and row tiles inner: each dst row is written as one
// contiguous run per block (whole cache lines), and each src cache line is read by consecutive column tiles.
template <int kBytes>
void transposeRows(const std::byte* src, std::byte* dst, int64_t rows, int64_t cols, int64_t r0, int64_t r1) {
  constexpr int64_t kN = 16 / kBytes;
  const int64_t srcStride = cols * kBytes;
  const int64_t dstStride = rows * kBytes;
  const int64_t wholeRows = r0 + (r1 - r0) / kN * kN;
  for (int64_t b0 = r0; b0 < wholeRows; b0 += kBlockRows) {
    const int64_t b1 = std::min(wholeRows, b0 + kBlockRows);
    int64_t c = 0;
    for (; c + kN <= cols; c += kN) {
      for (int64_t r = b0; r < b1; r += kN)
        transposeTile<kBytes>(src + r * srcStride + c * kBytes, srcStride, dst + c * dstStride + r * kBytes,
                              dstStride);
    }
    for (; c < cols; ++c) {
      for (int64_t r = b0; r < b1; ++r)
        std::memcpy(dst + c * dstStride + r * kBytes, src + r * srcStride + c * kBytes, kBytes);
    }
  }
  for (int64_t r = wholeRows; r < r1; ++r) {
    for (int64_t c = 0; c < cols; ++c)
      std::memcpy(dst + c * dstStride + r * kBytes, src + r * srcStride + c * kBytes, kBytes);
  }
}

// The C x S (to hwc) or S x C (to linear) matrix of every image, transposed.
template <int kBytes, bool kToHwc>
Status reformatKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const std::vector<int64_t>& shape = x.shape();
  if (shape.size() < 3 || shape.size() > 5)
    return ctx.invalid("input " + x.describe() + " is not [N, C, spatial...] of rank 3 to 5");
  if (y.shape() != shape || y.type() != x.type())
    return ctx.invalid("output " + y.describe() + " differs from the input " + x.describe());
  if (dataTypeSize(x.type()) != kBytes)
    return ctx.invalid("input " + x.describe() + " does not have elements of " + std::to_string(kBytes) +
                       " bytes");
  const int64_t images = shape[0];
  const int64_t channels = shape[1];
  int64_t spatial = 1;
  for (size_t d = 2; d < shape.size(); ++d) spatial *= shape[d];
  if (x.elementCount() == 0) return {};
  const int64_t rows = kToHwc ? channels : spatial;
  const int64_t cols = kToHwc ? spatial : channels;
  const int64_t imageBytes = channels * spatial * kBytes;
  // Units of kBlockRows rows of one image: threads never share a cache line of dst (a dst row's run of a
  // block is whole lines), chunks of at least ~64 KiB, so small tensors stay on one thread.
  const int64_t rowBlocks = (rows + kBlockRows - 1) / kBlockRows;
  const auto* in = static_cast<const std::byte*>(x.data());
  auto* out = static_cast<std::byte*>(y.data());
  const int64_t unitBytes = std::min(rows, kBlockRows) * cols * kBytes;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, unitBytes));
  ctx.parallelFor(images * rowBlocks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t unit = begin; unit < end;) {
      const int64_t n = unit / rowBlocks;
      const int64_t first = unit % rowBlocks;
      const int64_t last = std::min(rowBlocks, first + (end - unit));
      transposeRows<kBytes>(in + n * imageBytes, out + n * imageBytes, rows, cols, first * kBlockRows,
                            std::min(rows, last * kBlockRows));
      unit += last - first;
    }
  });
  return {};
}

constexpr int64_t kBlock = 16;  // kChw16's channels per block

// The blocks of 16 channels of every image of the input [N, C, spatial...] (rank 3 to 5).
struct ChannelBlocks {
  int64_t images = 0;
  int64_t channels = 0;
  int64_t pixels = 0;  ///< Per image and channel.
  int64_t blocks = 0;  ///< Per image.
};

// Runs move(blocks, n, b) for block b of image n, every (n, b) once, the blocks split over lowp's pool.
template <typename Move>
Status forEachChannelBlock(KernelContext& ctx, const Move& move) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 3 || x.rank() > 5)
    return ctx.unsupported("a layout change needs rank 3 to 5, not " + x.describe());
  ChannelBlocks g;
  g.images = x.shape()[0];
  g.channels = x.shape()[1];
  g.pixels = g.images * g.channels == 0 ? 0 : x.elementCount() / (g.images * g.channels);
  g.blocks = (g.channels + kBlock - 1) / kBlock;
  ctx.parallelFor(g.images * g.blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t unit = begin; unit < end; ++unit) move(g, unit / g.blocks, unit % g.blocks);
  });
  return {};
}

// Plain <-> kChw16 for elements of kBytes bytes.
template <int kBytes, bool kToBlocked>
Status blockReformatKernel(KernelContext& ctx) {
  const auto* in = static_cast<const std::byte*>(ctx.input(0).data());
  auto* out = static_cast<std::byte*>(ctx.output(0).data());
  return forEachChannelBlock(ctx, [&](const ChannelBlocks& g, int64_t n, int64_t b) {
    const int64_t unit = n * g.blocks + b;
    std::byte* blocked = (kToBlocked ? out : const_cast<std::byte*>(in)) + unit * g.pixels * kBlock * kBytes;
    const std::byte* plainImage = (kToBlocked ? in : out) + n * g.channels * g.pixels * kBytes;
    for (int64_t k = 0; k < kBlock; ++k) {
      const int64_t c = b * kBlock + k;
      if (c >= g.channels) {
        if constexpr (kToBlocked) {
          for (int64_t p = 0; p < g.pixels; ++p) std::memset(blocked + (p * kBlock + k) * kBytes, 0, kBytes);
        }
        continue;
      }
      auto* plane = const_cast<std::byte*>(plainImage) + c * g.pixels * kBytes;
      for (int64_t p = 0; p < g.pixels; ++p) {
        std::byte* at = blocked + (p * kBlock + k) * kBytes;
        if constexpr (kToBlocked) {
          std::memcpy(at, plane + p * kBytes, kBytes);
        } else {
          std::memcpy(plane + p * kBytes, at, kBytes);
        }
      }
    }
  });
}

// kChw16 <-> channels-last for elements of kBytes bytes: a block's 16 channels of one pixel are 16
// consecutive elements in both, so each moves as one run (the channels past C are left out, or written as
// zeros in kChw16). Pixel by pixel, every block of the pixel in turn: the channels-last side moves as one
// sequential stream and the blocked side as one stream per block (a block-by-block order would touch a
// new channels-last row, often a new page, for every 64 bytes). Units of kPixelRun pixels of one image are
// split over lowp's pool.
template <int kBytes, bool kToHwc>
Status blockToHwcKernel(KernelContext& ctx) {
  constexpr int64_t kPixelRun = 64;
  const Tensor& x = ctx.input(0);
  if (x.rank() < 3 || x.rank() > 5)
    return ctx.unsupported("a layout change needs rank 3 to 5, not " + x.describe());
  const auto* in = static_cast<const std::byte*>(x.data());
  auto* out = static_cast<std::byte*>(ctx.output(0).data());
  const int64_t images = x.shape()[0];
  const int64_t channels = x.shape()[1];
  const int64_t pixels = images * channels == 0 ? 0 : x.elementCount() / (images * channels);
  const int64_t blocks = (channels + kBlock - 1) / kBlock;
  const int64_t runs = (pixels + kPixelRun - 1) / kPixelRun;
  ctx.parallelFor(images * runs, 1, [&](int64_t begin, int64_t end) {
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t n = unit / runs;
      const int64_t p0 = unit % runs * kPixelRun;
      const int64_t p1 = std::min(pixels, p0 + kPixelRun);
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t count = std::min(kBlock, channels - b * kBlock);
        std::byte* blocked =
            (kToHwc ? const_cast<std::byte*>(in) : out) + (n * blocks + b) * pixels * kBlock * kBytes;
        std::byte* hwc =
            (kToHwc ? out : const_cast<std::byte*>(in)) + (n * pixels * channels + b * kBlock) * kBytes;
        for (int64_t p = p0; p < p1; ++p) {
          std::byte* blockedAt = blocked + p * kBlock * kBytes;
          std::byte* hwcAt = hwc + p * channels * kBytes;
          if (count == kBlock) {  // a whole block: a run of a size known here, copied inline
            if constexpr (kToHwc) {
              std::memcpy(hwcAt, blockedAt, kBlock * kBytes);
            } else {
              std::memcpy(blockedAt, hwcAt, kBlock * kBytes);
            }
          } else if constexpr (kToHwc) {
            std::memcpy(hwcAt, blockedAt, static_cast<size_t>(count * kBytes));
          } else {
            std::memcpy(blockedAt, hwcAt, static_cast<size_t>(count * kBytes));
            std::memset(blockedAt + count * kBytes, 0, static_cast<size_t>((kBlock - count) * kBytes));
          }
        }
      }
    }
  });
  return {};
}

bool supportsReformat(const ir::Node& /*node*/, const std::vector<ir::Shape>& shapes) {
  return !shapes.empty() && shapes[0].rankKnown() && shapes[0].rank() >= 3 && shapes[0].rank() <= 5;
}

// lowp.Reformat from format `a` to `b` (`aToB`) and back (`bToA`), for `types`.
void registerPair(KernelRegistry& registry, TypeSet types, TensorFormat a, TensorFormat b,
                  std::string_view aToBName, KernelFn aToB, std::string_view bToAName, KernelFn bToA) {
  for (const auto& [name, fn, from, to] :
       {std::tuple{aToBName, aToB, a, b}, std::tuple{bToAName, bToA, b, a}}) {
    registry.add({.opType = "Reformat",
                  .name = name,
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = fn,
                  .inputFormats = {from},
                  .outputFormats = {to},
                  .domain = ir::ops::kLowpDomain,
                  .supports = supportsReformat,
                  .reference = false});
  }
}

template <int kBytes>
void registerSize(KernelRegistry& registry, TypeSet types, std::string_view toHwcName,
                  std::string_view toLinearName) {
  registerPair(registry, types, TensorFormat::kLinear, TensorFormat::kHwc, toHwcName,
               &reformatKernel<kBytes, true>, toLinearName, &reformatKernel<kBytes, false>);
}

template <int kBytes>
void registerBlockSize(KernelRegistry& registry, TypeSet types, std::string_view toBlockedName,
                       std::string_view toLinearName, std::string_view toHwcName,
                       std::string_view fromHwcName) {
  registerPair(registry, types, TensorFormat::kLinear, TensorFormat::kChw16, toBlockedName,
               &blockReformatKernel<kBytes, true>, toLinearName, &blockReformatKernel<kBytes, false>);
  registerPair(registry, types, TensorFormat::kChw16, TensorFormat::kHwc, toHwcName,
               &blockToHwcKernel<kBytes, true>, fromHwcName, &blockToHwcKernel<kBytes, false>);
}

}  // namespace

void registerReformatKernels(KernelRegistry& registry) {
  registerSize<1>(registry, {DataType::kInt8, DataType::kUInt8}, "x8-reformat-lineartohwc-sse2",
                  "x8-reformat-hwctolinear-sse2");
  registerSize<2>(registry, {DataType::kBFloat16, DataType::kFloat16}, "x16-reformat-lineartohwc-sse2",
                  "x16-reformat-hwctolinear-sse2");
  registerSize<4>(registry, {DataType::kFloat32}, "x32-reformat-lineartohwc-sse2",
                  "x32-reformat-hwctolinear-sse2");
  registerBlockSize<2>(registry, {DataType::kBFloat16, DataType::kFloat16}, "x16-reformat-lineartochw16",
                       "x16-reformat-chw16tolinear", "x16-reformat-chw16tohwc", "x16-reformat-hwctochw16");
  registerBlockSize<4>(registry, {DataType::kFloat32}, "x32-reformat-lineartochw16",
                       "x32-reformat-chw16tolinear", "x32-reformat-chw16tohwc", "x32-reformat-hwctochw16");
}

}  // namespace lowp::kernels::cpu
