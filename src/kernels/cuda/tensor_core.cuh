// Device-side building blocks of lowp's tensor-core kernels (attention_flash.cu, quantized_conv.cu):
// ldmatrix reads of mma.sync fragments and cp.async copies into shared memory. Included by .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace lowp::kernels::cuda {

/// Four 8x8 b16 matrices from shared memory: lane i gives the address of row i % 8 of matrix i / 8, and
/// holds row lane / 4, elements 2 (lane % 4) and the next (bytes 4 (lane % 4) to 4 (lane % 4) + 3), of each.
__device__ __forceinline__ void ldmatrix(uint32_t r[4], const void* rowAddress) {
  const auto address = static_cast<uint32_t>(__cvta_generic_to_shared(rowAddress));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

/// As ldmatrix, transposed.
__device__ __forceinline__ void ldmatrixTrans(uint32_t r[4], const void* rowAddress) {
  const auto address = static_cast<uint32_t>(__cvta_generic_to_shared(rowAddress));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

/// Starts copying 16 bytes from `from` (16-byte aligned) to shared memory at `to`; `valid` false writes 16
/// zero bytes instead and reads nothing (`from` must still be a mapped address). The copy lands once the
/// group it is committed in is waited for.
__device__ __forceinline__ void copyAsync16(void* to, const void* from, bool valid) {
  const auto address = static_cast<uint32_t>(__cvta_generic_to_shared(to));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(address), "l"(from),
               "r"(valid ? 16 : 0));
}

__device__ __forceinline__ void commitCopies() {
  asm volatile("cp.async.commit_group;\n" ::);
}

/// Waits until at most `kPending` committed groups of copies are still in flight.
template <int kPending>
__device__ __forceinline__ void waitCopies() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

}  // namespace lowp::kernels::cuda
