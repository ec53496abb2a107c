// lowp_gpu_ceilings: the device's measured ceilings, for later benchmarks to report a fraction of.
//   - dense fp16 GEMM (and bf16) through cuBLASLt at 8192^3, fp32 accumulation, random data: TFLOP/s
//   - device-to-device copy of 1 GiB: GB/s counting bytes read plus bytes written
// and, beside them, two of lowp's own memory-bound kernels on the same scale (fp32 Relu over 256 MiB, the
// fp16 NCHW -> NHWC reformat of a [64, 256, 56, 56] tensor), as a fraction of the copy.
// Each figure is the median of 20 timed runs (CUDA events) after 3 warm-up runs.
#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <utility>
#include <vector>

#include "ir/numeric.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.h"
#include "runtime/cuda_device.h"

namespace {

using lowp::Result;
using lowp::Status;
using lowp::runtime::CudaDevice;
using lowp::runtime::CudaEvent;

constexpr int kWarmup = 3;
constexpr int kRuns = 20;

template <typename F>
Result<double> medianMs(CudaDevice& d, F&& work) {
  for (int i = 0; i < kWarmup; ++i) LOWP_RETURN_IF_ERROR(work());
  std::vector<double> times;
  for (int i = 0; i < kRuns; ++i) {
    LOWP_ASSIGN_OR_RETURN(CudaEvent start, CudaEvent::create());
    LOWP_ASSIGN_OR_RETURN(CudaEvent end, CudaEvent::create());
    LOWP_RETURN_IF_ERROR(start.record(d.stream()));
    LOWP_RETURN_IF_ERROR(work());
    LOWP_RETURN_IF_ERROR(end.record(d.stream()));
    LOWP_RETURN_IF_ERROR(end.synchronize());
    LOWP_ASSIGN_OR_RETURN(float ms, end.elapsedSince(start));
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// D = A B for n x n matrices of `type` (CUDA_R_16F or CUDA_R_16BF) from random values.
Result<double> gemmTflops(CudaDevice& d, cudaDataType_t type, int64_t n) {
  const size_t elements = static_cast<size_t>(n * n);
  std::vector<uint16_t> host(elements);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (uint16_t& v : host)
    v = type == CUDA_R_16F ? lowp::ir::floatToFloat16(dist(rng)) : lowp::ir::floatToBFloat16(dist(rng));
  LOWP_ASSIGN_OR_RETURN(auto a, d.allocateChecked(elements * 2));
  LOWP_ASSIGN_OR_RETURN(auto b, d.allocateChecked(elements * 2));
  LOWP_ASSIGN_OR_RETURN(auto c, d.allocateChecked(elements * 2));
  LOWP_RETURN_IF_ERROR(d.copyIn(a.get(), host.data(), elements * 2));
  std::reverse(host.begin(), host.end());
  LOWP_RETURN_IF_ERROR(d.copyIn(b.get(), host.data(), elements * 2));
  const lowp::kernels::cuda::CudaContext& ctx = d.kernelContext();
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t layout = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  LOWP_CUDA_RETURN_IF_ERROR(
      cublasLtMatrixLayoutCreate(&layout, type, static_cast<uint64_t>(n), static_cast<uint64_t>(n), n));
  LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t ws = ctx.workspaceBytes;
  LOWP_CUDA_RETURN_IF_ERROR(
      cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmulAlgoGetHeuristic(ctx.cublasLt, desc, layout, layout, layout, layout,
                                                           pref, 1, &result, &found));
  if (found == 0) return Status(lowp::StatusCode::kUnsupported, "cuBLASLt has no algorithm");
  const float alpha = 1.0f;
  const float beta = 0.0f;
  auto ms = medianMs(d, [&]() -> Status {
    LOWP_CUDA_RETURN_IF_ERROR(cublasLtMatmul(ctx.cublasLt, desc, &alpha, a.get(), layout, b.get(), layout,
                                             &beta, c.get(), layout, c.get(), layout, &result.algo,
                                             ctx.workspace, ctx.workspaceBytes, ctx.stream));
    return {};
  });
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(layout);
  cublasLtMatmulDescDestroy(desc);
  if (!ms) return ms.status();
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / (*ms * 1e-3) / 1e12;
}

Result<double> copyGBps(CudaDevice& d, size_t bytes) {
  LOWP_ASSIGN_OR_RETURN(auto src, d.allocateChecked(bytes));
  LOWP_ASSIGN_OR_RETURN(auto dst, d.allocateChecked(bytes));
  LOWP_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(src.get(), 0x3c, bytes, d.stream()));
  LOWP_ASSIGN_OR_RETURN(double ms, medianMs(d, [&]() -> Status {
                          LOWP_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst.get(), src.get(), bytes,
                                                                    cudaMemcpyDeviceToDevice, d.stream()));
                          return {};
                        }));
  return 2.0 * static_cast<double>(bytes) / (ms * 1e-3) / 1e9;
}

// GB/s of lowp's Relu (fp32) and linear-to-hwc reformat (fp16), counting bytes read plus written.
Result<std::pair<double, double>> ownKernelsGBps(CudaDevice& d) {
  namespace kc = lowp::kernels::cuda;
  const size_t reluBytes = size_t{256} << 20;
  LOWP_ASSIGN_OR_RETURN(auto x, d.allocateChecked(reluBytes));
  LOWP_ASSIGN_OR_RETURN(auto y, d.allocateChecked(reluBytes));
  LOWP_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(x.get(), 0xbf, reluBytes, d.stream()));  // negative floats
  LOWP_ASSIGN_OR_RETURN(
      double reluMs, medianMs(d, [&]() -> Status {
        LOWP_CUDA_RETURN_IF_ERROR(kc::launchUnary(kc::UnaryOp::kRelu, kc::Elem::kF32, x.get(), y.get(),
                                                  reluBytes / 4, {}, {}, d.stream()));
        return {};
      }));
  const int64_t n = 64, c = 256, hw = 56 * 56;
  const size_t reformatBytes = static_cast<size_t>(n * c * hw * 2);
  LOWP_ASSIGN_OR_RETURN(
      double reformatMs, medianMs(d, [&]() -> Status {
        LOWP_CUDA_RETURN_IF_ERROR(kc::launchChannelsLast(2, x.get(), y.get(), n, c, hw, true, d.stream()));
        return {};
      }));
  return std::pair<double, double>{2.0 * static_cast<double>(reluBytes) / (reluMs * 1e-3) / 1e9,
                                   2.0 * static_cast<double>(reformatBytes) / (reformatMs * 1e-3) / 1e9};
}

}  // namespace

int main() {
  if (!lowp::runtime::cudaDevicePresent()) {
    std::fprintf(stderr, "lowp_gpu_ceilings: no CUDA device\n");
    return 1;
  }
  auto device = CudaDevice::create();
  if (!device) {
    std::fprintf(stderr, "lowp_gpu_ceilings: %s\n", device.status().toString().c_str());
    return 1;
  }
  std::printf("device: %s\n", (*device)->fingerprint().text().c_str());
  auto fp16 = gemmTflops(**device, CUDA_R_16F, 8192);
  auto bf16 = gemmTflops(**device, CUDA_R_16BF, 8192);
  auto copy = copyGBps(**device, size_t{1} << 30);
  if (!fp16 || !bf16 || !copy) {
    const Status& s = !fp16 ? fp16.status() : (!bf16 ? bf16.status() : copy.status());
    std::fprintf(stderr, "lowp_gpu_ceilings: %s\n", s.toString().c_str());
    return 1;
  }
  std::printf("cuBLASLt fp16 GEMM 8192^3 (fp32 accumulate): %.1f TFLOP/s (median of %d)\n", *fp16, kRuns);
  std::printf("cuBLASLt bf16 GEMM 8192^3 (fp32 accumulate): %.1f TFLOP/s (median of %d)\n", *bf16, kRuns);
  std::printf("device-to-device copy 1 GiB: %.0f GB/s read + written (median of %d)\n", *copy, kRuns);
  auto own = ownKernelsGBps(**device);
  if (!own) {
    std::fprintf(stderr, "lowp_gpu_ceilings: %s\n", own.status().toString().c_str());
    return 1;
  }
  std::printf("lowp f32 Relu 256 MiB: %.0f GB/s (%.0f%% of the copy)\n", own->first,
              100.0 * own->first / *copy);
  std::printf("lowp f16 reformat [64,256,56,56] to hwc: %.0f GB/s (%.0f%% of the copy)\n", own->second,
              100.0 * own->second / *copy);
  return 0;
}
