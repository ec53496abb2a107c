// lowp public API: the device engines are built for and run on — what it is and what it can do.
//
// Engines are tied to the device that built them (its fingerprint is written into every engine file and
// timing cache). Which reduced precisions can make a model faster depends on the device: a type only
// speeds up arithmetic where the device has instructions that compute in it; elsewhere it is storage only
// (values are widened to fp32 to compute), which halves the bytes but not the work.
//
//   const lowp::DeviceInfo& device = lowp::deviceInfo();
//   if (lowp::typeArithmetic(lowp::DataType::kFloat16).arithmetic != lowp::Arithmetic::kNative)
//     std::cout << "fp16 is storage only on " << device.name << "\n";
//
// deviceInfo(Device::kCuda) and typeArithmetic(type, Device::kCuda) say the same of a GPU.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lowp/data_type.h"
#include "lowp/engine.h"

namespace lowp {

/// How the device computes in an element type.
enum class Arithmetic {
  kNone = 0,  ///< The device neither computes in the type nor has a fast conversion for it.
  kStorageOnly =
      1,        ///< Values are stored in the type but widened (to fp32) to compute: fewer bytes, same work.
  kNative = 2,  ///< The device has instructions that multiply and accumulate values of the type.
};

/// "none", "storage only", "native".
std::string_view arithmeticName(Arithmetic arithmetic);

/// The CPU features that matter for precisions, each true only where the processor has it (cpuid) and the
/// operating system saves its registers (XGETBV), so that kernels using it can run.
struct CpuFeatureFlags {
  bool avx2 = false;        ///< AVX2 and FMA: fp32 vector arithmetic, 8 lanes.
  bool f16c = false;        ///< F16C: fp16 <-> fp32 conversion only (no fp16 arithmetic).
  bool avx512 = false;      ///< AVX-512 F, BW, DQ, VL: fp32 vector arithmetic, 16 lanes.
  bool avx512Vnni = false;  ///< AVX-512 VNNI: int8 dot products accumulated in int32.
  bool avxVnni = false;     ///< AVX-VNNI: the same int8 dot products on 256-bit registers.
  bool avx512Bf16 = false;  ///< AVX-512 BF16: bf16 dot products accumulated in fp32.
  bool avx512Fp16 = false;  ///< AVX-512 FP16: fp16 arithmetic.
  bool amxTile = false;     ///< AMX tiles (the OS has enabled their state).
  bool amxBf16 = false;     ///< AMX bf16 tile matrix multiply.
  bool amxInt8 = false;     ///< AMX int8 tile matrix multiply.
  bool amxFp16 = false;     ///< AMX fp16 tile matrix multiply.
};

/// A library lowp computes with, and its version.
struct LibraryVersion {
  std::string name;     ///< "lowp", "oneDNN".
  std::string version;  ///< "0.1.0", "2.6.3".
  /// What else the library says about itself that matters for speed, e.g. oneDNN's highest instruction
  /// set ("avx512_core_bf16") and threading runtime; empty when nothing.
  std::string detail;
};

/// What the device is and can do.
struct DeviceInfo {
  Device device = Device::kCpu;
  std::string kind;  ///< "cpu" or "cuda".
  /// The processor's brand string, e.g. "AMD EPYC 9B14" ("unknown" when it gives none), or the GPU's name,
  /// e.g. "NVIDIA H100 80GB HBM3"; for a GPU lowp cannot use, why ("no CUDA device: ...").
  std::string name;
  int logicalCores = 0;       ///< Logical CPUs of the machine (the default thread count of engines).
  CpuFeatureFlags features;   ///< The CPU features that matter for precisions (all false for a GPU).
  int computeCapability = 0;  ///< A GPU's, major * 10 + minor (90 on Hopper); 0 for the CPU.
  int multiprocessors = 0;    ///< A GPU's streaming multiprocessors.
  /// The features engines are keyed on, e.g. "avx2 avx512 avx512_vnni", or "sm_90, 132 SMs, 79.1 GiB".
  std::string featureText;
  std::vector<LibraryVersion> libraries;  ///< lowp first, then the kernel libraries compiled in.
  /// What engine files and timing caches are tied to (the device, its features, lowp and library
  /// versions): an engine file built under another fingerprint is refused on load. Empty for a GPU lowp
  /// cannot use.
  std::string fingerprint;
};

/// The CPU this process runs on, or CUDA GPU `cudaOrdinal` for Device::kCuda; each detected once.
const DeviceInfo& deviceInfo(Device device = Device::kCpu, int cudaOrdinal = 0);

/// How the device computes in one element type.
struct TypeArithmetic {
  DataType type = DataType::kUndefined;
  Arithmetic arithmetic = Arithmetic::kNone;
  /// The instructions that decide it, e.g. "avx512_bf16 (bf16 dot products)" or, for storage only, the
  /// conversion that widens the values, e.g. "f16c (fp16 -> fp32 conversion), no avx512_fp16".
  std::string via;
};

/// How the device computes in `type`, one of the precisions engines choose between. On the CPU, fp32 and
/// fp64 are native wherever lowp runs; fp16 is native with AVX-512 FP16 or AMX-FP16, else storage only; bf16
/// native with AVX-512 BF16 or AMX-BF16, else storage only; int8 native with VNNI or AMX-INT8, and also with
/// AVX2 alone (multiply-add in three instructions, `via` says so); fp8 types are storage only. On a GPU, by
/// compute capability: fp32 on its CUDA cores (and TF32 tensor cores from 8.0), fp16 on tensor cores from
/// 7.0, bf16 from 8.0, int8 from 7.5, fp8 from 8.9 (this is the device's arithmetic: which of them lowp has
/// kernels for is the builder's report). Other types (integers other than int8, bool, strings) give kNone:
/// they are not precisions the builder picks.
TypeArithmetic typeArithmetic(DataType type, Device device = Device::kCpu, int cudaOrdinal = 0);
/// The same for the device `info` describes (one deviceInfo() returned).
TypeArithmetic typeArithmetic(DataType type, const DeviceInfo& info);

/// The device in one line: "AMD EPYC 9B14 (2 logical cores; avx2 avx512 ...)" or
/// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)".
std::string describeDevice(const DeviceInfo& info);

}  // namespace lowp
