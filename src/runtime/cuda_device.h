// The CUDA device (built with LOWP_WITH_CUDA): device memory, a stream, a cuBLASLt handle, a cuDNN handle
// and a workspace, pinned host buffers, events for timing, and the device's fingerprint.
//
// One CudaDevice serves one execution context (one stream): its kernelContext() is what every CUDA kernel's
// KernelContext::cuda() points at. Every CUDA, cuBLASLt and cuDNN call is checked; the Status-returning
// methods name the call that failed. The runtime::Device overrides cannot return a Status: they keep the
// first failure, which status() reports (and allocate() returns null on failure).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/cuda/cuda_context.h"
#include "kernels/kernel.h"
#include "lowp/status.h"
#include "lowp/tensor.h"
#include "runtime/device.h"

namespace lowp::runtime {

/// Identity of a GPU and the libraries lowp runs on it: what engine files and timing caches record, so that
/// one made elsewhere is refused.
struct CudaFingerprint {
  std::string gpuName;  ///< "NVIDIA H100 80GB HBM3".
  int smMajor = 0;      ///< Compute capability, 9.0 on Hopper.
  int smMinor = 0;
  int multiprocessors = 0;
  size_t memoryBytes = 0;
  int driverVersion = 0;       ///< The CUDA version the driver supports (cudaDriverGetVersion: 13000 = 13.0).
  int runtimeVersion = 0;      ///< The CUDA runtime lowp is linked with.
  size_t cudnnVersion = 0;     ///< cudnnGetVersion() of the library loaded: 91400 = 9.14.0.
  size_t cublasLtVersion = 0;  ///< cublasLtGetVersion() of the library loaded: 130100 = 13.1.0.

  /// "NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.1 GiB; driver CUDA 13.0, runtime 13.0, cuDNN 9.14.0,
  /// cuBLASLt 13.1.0".
  std::string text() const;
};

/// True when the CUDA runtime sees at least one device (false, not an error, on machines without one).
bool cudaDevicePresent();

/// The fingerprint of device `ordinal`.
Result<CudaFingerprint> cudaFingerprint(int ordinal = 0);

/// Host memory that the GPU copies to and from at full speed (cudaMallocHost).
Result<std::shared_ptr<void>> allocatePinned(size_t bytes);

/// A CUDA event (timing enabled), destroyed with the object.
class CudaEvent {
 public:
  static Result<CudaEvent> create();
  CudaEvent(CudaEvent&& other) noexcept : event_(other.event_) { other.event_ = nullptr; }
  CudaEvent& operator=(CudaEvent&& other) noexcept;
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  ~CudaEvent();

  Status record(cudaStream_t stream);
  Status synchronize();
  /// Milliseconds from `start` to this event; both recorded and complete.
  Result<float> elapsedSince(const CudaEvent& start) const;
  cudaEvent_t get() const { return event_; }

 private:
  explicit CudaEvent(cudaEvent_t event) : event_(event) {}
  cudaEvent_t event_ = nullptr;
};

/// A tensor in device memory: `view` points into `buffer`, which owns the memory.
struct DeviceTensor {
  std::shared_ptr<void> buffer;
  Tensor view;
};

class CudaDevice final : public Device {
 public:
  /// Workspace for cuBLASLt and cuDNN: 64 MiB covers their fast algorithms for the models lowp targets.
  static constexpr size_t kDefaultWorkspaceBytes = size_t{64} << 20;

  /// Device `ordinal`, with its own stream and handles.
  static Result<std::unique_ptr<CudaDevice>> create(int ordinal = 0,
                                                    size_t workspaceBytes = kDefaultWorkspaceBytes);
  CudaDevice(const CudaDevice&) = delete;
  CudaDevice& operator=(const CudaDevice&) = delete;
  ~CudaDevice() override;

  DeviceKind kind() const override { return DeviceKind::kCuda; }
  /// "cuda: " + the fingerprint's text.
  std::string description() const override;
  /// cudaMalloc'd memory (256-byte aligned) freed with the last reference; null on failure (see status()).
  std::shared_ptr<void> allocate(size_t bytes) override;
  /// Copies on the device's stream and waits for them (host memory may be pageable).
  void copyToDevice(void* dst, const void* src, size_t bytes) override;
  void copyToHost(void* dst, const void* src, size_t bytes) override;
  void synchronize() override;

  /// The first failure of the Device overrides above; OK when there was none.
  const Status& status() const { return sticky_; }

  /// The same operations with their own Status.
  Result<std::shared_ptr<void>> allocateChecked(size_t bytes);
  Status copyIn(void* deviceDst, const void* hostSrc, size_t bytes);
  Status copyOut(void* hostDst, const void* deviceSrc, size_t bytes);
  /// Waits for the stream, then reports any error a kernel raised on it.
  Status sync();
  /// The same copies queued on the stream without waiting (a pageable host source is staged before the
  /// call returns; a pageable host destination is written before it returns).
  Status copyInAsync(void* deviceDst, const void* hostSrc, size_t bytes);
  Status copyOutAsync(void* hostDst, const void* deviceSrc, size_t bytes);
  /// A device copy of `host`, in memory of its own; waits for the copy.
  Result<DeviceTensor> upload(const Tensor& host);
  /// Makes this device the calling thread's current one (cudaSetDevice), for allocations made from a thread
  /// other than the creating one.
  Status makeCurrent();

  /// What CUDA kernels run with (KernelContext::setCuda).
  kernels::cuda::CudaContext& kernelContext() { return context_; }
  cudaStream_t stream() const { return context_.stream; }
  const CudaFingerprint& fingerprint() const { return fingerprint_; }

 private:
  CudaDevice() = default;
  void keep(const Status& status);

  kernels::cuda::CudaContext context_;
  CudaFingerprint fingerprint_;
  Status sticky_;
};

}  // namespace lowp::runtime
