// makeCudaTimer (tactic_timing.h): tactics timed on a CUDA GPU with events on the device's stream.
//
// Given values and constants are uploaded once per timing; other inputs are filled with random values on
// the device (a host pass over a large activation costs seconds), outputs get zeroed device memory of their
// storage size (padded layouts included). Each timed run is a group of back-to-back launches between two
// events, so that the clock's resolution (about half a microsecond) does not count; the group is recorded
// once into a CUDA graph and replayed, so that the time is the device's (as when an engine replays its
// layers as a CUDA graph), not the host's cost of queuing them; a kernel that cannot be recorded is
// launched directly.
#include <cuda_runtime_api.h>

#include <functional>
#include <memory>

#include "builder/tactic_timing.h"
#include "ir/format.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/cuda/launch.h"
#include "runtime/cuda_device.h"
#include "runtime/engine_impl.h"

namespace lowp::builder {
namespace {

// A group of a kernel's launches recorded into a CUDA graph, for as many repeats as it was recorded with.
struct GroupGraph {
  int repeats = 0;
  std::shared_ptr<CUgraphExec_st> exec;

  // Records `launches` (`count` launches) on `stream`; false where the kernel cannot be recorded (a call
  // that is not allowed while a stream records, or a failure while recording).
  bool record(cudaStream_t stream, int count, const std::function<Status()>& launches) {
    repeats = 0;
    exec.reset();
    if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    const Status queued = launches();
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
    std::shared_ptr<CUgraph_st> owned(graph, [](cudaGraph_t g) {
      if (g != nullptr) cudaGraphDestroy(g);
    });
    cudaGraphExec_t instance = nullptr;
    if (!queued || ended != cudaSuccess || cudaGraphInstantiate(&instance, graph, 0) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    exec = std::shared_ptr<CUgraphExec_st>(instance, [](cudaGraphExec_t e) { cudaGraphExecDestroy(e); });
    repeats = count;
    return true;
  }
};

class CudaTimer final : public TacticTimer {
 public:
  CudaTimer(std::unique_ptr<runtime::CudaDevice> device, std::string fingerprint)
      : device_(std::move(device)), fingerprint_(std::move(fingerprint)) {
    device_->kernelContext().exactTactics = true;
  }

  kernels::Backend backend() const override { return kernels::Backend::kCuda; }
  const std::string& fingerprint() const override { return fingerprint_; }

  Result<double> time(const ir::Node& node, const kernels::KernelDef& kernel, const TimingOptions& options,
                      const std::vector<const Tensor*>& inputValues) override {
    LOWP_RETURN_IF_ERROR(device_->makeCurrent());
    std::vector<std::shared_ptr<void>> memory;
    std::vector<Tensor> onDevice(node.inputs.size() + node.outputs.size());
    std::vector<const Tensor*> inputs;
    std::vector<const Tensor*> hostInputs;
    std::vector<Tensor*> outputs;
    // Device memory of `bytes`, viewed as `type` of `sizes`.
    auto allocate = [&](Tensor& t, DataType type, const std::vector<int64_t>& sizes, size_t bytes) -> Status {
      LOWP_ASSIGN_OR_RETURN(auto buffer, device_->allocateChecked(bytes));
      t = Tensor::view(type, sizes, buffer.get());
      memory.push_back(std::move(buffer));
      return {};
    };
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const ir::Value* v = node.inputs[i];
      if (v == nullptr) {
        inputs.push_back(nullptr);
        hostInputs.push_back(nullptr);
        continue;
      }
      Tensor& t = onDevice[i];
      const Tensor* host = i < inputValues.size() && inputValues[i] != nullptr ? inputValues[i]
                           : v->constant                                       ? &*v->constant
                                                                               : nullptr;
      hostInputs.push_back(host);
      if (host != nullptr) {
        const auto bytes = static_cast<size_t>(host->byteSize());
        LOWP_RETURN_IF_ERROR(allocate(t, host->type(), host->shape(), bytes));
        LOWP_RETURN_IF_ERROR(device_->copyIn(t.data(), host->data(), bytes));
      } else {
        // Random values made on the device: a host pass over a large activation costs seconds.
        LOWP_ASSIGN_OR_RETURN(auto sizes, timingShape(node, *v));
        const auto bytes = static_cast<size_t>(ir::storageBytes(v->type, sizes, v->format));
        LOWP_RETURN_IF_ERROR(allocate(t, v->type, sizes, bytes));
        LOWP_RETURN_IF_ERROR(
            fill(t, bytes, static_cast<uint32_t>(i)).withContext("timing " + node.describe()));
      }
      inputs.push_back(&t);
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const ir::Value* v = node.outputs[i];
      if (v == nullptr || !v->shape.isStatic()) {
        outputs.push_back(nullptr);
        continue;
      }
      Tensor& out = onDevice[node.inputs.size() + i];
      const auto bytes = static_cast<size_t>(ir::storageBytes(v->type, v->shape.sizes(), v->format));
      LOWP_RETURN_IF_ERROR(allocate(out, v->type, v->shape.sizes(), bytes));
      LOWP_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(out.data(), 0, bytes, device_->stream()));
      outputs.push_back(&out);
    }
    const kernels::ParallelFor serial = [](int64_t n, int64_t,
                                           const std::function<void(int64_t, int64_t)>& fn) { fn(0, n); };
    kernels::KernelContext ctx(node, inputs, outputs, serial,
                               [](DataType, const std::vector<int64_t>&) { return Tensor(); });
    ctx.setCuda(&device_->kernelContext());
    ctx.setHostInputs(std::move(hostInputs));
    LOWP_ASSIGN_OR_RETURN(runtime::CudaEvent start, runtime::CudaEvent::create());
    LOWP_ASSIGN_OR_RETURN(runtime::CudaEvent end, runtime::CudaEvent::create());
    TimingOptions groups = options;
    groups.minGroupMs = 0.2;
    groups.minTimedMs = 0;  // a group of 0.2 ms already outlasts the host's noise
    // A group is recorded once into a CUDA graph and replayed, where the kernel can be recorded: the time
    // is then the device's, as when an engine replays its layers (--useCudaGraph), not the host's cost of
    // queuing the launches. The first run is never recorded: it prepares the kernel's state.
    GroupGraph graph;
    bool recordable = true;
    bool first = true;
    auto ms = medianOfRuns(node, groups, [&](int repeats) -> Result<double> {
      auto launches = [&]() -> Status {
        for (int r = 0; r < repeats; ++r) LOWP_RETURN_IF_ERROR(kernel.fn(ctx));
        return {};
      };
      if (recordable && !first && graph.repeats != repeats) {
        recordable = graph.record(device_->stream(), repeats, launches);
      }
      const bool replay = recordable && !first;
      first = false;
      LOWP_RETURN_IF_ERROR(start.record(device_->stream()));
      if (replay) {
        LOWP_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(graph.exec.get(), device_->stream()));
      } else {
        LOWP_RETURN_IF_ERROR(launches());
      }
      LOWP_RETURN_IF_ERROR(end.record(device_->stream()));
      LOWP_RETURN_IF_ERROR(end.synchronize());
      LOWP_RETURN_IF_ERROR(device_->sync());
      LOWP_ASSIGN_OR_RETURN(float elapsed, end.elapsedSince(start));
      return static_cast<double>(elapsed) / repeats;
    });
    // What the kernel queued must finish before its memory goes, failed or not.
    Status drained = device_->sync();
    if (!ms) return ms.status();
    if (!drained) return drained.withContext("timing " + node.describe());
    return ms;
  }

 private:
  // Random values of t's type where the device can make them; zeros (valid indices and sizes) elsewhere.
  Status fill(Tensor& t, size_t bytes, uint32_t seed) {
    if (auto elem = kernels::cuda::elemOf(t.type())) {
      LOWP_CUDA_RETURN_IF_ERROR(
          kernels::cuda::launchFillRandom(*elem, t.data(), t.elementCount(), seed, device_->stream()));
    }
    if (!kernels::cuda::elemOf(t.type()) || bytes > static_cast<size_t>(t.byteSize())) {
      // Padding of blocked layouts (and other types) holds zeros, as the runtime's memory does.
      const size_t from = kernels::cuda::elemOf(t.type()) ? static_cast<size_t>(t.byteSize()) : 0;
      LOWP_CUDA_RETURN_IF_ERROR(
          cudaMemsetAsync(static_cast<std::byte*>(t.data()) + from, 0, bytes - from, device_->stream()));
    }
    return {};
  }

  std::unique_ptr<runtime::CudaDevice> device_;
  std::string fingerprint_;
};

}  // namespace

Result<std::unique_ptr<TacticTimer>> makeCudaTimer(int ordinal) {
  if (!runtime::cudaDevicePresent())
    return Status(StatusCode::kUnsupported,
                  "building for the CUDA device, but the CUDA runtime finds no GPU");
  LOWP_ASSIGN_OR_RETURN(auto device, runtime::CudaDevice::create(ordinal));
  LOWP_ASSIGN_OR_RETURN(std::string fingerprint, runtime::engineFingerprint(Device::kCuda, ordinal));
  return std::unique_ptr<TacticTimer>(std::make_unique<CudaTimer>(std::move(device), std::move(fingerprint)));
}

}  // namespace lowp::builder
