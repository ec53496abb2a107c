// CPU feature detection: cpuid for what the processor implements, XGETBV for what the operating system
// saves on context switches (AVX and AVX-512 registers are usable only when both agree). Detected once.
#pragma once

#include <string>

#include "kernels/kernel.h"

namespace lowp::runtime {

struct CpuFeatures {
  bool avx2 = false;        ///< AVX2 and FMA.
  bool avx512 = false;      ///< AVX-512 F, BW, DQ, VL.
  bool avx512Vnni = false;  ///< AVX-512 VNNI (int8 dot products).
  bool avx512Bf16 = false;  ///< AVX-512 BF16 (bf16 dot products).
  bool avx512Fp16 = false;  ///< AVX-512 FP16 (native fp16 arithmetic).
  bool f16c = false;        ///< F16C: fp16 <-> fp32 conversion only.
  bool avxVnni = false;     ///< AVX-VNNI: int8 dot products on 256-bit registers.
  bool amxTile = false;     ///< AMX tiles, with their state enabled by the OS.
  bool amxBf16 = false;     ///< AMX bf16 tile multiply.
  bool amxInt8 = false;     ///< AMX int8 tile multiply.
  bool amxFp16 = false;     ///< AMX fp16 tile multiply.
};

/// The features of the CPU this process runs on.
const CpuFeatures& cpuFeatures();

/// True when kernels requiring `feature` can run here.
bool cpuSupports(kernels::CpuFeature feature);

/// The processor's brand string (cpuid), e.g. "AMD EPYC 9B14"; "unknown" when it gives none.
std::string cpuBrand();

/// "avx2 avx512 avx512_vnni avx512_bf16" — the detected features, for reports and fingerprints.
std::string describeCpuFeatures();

/// What an engine file or a timing cache is tied to: the CPU model, its features, the lowp version and
/// the kernel libraries' versions, e.g. "cpu=AMD EPYC 9B14; isa=avx2 avx512 ...; lowp=0.1.0; onednn=2.6.3".
/// Times measured and tactics chosen under one fingerprint do not carry over to another.
std::string deviceFingerprint();

}  // namespace lowp::runtime
