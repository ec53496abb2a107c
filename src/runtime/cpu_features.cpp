#include "runtime/cpu_features.h"

#include <cpuid.h>

#include <cstdint>
#include <string>

#if LOWP_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace lowp::runtime {
namespace {

uint64_t readXcr0() {
  uint32_t eax = 0;
  uint32_t edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return f;
  const bool osxsave = (ecx & bit_OSXSAVE) != 0;
  const bool fma = (ecx & bit_FMA) != 0;
  const bool f16c = (ecx & bit_F16C) != 0;
  if (!osxsave) return f;
  const uint64_t xcr0 = readXcr0();
  const bool osAvx = (xcr0 & 0x6) == 0x6;                                  // XMM and YMM state
  const bool osAvx512 = (xcr0 & 0xe6) == 0xe6;                             // plus opmask, ZMM_Hi256, Hi16_ZMM
  const bool osAmx = (xcr0 & (uint64_t{3} << 17)) == (uint64_t{3} << 17);  // tile configuration and data
  f.f16c = osAvx && f16c;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return f;
  f.avx2 = osAvx && fma && (ebx & bit_AVX2) != 0;
  f.avx512 =
      osAvx512 && (ebx & bit_AVX512F) && (ebx & bit_AVX512BW) && (ebx & bit_AVX512DQ) && (ebx & bit_AVX512VL);
  f.avx512Vnni = f.avx512 && (ecx & bit_AVX512VNNI) != 0;
  f.avx512Fp16 = f.avx512 && (edx & (1u << 23)) != 0;
  f.amxTile = osAmx && (edx & (1u << 24)) != 0;
  f.amxBf16 = f.amxTile && (edx & (1u << 22)) != 0;
  f.amxInt8 = f.amxTile && (edx & (1u << 25)) != 0;
  unsigned eax1 = 0, ebx1 = 0, ecx1 = 0, edx1 = 0;
  if (__get_cpuid_count(7, 1, &eax1, &ebx1, &ecx1, &edx1) != 0) {
    f.avx512Bf16 = f.avx512 && (eax1 & (1u << 5)) != 0;
    f.avxVnni = f.avx2 && (eax1 & (1u << 4)) != 0;
    f.amxFp16 = f.amxTile && (eax1 & (1u << 21)) != 0;
  }
  return f;
}

}  // namespace

const CpuFeatures& cpuFeatures() {
  static const CpuFeatures features = detect();
  return features;
}

bool cpuSupports(kernels::CpuFeature feature) {
  const CpuFeatures& f = cpuFeatures();
  switch (feature) {
    case kernels::CpuFeature::kNone:
      return true;
    case kernels::CpuFeature::kAvx2:
      return f.avx2;
    case kernels::CpuFeature::kAvx512:
      return f.avx512;
    case kernels::CpuFeature::kAvx512Bf16:
      return f.avx512Bf16;
    case kernels::CpuFeature::kAvx512Vnni:
      return f.avx512Vnni;
  }
  return false;
}

std::string describeCpuFeatures() {
  const CpuFeatures& f = cpuFeatures();
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (on) s += (s.empty() ? "" : " ") + std::string(name);
  };
  add(f.avx2, "avx2");
  add(f.avx512, "avx512");
  add(f.avx512Vnni, "avx512_vnni");
  add(f.avx512Bf16, "avx512_bf16");
  add(f.avx512Fp16, "avx512_fp16");
  return s.empty() ? "baseline x86-64" : s;
}

// cpuid leaves 0x80000002..4, trimmed.
std::string cpuBrand() {
  unsigned int regs[12] = {};
  unsigned int maxLeaf = 0;
  unsigned int b = 0;
  unsigned int c = 0;
  unsigned int d = 0;
  __cpuid(0x80000000, maxLeaf, b, c, d);
  if (maxLeaf < 0x80000004) return "unknown";
  for (unsigned int i = 0; i < 3; ++i) {
    __cpuid(0x80000002 + i, regs[i * 4], regs[i * 4 + 1], regs[i * 4 + 2], regs[i * 4 + 3]);
  }
  std::string brand(reinterpret_cast<const char*>(regs), sizeof(regs));
  brand = brand.c_str();
  const size_t first = brand.find_first_not_of(' ');
  const size_t last = brand.find_last_not_of(' ');
  return first == std::string::npos ? "unknown" : brand.substr(first, last - first + 1);
}

std::string deviceFingerprint() {
  std::string s = "cpu=" + cpuBrand() + "; isa=" + describeCpuFeatures() + "; lowp=" + LOWP_VERSION;
#if LOWP_WITH_ONEDNN
  const dnnl_version_t* v = dnnl_version();
  s += "; onednn=" + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
       std::to_string(v->patch);
#endif
  return s;
}

}  // namespace lowp::runtime
