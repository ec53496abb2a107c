// lowp::deviceInfo and lowp::typeArithmetic (include/lowp/device.h): the CPU features runtime/cpu_features.h
// detects, and the versions of the libraries lowp computes with.
#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "lowp/device.h"
#include "runtime/cpu_features.h"

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
  d.kind = "cpu";
  d.fingerprint = runtime::deviceFingerprint();
  d.name = runtime::cpuBrand();
  d.logicalCores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  d.features = detectFeatures();
  d.featureText = runtime::describeCpuFeatures();
  d.libraries = detectLibraries();
  return d;
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

const DeviceInfo& deviceInfo() {
  static const DeviceInfo info = detectDevice();
  return info;
}

TypeArithmetic typeArithmetic(DataType type) {
  const CpuFeatureFlags& f = deviceInfo().features;
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
