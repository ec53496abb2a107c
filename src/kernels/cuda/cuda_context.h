// What a CUDA kernel (Backend::kCuda) gets from the runtime to run one node: KernelContext::cuda().
//
// The runtime's CudaDevice (runtime/cuda_device.h) owns everything here; an execution context running on
// the GPU points each CUDA kernel's KernelContext at its device's CudaContext. Kernels queue their work on
// `stream` and never synchronize; they may use `workspace` freely during their own run (work on one stream
// runs in order, so kernels never overlap in it).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>

namespace lowp::kernels::cuda {

struct CudaContext {
  cudaStream_t stream = nullptr;
  cublasLtHandle_t cublasLt = nullptr;
  /// Bound to no stream in particular: a kernel sets `stream` on it before each call (cudnnSetStream).
  cudnnHandle_t cudnn = nullptr;
  /// Scratch device memory for cuBLASLt and cuDNN (256-byte aligned), `workspaceBytes` long.
  void* workspace = nullptr;
  size_t workspaceBytes = 0;
  int device = 0;             ///< The CUDA device ordinal.
  int multiprocessors = 0;    ///< SM count, for grid sizes.
  int computeCapability = 0;  ///< major * 10 + minor: 90 on Hopper.
  /// True while the builder times tactics: a tactic that names one library algorithm (cuBLASLt's "-hN",
  /// cuDNN's "-aN") declines a problem the library offers it for no more, so that each algorithm is timed
  /// once. False in engines: at input shapes the engine was not built for, such a tactic falls back to the
  /// library's first choice rather than fail.
  bool exactTactics = false;
};

}  // namespace lowp::kernels::cuda
