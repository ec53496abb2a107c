// Devices: where tensors live and kernels run. The CPU device is host memory and the calling thread plus a
// thread pool; a CUDA device adds its own memory and streams behind the same interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/thread_pool.h"

namespace lowp::runtime {

enum class DeviceKind { kCpu = 0, kCuda = 1 };

class Device {
 public:
  virtual ~Device() = default;
  virtual DeviceKind kind() const = 0;
  /// Human-readable identity, e.g. "cpu: Intel Xeon ... (2 threads, avx512f avx512_bf16 avx512_vnni)".
  virtual std::string description() const = 0;
  /// Allocates `bytes` of device memory aligned to at least 64 bytes.
  virtual std::shared_ptr<void> allocate(size_t bytes) = 0;
  /// Copies between host memory and device memory (both host memory on the CPU device).
  virtual void copyToDevice(void* dst, const void* src, size_t bytes) = 0;
  virtual void copyToHost(void* dst, const void* src, size_t bytes) = 0;
  /// Waits until all work queued on the device is done (a no-op where kernels run synchronously).
  virtual void synchronize() = 0;
};

class CpuDevice final : public Device {
 public:
  explicit CpuDevice(int threads) : pool_(threads) {}
  DeviceKind kind() const override { return DeviceKind::kCpu; }
  std::string description() const override;
  std::shared_ptr<void> allocate(size_t bytes) override;
  void copyToDevice(void* dst, const void* src, size_t bytes) override;
  void copyToHost(void* dst, const void* src, size_t bytes) override;
  void synchronize() override {}
  ThreadPool& pool() { return pool_; }

 private:
  ThreadPool pool_;
};

}  // namespace lowp::runtime
