// lowp::deviceInfo and lowp::typeArithmetic (include/lowp/device.h): the CPU features runtime/cpu_features.h
// detects, a GPU's compute capability (runtime/cuda_device.h), and the versions of the libraries lowp
// computes with.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lowp/device.h"
#include "runtime/cpu_features.h"
#include "runtime/engine_impl.h"
#ifdef LOWP_WITH_CUDA
#include "runtime/cuda_device.h"
#endif

#if LOWP_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#endif

namespace lowp {
namespace {

CpuFeatureFlags detectFeatures() {
  const runtime::CpuFeatures& known = runtime::cpuFeatures();
  CpuFeatureFlags f;
  f.avx2 = known.avx2;
  f.f16c = known.f16c;
  f.avx512 = known.avx512;
  f.avx512Vnni = known.avx512Vnni;
  f.avxVnni = known.avxVnni;
  f.avx512Bf16 = known.avx512Bf16;
  f.avx512Fp16 = known.avx512Fp16;
  f.amxTile = known.amxTile;
  f.amxBf16 = known.amxBf16;
  f.amxInt8 = known.amxInt8;
  f.amxFp16 = known.amxFp16;
  return f;
}

std::vector<LibraryVersion> detectLibraries() {
  std::vector<LibraryVersion> libraries{{"lowp", LOWP_VERSION, ""}};
#if LOWP_WITH_ONEDNN
  const dnnl_version_t* v = dnnl_version();
  std::string runtime;
  switch (v->cpu_runtime) {
    case DNNL_RUNTIME_OMP:
      runtime = "OpenMP";
      break;
    case DNNL_RUNTIME_TBB:
      runtime = "TBB";
      break;
    case DNNL_RUNTIME_SEQ:
      runtime = "sequential";
      break;
    case DNNL_RUNTIME_THREADPOOL:
      runtime = "threadpool";
      break;
    default:
      runtime = "runtime " + std::to_string(v->cpu_runtime);
  }
  // The highest instruction set oneDNN dispatches to on this CPU: a CPU feature newer than the library
  // (e.g. AVX-512 FP16 under oneDNN 2.x) does not show here and goes unused.
  std::string isa = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa());
  libraries.push_back(
      {"oneDNN", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch),
       "isa " + isa + ", " + runtime + " threads"});
#endif
  return libraries;
}

DeviceInfo detectDevice() {
  DeviceInfo d;
  d.device = Device::kCpu;
  d.kind = "cpu";
  d.fingerprint = runtime::deviceFingerprint();
  d.name = runtime::cpuBrand();
  d.logicalCores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  d.features = detectFeatures();
  d.featureText = runtime::describeCpuFeatures();
  d.libraries = detectLibraries();
  return d;
}

#ifdef LOWP_WITH_CUDA
// "13.0" from 13000, "9.14.0" from 91400: CUDA's and cuDNN's version numbers.
std::string versionText(size_t v, size_t majorUnit, size_t minorUnit) {
  std::string text = std::to_string(v / majorUnit) + "." + std::to_string(v % majorUnit / minorUnit);
  if (minorUnit > 1) text += "." + std::to_string(v % minorUnit);
  return text;
}
#endif

DeviceInfo detectGpu(int ordinal) {
  DeviceInfo d;
  d.device = Device::kCuda;
  d.kind = "cuda";
  d.libraries = {{"lowp", LOWP_VERSION, ""}};
#ifdef LOWP_WITH_CUDA
  auto gpu = runtime::cudaDevicePresent() ? runtime::cudaFingerprint(ordinal)
                                          : Result<runtime::CudaFingerprint>(Status(
                                                StatusCode::kUnsupported, "the CUDA runtime finds no GPU"));
  if (!gpu) {
    d.name = "no CUDA device: " + gpu.status().message();
    return d;
  }
  d.name = gpu->gpuName;
  d.computeCapability = gpu->smMajor * 10 + gpu->smMinor;
  d.multiprocessors = gpu->multiprocessors;
  std::ostringstream text;
  text.precision(3);
  text << "sm_" << d.computeCapability << ", " << gpu->multiprocessors << " SMs, "
       << static_cast<double>(gpu->memoryBytes) / (1 << 30) << " GiB";
  d.featureText = text.str();
  d.libraries.push_back(
      {"CUDA runtime", versionText(static_cast<size_t>(gpu->runtimeVersion), 1000, 10), ""});
  d.libraries.push_back({"CUDA driver", versionText(static_cast<size_t>(gpu->driverVersion), 1000, 10), ""});
  d.libraries.push_back({"cuDNN", versionText(gpu->cudnnVersion, 10000, 100), ""});
  d.libraries.push_back({"cuBLASLt", versionText(gpu->cublasLtVersion, 10000, 100), ""});
  auto fingerprint = runtime::engineFingerprint(Device::kCuda, ordinal);
  if (fingerprint) d.fingerprint = *fingerprint;
#else
  (void)ordinal;
  d.name = "no CUDA device: this build of lowp has no CUDA backend (LOWP_WITH_CUDA)";
#endif
  return d;
}

TypeArithmetic gpuArithmetic(DataType type, const DeviceInfo& d) {
  TypeArithmetic t;
  t.type = type;
  const int cc = d.computeCapability;
  auto set = [&](bool native, const std::string& via) {
    t.arithmetic = native ? Arithmetic::kNative : Arithmetic::kStorageOnly;
    t.via = via;
    return t;
  };
  if (cc == 0) {
    t.via = d.name;
    return t;
  }
  const std::string sm = "sm_" + std::to_string(cc);
  switch (type) {
    case DataType::kFloat32:
      return set(true,
                 cc >= 80 ? "CUDA cores (fp32 FMA); tf32 tensor cores for matrix products" : "CUDA cores");
    case DataType::kFloat64:
      return set(true, "CUDA cores (fp64)");
    case DataType::kFloat16:
      return set(cc >= 70, cc >= 70 ? "tensor cores (fp16 products, fp32 accumulation)"
                                    : "no fp16 tensor cores on " + sm);
    case DataType::kBFloat16:
      return set(cc >= 80, cc >= 80 ? "tensor cores (bf16 products, fp32 accumulation)"
                                    : "no bf16 tensor cores before sm_80 (" + sm + ")");
    case DataType::kInt8:
      return set(cc >= 75, cc >= 75 ? "tensor cores (int8 products, int32 accumulation)"
                                    : "no int8 tensor cores before sm_75 (" + sm + ")");
    case DataType::kFloat8E4M3FN:
    case DataType::kFloat8E5M2:
      return set(cc >= 89, cc >= 89 ? "tensor cores (fp8 products, fp32 accumulation)"
                                    : "no fp8 tensor cores before sm_89 (" + sm + ")");
    default:
      t.via = "not a precision engines compute in";
      return t;
  }
}

}  // namespace

std::string_view arithmeticName(Arithmetic arithmetic) {
  switch (arithmetic) {
    case Arithmetic::kNone:
      return "none";
    case Arithmetic::kStorageOnly:
      return "storage only";
    case Arithmetic::kNative:
      return "native";
  }
  return "none";
}

const DeviceInfo& deviceInfo(Device device, int cudaOrdinal) {
  static const DeviceInfo cpu = detectDevice();
  if (device == Device::kCpu) return cpu;
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<DeviceInfo>> gpus;
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<DeviceInfo>& gpu = gpus[cudaOrdinal];
  if (gpu == nullptr) gpu = std::make_unique<DeviceInfo>(detectGpu(cudaOrdinal));
  return *gpu;
}

TypeArithmetic typeArithmetic(DataType type, Device device, int cudaOrdinal) {
  return typeArithmetic(type, deviceInfo(device, cudaOrdinal));
}

std::string describeDevice(const DeviceInfo& info) {
  if (info.device == Device::kCuda)
    return info.name + (info.featureText.empty() ? "" : " (" + info.featureText + ")");
  return info.name + " (" + std::to_string(info.logicalCores) + " logical cores; " + info.featureText + ")";
}

TypeArithmetic typeArithmetic(DataType type, const DeviceInfo& info) {
  if (info.device == Device::kCuda) return gpuArithmetic(type, info);
  const CpuFeatureFlags& f = info.features;
  TypeArithmetic t;
  t.type = type;
  auto set = [&](Arithmetic a, std::string via) {
    t.arithmetic = a;
    t.via = std::move(via);
    return t;
  };
  switch (type) {
    case DataType::kFloat32:
    case DataType::kFloat64:
      return set(Arithmetic::kNative, f.avx512 ? "avx512f" : f.avx2 ? "avx2 fma" : "sse2");
    case DataType::kFloat16:
      if (f.avx512Fp16) return set(Arithmetic::kNative, "avx512_fp16 (fp16 arithmetic)");
      if (f.amxFp16) return set(Arithmetic::kNative, "amx_fp16 (fp16 tile matrix multiply)");
      return set(Arithmetic::kStorageOnly, f.f16c ? "f16c (fp16 <-> fp32 conversion), no avx512_fp16"
                                                  : "software conversion, no avx512_fp16");
    case DataType::kBFloat16:
      if (f.amxBf16) return set(Arithmetic::kNative, "amx_bf16 (bf16 tile matrix multiply)");
      if (f.avx512Bf16) return set(Arithmetic::kNative, "avx512_bf16 (bf16 dot products into fp32)");
      return set(Arithmetic::kStorageOnly, "shift to fp32, no avx512_bf16");
    case DataType::kInt8:
      if (f.amxInt8) return set(Arithmetic::kNative, "amx_int8 (int8 tile matrix multiply)");
      if (f.avx512Vnni) return set(Arithmetic::kNative, "avx512_vnni (int8 dot products into int32)");
      if (f.avxVnni) return set(Arithmetic::kNative, "avx_vnni (int8 dot products into int32, 256-bit)");
      if (f.avx2) return set(Arithmetic::kNative, "avx2 multiply-add in three instructions, no vnni");
      return set(Arithmetic::kStorageOnly, "no int8 dot products");
    case DataType::kFloat8E4M3FN:
    case DataType::kFloat8E4M3FNUZ:
    case DataType::kFloat8E5M2:
    case DataType::kFloat8E5M2FNUZ:
      return set(Arithmetic::kStorageOnly, "software conversion (no fp8 arithmetic on CPUs)");
    default:
      return set(Arithmetic::kNone, "not a precision engines compute in");
  }
}

}  // namespace lowp
