// Shared pieces of the oneDNN kernels: the one CPU engine, a stream per thread, the registration of each
// family, and the conversion of oneDNN's exceptions into a Status that names the node.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/kernel.h"

namespace lowp::kernels::onednn {

/// The process-wide oneDNN CPU engine (engines are thread-safe).
dnnl::engine& cpuEngine();

/// A oneDNN stream of cpuEngine() for the calling thread (streams are not shared between threads).
dnnl::stream& threadStream();

/// Makes oneDNN run on the calling thread alone (an OpenMP team of one). The kernels split their work over
/// lowp's own thread pool instead: OpenMP's workers would otherwise spin-wait after every primitive, on the
/// cores the pool's threads need for the next node (measured on a shared 2-core machine: ResNet-50 at batch 8
/// took 2.1 s with oneDNN's 2 OpenMP threads, 0.9 s split over the pool).
/// Cheap after the first call on a thread.
void runOnCallingThreadOnly();

/// Runs fn(begin, end) over [0, n) on lowp's pool, each chunk with runOnCallingThreadOnly(); a oneDNN error
/// thrown in any chunk comes back as the kernel's Status instead of escaping a worker thread.
Status parallelOneDnn(const KernelContext& ctx, int64_t n, int64_t grain,
                      const std::function<void(int64_t, int64_t)>& fn);

/// Primitive attributes with a user-provided scratchpad: the kernels run one primitive on several threads
/// at once, each execution with its own scratchpad from threadScratchpad().
dnnl::primitive_attr concurrentAttr();

/// Memory for `desc` (a primitive's scratchpad_desc()) in a buffer of the calling thread, grown as needed.
dnnl::memory threadScratchpad(const dnnl::memory::desc& desc);

/// A tensor's sizes as oneDNN dims.
dnnl::memory::dims toDims(const std::vector<int64_t>& sizes);

/// True when the rank of `shape` is known and none of its known dimensions is 0 (oneDNN plans no empty
/// tensors; unknown dimensions are resolved at run time, where the kernels handle empty ones themselves).
bool rankKnownNoZeroDim(const ir::Shape& shape);

/// The status a kernel returns when oneDNN threw `e` while running the node of `ctx`.
Status oneDnnError(const KernelContext& ctx, const dnnl::error& e);

void registerConvKernels(KernelRegistry& registry);
void registerMatMulKernels(KernelRegistry& registry);

}  // namespace lowp::kernels::onednn
