#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>

#include "runtime/cpu_features.h"
#include "runtime/device.h"

namespace lowp::runtime {

std::string CpuDevice::description() const {
  std::string model = "unknown CPU";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) model = line.substr(colon + 2);
      break;
    }
  }
  return "cpu: " + model + " (" + std::to_string(pool_.threadCount()) + " threads, " + describeCpuFeatures() +
         ")";
}

std::shared_ptr<void> CpuDevice::allocate(size_t bytes) {
  size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw std::bad_alloc();
  return {p, [](void* q) { std::free(q); }};
}

void CpuDevice::copyToDevice(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
}
void CpuDevice::copyToHost(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
}

}  // namespace lowp::runtime
