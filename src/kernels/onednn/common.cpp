// Shared pieces of the oneDNN kernels (see common.h): engine, streams, threading, scratchpads, errors.
#include "kernels/onednn/common.h"

#include <omp.h>

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>

#include "kernels/onednn/onednn.h"

namespace lowp::kernels::onednn {

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& threadStream() {
  thread_local dnnl::stream stream(cpuEngine());
  return stream;
}

void runOnCallingThreadOnly() {
  thread_local bool single = false;
  if (!single) {
    omp_set_num_threads(1);
    single = true;
  }
}

Status parallelOneDnn(const KernelContext& ctx, int64_t n, int64_t grain,
                      const std::function<void(int64_t, int64_t)>& fn) {
  std::mutex mutex;
  std::optional<Status> failed;
  ctx.parallelFor(n, grain, [&](int64_t begin, int64_t end) {
    try {
      runOnCallingThreadOnly();
      fn(begin, end);
    } catch (const dnnl::error& e) {
      const std::lock_guard<std::mutex> lock(mutex);
      if (!failed) failed = oneDnnError(ctx, e);
    }
  });
  return failed ? *failed : Status();
}

dnnl::primitive_attr concurrentAttr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::memory threadScratchpad(const dnnl::memory::desc& desc) {
  struct alignas(64) CacheLine {
    std::byte bytes[64];
  };
  thread_local std::vector<CacheLine> buffer;
  const size_t lines = (desc.get_size() + sizeof(CacheLine) - 1) / sizeof(CacheLine);
  if (buffer.size() < lines) buffer.resize(lines);
  return {desc, cpuEngine(), buffer.data()};
}

dnnl::memory::dims toDims(const std::vector<int64_t>& sizes) {
  return dnnl::memory::dims(sizes.begin(), sizes.end());
}

bool rankKnownNoZeroDim(const ir::Shape& shape) {
  if (!shape.rankKnown()) return false;
  for (const ir::Dim& d : shape.dims()) {
    if (d.size == 0) return false;
  }
  return true;
}

Status oneDnnError(const KernelContext& ctx, const dnnl::error& e) {
  return Status(StatusCode::kInternal,
                ctx.node().describe() + ": oneDNN failed (status " +
                    std::to_string(static_cast<int>(e.status)) + "): " + e.what(),
                ctx.node().name);
}

void registerOneDnnKernels(KernelRegistry& registry) {
  registerConvKernels(registry);
  registerMatMulKernels(registry);
}

}  // namespace lowp::kernels::onednn
