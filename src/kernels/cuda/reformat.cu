// lowp.Reformat on the GPU: per image, the transpose of a [channels, spatial] matrix into [spatial, channels]
// (linear to hwc) or back, for elements of 1, 2 or 4 bytes (values move unchanged).
// Tiles of 32 x 32 elements go through shared memory (rows padded by one element against bank conflicts):
// a block of 32 x 8 threads reads the tile's rows coalesced and writes the transposed rows coalesced. The
// grid's x axis enumerates the tiles of one image (up to 2^31 - 1), its y axis the images.
// Also the input rearrangements of two convolution tactics (conv.cpp): channels padded to 8 (padToHwc8) and
// 2 x 2 space-to-depth (spaceToDepth).
// Tests: tests/gpu/test_elementwise.cpp (CudaReformat.*), against the CPU reference kernel; the convolution
// tactics in tests/gpu/test_conv.cpp.
#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kTile = 32;
constexpr int kRowsPerPass = 8;

// dst[image][c][r] = src[image][r][c] for a rows x cols matrix per image.
template <typename T>
__global__ void transposeKernel(const T* __restrict__ src, T* __restrict__ dst, int64_t images, int64_t rows,
                                int64_t cols, int64_t tilesAcross) {
  __shared__ T tile[kTile][kTile + 1];
  const int64_t tileRow = static_cast<int64_t>(blockIdx.x) / tilesAcross;
  const int64_t tileCol = static_cast<int64_t>(blockIdx.x) % tilesAcross;
  const int64_t r0 = tileRow * kTile;
  const int64_t c0 = tileCol * kTile;
  const int64_t matrix = rows * cols;
  for (int64_t image = blockIdx.y; image < images; image += gridDim.y) {
    const T* in = src + image * matrix;
    T* out = dst + image * matrix;
    for (int i = threadIdx.y; i < kTile; i += kRowsPerPass) {
      const int64_t r = r0 + i;
      const int64_t c = c0 + threadIdx.x;
      if (r < rows && c < cols) tile[i][threadIdx.x] = in[r * cols + c];
    }
    __syncthreads();
    for (int i = threadIdx.y; i < kTile; i += kRowsPerPass) {
      const int64_t c = c0 + i;
      const int64_t r = r0 + threadIdx.x;
      if (c < cols && r < rows) out[c * rows + r] = tile[threadIdx.x][i];
    }
    __syncthreads();
  }
}

template <typename T>
cudaError_t transpose(const void* x, void* y, int64_t images, int64_t rows, int64_t cols,
                      cudaStream_t stream) {
  const int64_t tilesDown = (rows + kTile - 1) / kTile;
  const int64_t tilesAcross = (cols + kTile - 1) / kTile;
  if (tilesDown * tilesAcross > 0x7fffffff) return cudaErrorInvalidConfiguration;
  const dim3 grid(static_cast<unsigned>(tilesDown * tilesAcross),
                  static_cast<unsigned>(images < 65535 ? images : 65535));
  transposeKernel<T><<<grid, dim3(kTile, kRowsPerPass), 0, stream>>>(
      static_cast<const T*>(x), static_cast<T*>(y), images, rows, cols, tilesAcross);
  return cudaGetLastError();
}

// One thread per pixel: its `channels` values (a plane apart; neighbouring threads read neighbouring
// addresses) go out as one 16-byte vector of 8.
__global__ void padToHwc8Kernel(const uint16_t* __restrict__ x, Vec<uint16_t, 8>* __restrict__ y,
                                int64_t images, int64_t channels, int64_t spatial) {
  const int64_t total = images * spatial;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t image = i / spatial;
    const int64_t pixel = i % spatial;
    const uint16_t* in = x + image * channels * spatial + pixel;
    Vec<uint16_t, 8> out;
#pragma unroll
    for (int c = 0; c < 8; ++c) out.v[c] = c < channels ? in[c * spatial] : uint16_t{0};
    y[i] = out;
  }
}

}  // namespace

cudaError_t launchPadToHwc8(const void* x, void* y, int64_t images, int64_t channels, int64_t spatial,
                            cudaStream_t stream) {
  if (channels > 8 || !aligned(y, 16)) return cudaErrorInvalidValue;
  if (images <= 0 || spatial <= 0) return cudaSuccess;
  constexpr int kThreads = 256;
  padToHwc8Kernel<<<gridFor(images * spatial, kThreads), kThreads, 0, stream>>>(
      static_cast<const uint16_t*>(x), static_cast<Vec<uint16_t, 8>*>(y), images, channels, spatial);
  return cudaGetLastError();
}

namespace {

// One thread per output pixel (image, I, J): y[n][I][J][(c * 2 + da) * 2 + db] = x[n][c][2I + da - pad][2J +
// db - pad] (zero outside x), kVectors x 8 channels of 2 bytes, zero beyond 4 * channels.
template <int kVectors>
__global__ void spaceToDepthKernel(const uint16_t* __restrict__ x, Vec<uint16_t, 8>* __restrict__ y,
                                   int64_t images, int64_t channels, int64_t h, int64_t w, int64_t outH,
                                   int64_t outW, int pad) {
  const int64_t pixels = images * outH * outW;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; p < pixels; p += stride) {
    const int64_t j = p % outW;
    const int64_t i = p / outW % outH;
    const int64_t n = p / (outW * outH);
    Vec<uint16_t, 8> out[kVectors] = {};
    for (int64_t c = 0; c < channels; ++c) {
      const uint16_t* plane = x + (n * channels + c) * h * w;
      for (int da = 0; da < 2; ++da) {
        const int64_t row = 2 * i + da - pad;
        for (int db = 0; db < 2; ++db) {
          const int64_t col = 2 * j + db - pad;
          const int64_t k = (c * 2 + da) * 2 + db;
          out[k / 8].v[k % 8] =
              row >= 0 && row < h && col >= 0 && col < w ? plane[row * w + col] : uint16_t{0};
        }
      }
    }
#pragma unroll
    for (int v = 0; v < kVectors; ++v) y[kVectors * p + v] = out[v];
  }
}

}  // namespace

cudaError_t launchSpaceToDepth(const void* x, void* y, int64_t images, int64_t channels, int64_t h, int64_t w,
                               int64_t outH, int64_t outW, int pad, int outChannels, cudaStream_t stream) {
  if ((outChannels != 16 && outChannels != 32) || 4 * channels > outChannels || !aligned(y, 16))
    return cudaErrorInvalidValue;
  if (images <= 0 || outH <= 0 || outW <= 0) return cudaSuccess;
  constexpr int kThreads = 256;
  const auto grid = gridFor(images * outH * outW, kThreads);
  const auto* in = static_cast<const uint16_t*>(x);
  auto* out = static_cast<Vec<uint16_t, 8>*>(y);
  if (outChannels == 16) {
    spaceToDepthKernel<2><<<grid, kThreads, 0, stream>>>(in, out, images, channels, h, w, outH, outW, pad);
  } else {
    spaceToDepthKernel<4><<<grid, kThreads, 0, stream>>>(in, out, images, channels, h, w, outH, outW, pad);
  }
  return cudaGetLastError();
}

cudaError_t launchChannelsLast(int elementBytes, const void* x, void* y, int64_t images, int64_t channels,
                               int64_t spatial, bool toHwc, cudaStream_t stream) {
  if (images <= 0 || channels <= 0 || spatial <= 0) return cudaSuccess;
  // One channel or one pixel per image (a pooled [N, C, 1, 1]): both layouts hold the same bytes.
  if ((channels == 1 || spatial == 1) && (elementBytes == 1 || elementBytes == 2 || elementBytes == 4)) {
    return cudaMemcpyAsync(y, x, static_cast<size_t>(images * channels * spatial * elementBytes),
                           cudaMemcpyDeviceToDevice, stream);
  }
  const int64_t rows = toHwc ? channels : spatial;
  const int64_t cols = toHwc ? spatial : channels;
  switch (elementBytes) {
    case 1:
      return transpose<uint8_t>(x, y, images, rows, cols, stream);
    case 2:
      return transpose<uint16_t>(x, y, images, rows, cols, stream);
    case 4:
      return transpose<uint32_t>(x, y, images, rows, cols, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace lowp::kernels::cuda
