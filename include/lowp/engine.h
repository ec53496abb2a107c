// lowp public API: engines and execution contexts.
//
// An Engine is an immutable, runnable form of a model. An ExecutionContext holds the per-run state (the
// activation memory) of one engine; create one context per thread that runs the engine concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lowp/data_type.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp {

/// Description of a network input or output.
struct TensorDesc {
  std::string name;
  DataType type = DataType::kUndefined;
  /// Dimensions; -1 marks a dimension fixed only at run time by the actual input shapes.
  std::vector<int64_t> shape;
  /// Symbolic names of the dimensions ("batch"); empty strings where the model gives none.
  std::vector<std::string> dimNames;
  /// False when the model does not state the rank.
  bool rankKnown = true;
};

/// Where an engine's layers run.
enum class Device : int32_t {
  /// Host memory and the CPU's kernels.
  kCpu = 0,
  /// An NVIDIA GPU: every layer runs a CUDA kernel in device memory; execute() still takes and returns
  /// host tensors. Needs a build with the CUDA backend and a GPU; creating the engine fails without them.
  kCuda = 1,
};

/// Options for creating an engine.
struct EngineOptions {
  /// Worker threads kernels may use; 0 means one per available core. On the CUDA device they serve only
  /// the layers computed once while planning (shape arithmetic on constants).
  int threads = 0;
  /// Where the layers run (default: the CPU).
  Device device = Device::kCpu;
  /// The CUDA device's ordinal (cudaSetDevice) when `device` is kCuda.
  int cudaOrdinal = 0;
  /// On the CUDA device, FP32 convolutions and matrix products may round their inputs to TF32 on the
  /// tensor cores (relative error near 1e-4 instead of 1e-7), as TensorRT does by default. False: full FP32.
  bool allowTf32 = true;
};

class ExecutionContext;

/// What the builder decided for one layer of an engine, and why.
struct LayerInfo {
  /// The ONNX node name of the layer.
  std::string name;
  /// Names of the nodes fused or folded into this layer; the layer answers to each of them.
  std::vector<std::string> absorbedNames;
  std::string opType;
  /// The precision a constraint asked for (setPrecision / --layerPrecisions), kUndefined when none.
  DataType requestedPrecision = DataType::kUndefined;
  /// The precision the layer computes in (the type of its floating-point inputs).
  DataType precision = DataType::kUndefined;
  std::vector<std::string> inputNames;
  std::vector<DataType> inputTypes;  ///< kUndefined for an omitted optional input.
  std::vector<std::string> inputFormats;
  std::vector<std::string> outputNames;
  std::vector<DataType> outputTypes;
  std::vector<std::string> outputFormats;
  /// Shapes of the inputs and outputs at the shapes the engine was built for (one per name; empty for an
  /// omitted input; -1 marks a dimension the builder did not know, which cannot happen for a built engine's
  /// activations).
  std::vector<std::vector<int64_t>> inputShapes;
  std::vector<std::vector<int64_t>> outputShapes;
  /// The kernel that runs the layer, e.g. "f32-conv-onednn".
  std::string tactic;
  /// The tactic's time measured while building, in milliseconds; negative when it was not timed.
  double timeMs = -1;
  /// Why this precision and tactic: "fastest", "constraint", "no implementation in fp16", "reformat", ...
  std::string reason;
  /// True for a layer the builder inserted to convert one tensor between layers (a cast, quantize,
  /// dequantize or reformat); its reason says which layer it serves.
  bool conversion = false;
};

/// A model prepared for execution on the CPU, or on a CUDA GPU (EngineOptions::device).
class Engine {
 public:
  /// Loads an ONNX model file (external data files are resolved next to it) and prepares it.
  /// Errors name the file and, where one is at fault, the node and its op.
  static Result<std::shared_ptr<Engine>> fromOnnxFile(const std::string& path,
                                                      const EngineOptions& options = {});

  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const std::vector<TensorDesc>& inputs() const;
  const std::vector<TensorDesc>& outputs() const;
  /// Number of operator nodes the engine runs.
  int64_t nodeCount() const;
  /// Where the engine's layers run (an engine file keeps the device it was built for).
  Device device() const;
  /// The layers in execution order, with the builder's decisions (reformats it inserted included).
  const std::vector<LayerInfo>& layers() const;

  /// The engine as an engine file: versioned, checksummed and tied to this device's fingerprint. Holds
  /// everything needed to run it (layers, chosen kernels, converted weights); no ONNX model is needed.
  Result<std::vector<uint8_t>> serialize() const;
  /// Loads an engine file's bytes. Every field is verified: a corrupt, truncated, other-version or
  /// other-device file is an error saying which, never a crash.
  static Result<std::shared_ptr<Engine>> deserialize(std::span<const uint8_t> bytes,
                                                     const EngineOptions& options = {});
  /// serialize() written to `path` / deserialize() of the file at `path`; errors name the file.
  Status saveToFile(const std::string& path) const;
  static Result<std::shared_ptr<Engine>> fromEngineFile(const std::string& path,
                                                        const EngineOptions& options = {});

  /// A new context with its own activation memory. Contexts may run concurrently on one engine.
  std::unique_ptr<ExecutionContext> createExecutionContext() const;

  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Receives per-layer times from an ExecutionContext (TensorRT's IProfiler).
class Profiler {
 public:
  virtual ~Profiler() = default;
  /// Called for each layer of each execute(), from the executing thread, with the layer's time: on the CPU
  /// its wall time, after it ran; on the GPU its GPU time between CUDA events around it, once the run is
  /// done.
  virtual void reportLayerTime(std::string_view layerName, float ms) = 0;
};

/// Sees the tensors an ExecutionContext computes, by the names the model gives them, and may replace the
/// tensors its layers read: for comparing an engine with its model layer by layer (`lowp compare
/// --per-layer`) without changing the engine. The conversions the builder inserted (casts, reformats,
/// quantization) show their results under names the model does not have ("x/fp16 linear").
class TensorInspector {
 public:
  virtual ~TensorInspector() = default;
  /// A layer computed tensor `name`. `value` is in ONNX's layout whatever layout the engine keeps it in,
  /// in the engine's type; for an int8/uint8 tensor whose scale the engine knows, `scale` and `zeroPoint`
  /// give its real value, (value - zeroPoint) x scale (`scale` is 0 otherwise). Valid during the call only.
  virtual void tensorComputed(std::string_view name, const Tensor& value, float scale, int32_t zeroPoint) = 0;
  /// A layer is about to read tensor `name`: return a tensor of its shape to read instead, or nullptr to
  /// read the engine's own. A float tensor is converted to the type the engine keeps (quantized with the
  /// engine's scale where it keeps int8); it must outlive the execute() call.
  virtual const Tensor* replacementFor(std::string_view name) {
    (void)name;
    return nullptr;
  }
};

/// Runs one engine; not thread-safe (use one context per thread).
class ExecutionContext {
 public:
  ~ExecutionContext();
  ExecutionContext(const ExecutionContext&) = delete;
  ExecutionContext& operator=(const ExecutionContext&) = delete;

  /// Runs the engine. `inputs` must give every graph input by name, with the declared element type and a
  /// shape that agrees with every static dimension; dynamic dimensions take the given sizes. On success
  /// `outputs` holds every graph output, in declaration order, in freshly allocated tensors; on the CUDA
  /// device, an entry that already holds output i's name, type and shape at position i is written in place
  /// instead (no allocation: give tensors from allocateHostTensor and keep the vector between calls).
  Status execute(std::span<const NamedTensor> inputs, std::vector<NamedTensor>& outputs);

  /// A zero-filled host tensor for execute()'s inputs and outputs. On the CUDA device it is page-locked:
  /// copies between it and the GPU run at the bus's rate, where ordinary memory goes through a staging
  /// copy and may fault its pages in mid-copy. On the CPU an ordinary tensor.
  Result<Tensor> allocateHostTensor(DataType type, std::vector<int64_t> shape);

  /// Times every layer of every later execute() and reports it to `profiler` (nullptr: stop). Timing
  /// layers one by one adds a clock read per layer; the profiler must outlive its use.
  void setProfiler(Profiler* profiler);

  /// On the CUDA device, records the layers' kernels into a CUDA graph on the second execute() at given
  /// input shapes and replays it from then on: one launch per run instead of one per layer, as trtexec's
  /// --useCudaGraph. New input shapes record anew. Runs with a profiler or an inspector launch layer by
  /// layer. A recording that another thread's device-wide wait (cudaFree, a context's set-up) invalidated
  /// runs layer by layer instead and is made again on the next execute(). No effect on the CPU.
  void setUseCudaGraph(bool on);

  /// The GPU times of one execute() on the CUDA device, in milliseconds between CUDA events.
  struct DeviceTimes {
    /// The inputs' copies from the host (trtexec's "H2D Latency").
    float inputCopyMs = -1;
    /// The layers, with any time the GPU waited for the host to launch them (trtexec's "GPU Compute
    /// Time").
    float computeMs = -1;
    /// The outputs' copies to the host (trtexec's "D2H Latency").
    float outputCopyMs = -1;
  };
  /// The GPU times of the last successful execute() on the CUDA device; every field negative on the CPU.
  DeviceTimes lastDeviceTimes() const;

  /// Shows every later execute()'s tensors to `inspector` (nullptr: stop). Converting each tensor for it
  /// costs time; the inspector must outlive its use.
  void setTensorInspector(TensorInspector* inspector);

  /// Bytes of activation memory the last execute() planned in one arena (buffers reused by lifetime).
  int64_t plannedArenaBytes() const;
  /// Sum of the sizes of all activations of the last execute(), what the arena would be without reuse.
  int64_t unplannedActivationBytes() const;

  struct Impl;
  explicit ExecutionContext(std::unique_ptr<Impl> impl);
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lowp
