#include "runtime/cuda_device.h"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "kernels/cuda/cuda_check.h"

namespace lowp::runtime {

namespace {

std::string cudaVersionText(int v) {
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

// cuDNN 9 and cuBLASLt 13 number versions major * 10000 + minor * 100 + patch.
std::string libraryVersionText(size_t v) {
  return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
}

}  // namespace

std::string CudaFingerprint::text() const {
  char memory[32];
  std::snprintf(memory, sizeof(memory), "%.1f GiB",
                static_cast<double>(memoryBytes) / (1024.0 * 1024 * 1024));
  return gpuName + ", sm_" + std::to_string(smMajor) + std::to_string(smMinor) + ", " +
         std::to_string(multiprocessors) + " SMs, " + memory + "; driver CUDA " +
         cudaVersionText(driverVersion) + ", runtime " + cudaVersionText(runtimeVersion) + ", cuDNN " +
         libraryVersionText(cudnnVersion) + ", cuBLASLt " + libraryVersionText(cublasLtVersion);
}

bool cudaDevicePresent() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the error this leaves behind
    return false;
  }
  return count > 0;
}

Result<CudaFingerprint> cudaFingerprint(int ordinal) {
  CudaFingerprint f;
  cudaDeviceProp props{};
  LOWP_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&props, ordinal));
  f.gpuName = props.name;
  f.smMajor = props.major;
  f.smMinor = props.minor;
  f.multiprocessors = props.multiProcessorCount;
  f.memoryBytes = props.totalGlobalMem;
  LOWP_CUDA_RETURN_IF_ERROR(cudaDriverGetVersion(&f.driverVersion));
  LOWP_CUDA_RETURN_IF_ERROR(cudaRuntimeGetVersion(&f.runtimeVersion));
  f.cudnnVersion = cudnnGetVersion();
  f.cublasLtVersion = cublasLtGetVersion();
  return f;
}

Result<std::shared_ptr<void>> allocatePinned(size_t bytes) {
  void* p = nullptr;
  LOWP_CUDA_RETURN_IF_ERROR(cudaMallocHost(&p, std::max<size_t>(bytes, 1)));
  return std::shared_ptr<void>(p, [](void* q) { cudaFreeHost(q); });
}

Result<CudaEvent> CudaEvent::create() {
  cudaEvent_t event = nullptr;
  LOWP_CUDA_RETURN_IF_ERROR(cudaEventCreate(&event));
  return CudaEvent(event);
}

CudaEvent& CudaEvent::operator=(CudaEvent&& other) noexcept {
  std::swap(event_, other.event_);
  return *this;
}

CudaEvent::~CudaEvent() {
  if (event_ != nullptr) cudaEventDestroy(event_);
}

Status CudaEvent::record(cudaStream_t stream) {
  LOWP_CUDA_RETURN_IF_ERROR(cudaEventRecord(event_, stream));
  return {};
}

Status CudaEvent::synchronize() {
  LOWP_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(event_));
  return {};
}

Result<float> CudaEvent::elapsedSince(const CudaEvent& start) const {
  float ms = 0.0f;
  LOWP_CUDA_RETURN_IF_ERROR(cudaEventElapsedTime(&ms, start.event_, event_));
  return ms;
}

Result<std::unique_ptr<CudaDevice>> CudaDevice::create(int ordinal, size_t workspaceBytes) {
  std::unique_ptr<CudaDevice> d(new CudaDevice());
  LOWP_ASSIGN_OR_RETURN(d->fingerprint_, cudaFingerprint(ordinal));
  kernels::cuda::CudaContext& c = d->context_;
  c.device = ordinal;
  c.multiprocessors = d->fingerprint_.multiprocessors;
  c.computeCapability = d->fingerprint_.smMajor * 10 + d->fingerprint_.smMinor;
  LOWP_CUDA_RETURN_IF_ERROR(cudaSetDevice(ordinal));
  LOWP_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
  LOWP_CUDA_RETURN_IF_ERROR(cublasLtCreate(&c.cublasLt));
  LOWP_CUDA_RETURN_IF_ERROR(cudnnCreate(&c.cudnn));
  LOWP_CUDA_RETURN_IF_ERROR(cudnnSetStream(c.cudnn, c.stream));
  if (workspaceBytes > 0) LOWP_CUDA_RETURN_IF_ERROR(cudaMalloc(&c.workspace, workspaceBytes));
  c.workspaceBytes = workspaceBytes;
  return d;
}

CudaDevice::~CudaDevice() {
  // Work still queued may use the workspace and handles.
  if (context_.stream != nullptr) cudaStreamSynchronize(context_.stream);
  if (context_.workspace != nullptr) cudaFree(context_.workspace);
  if (context_.cudnn != nullptr) cudnnDestroy(context_.cudnn);
  if (context_.cublasLt != nullptr) cublasLtDestroy(context_.cublasLt);
  if (context_.stream != nullptr) cudaStreamDestroy(context_.stream);
}

std::string CudaDevice::description() const {
  return "cuda: " + fingerprint_.text();
}

void CudaDevice::keep(const Status& status) {
  if (sticky_.isOk() && !status.isOk()) sticky_ = status;
}

Result<std::shared_ptr<void>> CudaDevice::allocateChecked(size_t bytes) {
  void* p = nullptr;
  LOWP_CUDA_RETURN_IF_ERROR(cudaMalloc(&p, std::max<size_t>(bytes, 1)));
  return std::shared_ptr<void>(p, [](void* q) { cudaFree(q); });
}

std::shared_ptr<void> CudaDevice::allocate(size_t bytes) {
  auto p = allocateChecked(bytes);
  if (!p) {
    keep(p.status());
    return nullptr;
  }
  return std::move(p).value();
}

Status CudaDevice::copyIn(void* deviceDst, const void* hostSrc, size_t bytes) {
  if (bytes == 0) return {};
  LOWP_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(deviceDst, hostSrc, bytes, cudaMemcpyHostToDevice, context_.stream));
  return sync();
}

Status CudaDevice::copyOut(void* hostDst, const void* deviceSrc, size_t bytes) {
  if (bytes == 0) return {};
  LOWP_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(hostDst, deviceSrc, bytes, cudaMemcpyDeviceToHost, context_.stream));
  return sync();
}

Status CudaDevice::sync() {
  LOWP_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(context_.stream));
  LOWP_CUDA_RETURN_IF_ERROR(cudaGetLastError());
  return {};
}

Status CudaDevice::copyInAsync(void* deviceDst, const void* hostSrc, size_t bytes) {
  if (bytes == 0) return {};
  LOWP_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(deviceDst, hostSrc, bytes, cudaMemcpyHostToDevice, context_.stream));
  return {};
}

Status CudaDevice::copyOutAsync(void* hostDst, const void* deviceSrc, size_t bytes) {
  if (bytes == 0) return {};
  LOWP_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(hostDst, deviceSrc, bytes, cudaMemcpyDeviceToHost, context_.stream));
  return {};
}

Result<DeviceTensor> CudaDevice::upload(const Tensor& host) {
  DeviceTensor d;
  LOWP_ASSIGN_OR_RETURN(d.buffer, allocateChecked(static_cast<size_t>(host.byteSize())));
  LOWP_RETURN_IF_ERROR(copyIn(d.buffer.get(), host.data(), static_cast<size_t>(host.byteSize())));
  d.view = Tensor::view(host.type(), host.shape(), d.buffer.get());
  return d;
}

Status CudaDevice::makeCurrent() {
  LOWP_CUDA_RETURN_IF_ERROR(cudaSetDevice(context_.device));
  return {};
}

void CudaDevice::copyToDevice(void* dst, const void* src, size_t bytes) {
  keep(copyIn(dst, src, bytes));
}

void CudaDevice::copyToHost(void* dst, const void* src, size_t bytes) {
  keep(copyOut(dst, src, bytes));
}

void CudaDevice::synchronize() {
  keep(sync());
}

}  // namespace lowp::runtime
