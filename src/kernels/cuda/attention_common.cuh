// Device pieces the attention kernels share (attention.cu, attention_flash.cu): where a head starts in an
// operand or the mask, a score scaled and capped, and the one-time permission for more dynamic shared memory
// than the default.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <mutex>
#include <set>
#include <utility>

#include "kernels/cuda/launch.h"

namespace lowp::kernels::cuda {

/// The offset of head h's first element under per-leading-dim `strides` (an operand's AttentionStrides::lead
/// or the mask's). Head counts fit 32 bits (the launchers' grids do), so the index splits with 32-bit
/// division, several times cheaper than 64-bit.
__device__ __forceinline__ int64_t attentionHeadOffset(const AttentionShape& s, const int64_t* strides,
                                                       int64_t h) {
  int64_t offset = 0;
  auto rest = static_cast<uint32_t>(h);
  for (int d = s.leadRank - 1; d >= 0; --d) {
    const auto size = static_cast<uint32_t>(s.lead[d]);
    offset += static_cast<int64_t>(rest % size) * strides[d];
    rest /= size;
  }
  return offset;
}

/// A score's dot product scaled, and capped when s.softcap > 0: softcap * tanh(scale * dot / softcap).
__device__ __forceinline__ float attentionScore(const AttentionShape& s, float dot) {
  const float x = dot * s.scale;
  return s.softcap > 0.0f ? s.softcap * tanhf(x / s.softcap) : x;
}

/// How many of the first keys query row i sees: s.sk, or with causal those up to its diagonal i + sk - sq
/// (none for a row before the first key).
__device__ __forceinline__ int64_t attentionKeysSeen(const AttentionShape& s, int64_t i) {
  if (!s.causal) return s.sk;
  const int64_t seen = i + s.sk - s.sq + 1;
  return seen < 0 ? 0 : (seen > s.sk ? s.sk : seen);
}

/// Lets `kernel` take `bytes` of dynamic shared memory (beyond the default 48 KiB), once per device and
/// kernel: the first launch comes while the builder times tactics, so no later launch (inside a CUDA graph's
/// capture, say) makes the call.
template <typename Kernel>
cudaError_t allowDynamicSharedMemory(Kernel kernel, int64_t bytes) {
  // Kernels of one signature share this instantiation: each is remembered by its address.
  static std::mutex mutex;
  static std::set<std::pair<int, const void*>> done;
  int device = 0;
  cudaError_t result = cudaGetDevice(&device);
  if (result != cudaSuccess) return result;
  const std::pair<int, const void*> key(device, reinterpret_cast<const void*>(kernel));
  std::lock_guard<std::mutex> lock(mutex);
  if (done.count(key) != 0) return cudaSuccess;
  result = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
  if (result == cudaSuccess) done.insert(key);
  return result;
}

}  // namespace lowp::kernels::cuda
