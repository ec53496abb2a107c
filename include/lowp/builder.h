// lowp public API: building engines.
//
// A NetworkDefinition is a model (from ONNX, or made by hand) with per-layer precision constraints.
// A Builder turns it into an Engine under a BuilderConfig: precision flags *allow* reduced precision, they
// do not require it. The builder times every implementation (tactic) that applies to each layer, in every
// allowed precision and memory layout, on this machine, and chooses for the whole graph the combination
// with the smallest total of kernel time plus the time of the conversions (casts, reformats) between layers.
// Its decisions are written into the engine as explicit casts, and every layer reports what it asked for,
// what it got and why (Engine::layers()).
//
//   lowp::StderrLogger logger(lowp::Severity::kWarning);
//   auto network = lowp::NetworkDefinition::fromOnnxFile("resnet50.onnx");
//   lowp::BuilderConfig config;
//   config.setFlag(lowp::BuilderFlag::kBF16);
//   config.setShape("input", {8, 3, 224, 224});
//   auto engine = lowp::Builder(logger).build(**network, config);
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lowp/calibration.h"
#include "lowp/data_type.h"
#include "lowp/engine.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp {

/// How serious a builder message is, most serious first.
enum class Severity { kInternalError = 0, kError = 1, kWarning = 2, kInfo = 3, kVerbose = 4 };

/// Receives the builder's messages. Implementations must be callable from the building thread only.
class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(Severity severity, std::string_view message) = 0;
};

/// A Logger that writes messages at least as serious as `threshold` to standard error.
class StderrLogger : public Logger {
 public:
  explicit StderrLogger(Severity threshold = Severity::kWarning) : threshold_(threshold) {}
  void log(Severity severity, std::string_view message) override;

 private:
  Severity threshold_;
};

/// Told how far the build is while tactics are timed (e.g. to draw a progress bar).
class ProgressMonitor {
 public:
  virtual ~ProgressMonitor() = default;
  /// `done` of `total` layers have been timed; called after each layer, from the building thread.
  virtual void layerTimed(int done, int total) = 0;
};

/// What a BuilderConfig allows or asks for (the names follow TensorRT's BuilderFlag).
enum class BuilderFlag {
  kFP16 = 0,  ///< Layers may run in fp16 where an implementation exists and it is faster.
  kBF16 = 1,  ///< Layers may run in bf16, as kFP16.
  kINT8 = 2,  ///< Layers may run in int8 where every tensor they read has a scale.
  kTF32 = 3,  ///< GPU matrix math may round fp32 inputs to tf32 (on by default); no effect on the CPU.
  kFP8 = 4,   ///< fp8 (E4M3) as kINT8, scale amax / 448: matrix products on fp8 tensor cores (GPU, sm_89+).
  /// Per-layer constraints are honoured where an implementation exists; otherwise a warning and the
  /// fastest implementation.
  kPreferPrecisionConstraints = 5,
  /// Per-layer constraints are honoured, or the build fails naming the layer and what is missing.
  kObeyPrecisionConstraints = 6,
  /// Activations as the model states them: no tactic that computes one in a cheaper form departing from
  /// it beyond the layer's rounding. Without it, fp16 / bf16 / fp8 products on the GPU may run the erf
  /// GELU as the tanh form in cuBLASLt's epilogue where that is faster (at most 4.8e-4 apart).
  kExactActivations = 7,
};

/// A layer attribute for networks made by hand (the ONNX attribute of the same name).
struct LayerAttribute {
  std::string name;
  std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
               std::vector<std::string>, Tensor>
      value;
};

class NetworkDefinition;

/// One layer (ONNX node) of a NetworkDefinition, with its precision constraints. Owned by its network.
class Layer {
 public:
  /// The ONNX node name.
  const std::string& name() const;
  const std::string& opType() const;
  std::vector<std::string> inputNames() const;
  std::vector<std::string> outputNames() const;

  /// The precision the layer should compute in (the type of its floating-point inputs). How strictly the
  /// builder honours it depends on kPreferPrecisionConstraints / kObeyPrecisionConstraints; with neither it
  /// is a hint used for ties.
  void setPrecision(DataType type);
  DataType precision() const;  ///< kUndefined when not set.
  bool precisionIsSet() const;
  void resetPrecision();

  /// The type output `index` should have; a cast follows the layer where its kernel gives another type.
  Status setOutputType(int index, DataType type);
  DataType outputType(int index) const;  ///< kUndefined when not set.
  bool outputTypeIsSet(int index) const;
  void resetOutputType(int index);

 private:
  friend class NetworkDefinition;
  Layer(NetworkDefinition* network, int index) : network_(network), index_(index) {}
  NetworkDefinition* network_;
  int index_;
};

/// A model to build: its layers, inputs, outputs and per-layer constraints.
class NetworkDefinition {
 public:
  /// An empty network, to make by hand with addInput / addConstant / addLayer / markOutput.
  NetworkDefinition();
  ~NetworkDefinition();
  NetworkDefinition(const NetworkDefinition&) = delete;
  NetworkDefinition& operator=(const NetworkDefinition&) = delete;

  /// Imports an ONNX model (external data resolved next to it). Errors name the file and the node.
  static Result<std::unique_ptr<NetworkDefinition>> fromOnnxFile(const std::string& path);

  /// Adds a network input; -1 in `shape` marks a dimension given at build or run time.
  Status addInput(const std::string& name, DataType type, const std::vector<int64_t>& shape);
  /// Adds a constant (an ONNX initializer).
  Status addConstant(const std::string& name, const Tensor& value);
  /// Adds a layer running the ONNX operator `opType` (default domain, opset 25 semantics) on the named
  /// inputs ("" for an omitted optional input) and producing the named outputs. Types and shapes are
  /// inferred at once; an error names the layer.
  Result<Layer*> addLayer(const std::string& opType, const std::string& name,
                          const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                          const std::vector<LayerAttribute>& attributes = {});
  /// Makes a tensor a network output.
  Status markOutput(const std::string& name);

  int layerCount() const;
  Layer* layer(int index);
  /// The layer with this ONNX node name, or nullptr.
  Layer* findLayer(std::string_view name);

  std::vector<TensorDesc> inputs() const;
  std::vector<TensorDesc> outputs() const;

  /// The type the user gives network input `name` in (fp32 by default): fp16 or bf16 inputs save the
  /// conversion when the first layers run in that type.
  Status setInputType(const std::string& name, DataType type);
  /// The type the user receives network output `name` in.
  Status setOutputType(const std::string& name, DataType type);

  /// The dynamic range of tensor `name` for INT8 (TensorRT's ITensor::setDynamicRange): values in [min, max]
  /// map to the symmetric scale max(|min|, |max|) / 127. Ranges set here take precedence over calibration.
  /// kInvalidArgument for an unknown tensor, a non-float tensor, or a range that is empty or not finite.
  Status setDynamicRange(const std::string& name, float min, float max);

  /// A strongly typed network runs in the types its own Cast / QuantizeLinear / DequantizeLinear nodes
  /// give; reduced-precision flags and per-layer constraints are then an error.
  void setStronglyTyped(bool on);
  bool stronglyTyped() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// How to build: flags, shapes, timing.
class BuilderConfig {
 public:
  BuilderConfig();

  void setFlag(BuilderFlag flag);
  void clearFlag(BuilderFlag flag);
  bool getFlag(BuilderFlag flag) const;

  /// The shape to build (and time tactics) for network input `name`, fixing its dynamic dimensions.
  /// Dynamic dimensions without a shape are built for size 1, with a warning. The engine still accepts
  /// other sizes at run time; they run with the tactics chosen for these.
  void setShape(const std::string& name, std::vector<int64_t> shape);
  const std::map<std::string, std::vector<int64_t>>& shapes() const { return shapes_; }

  /// The values network input `name` holds while the network is built. The builder runs the network once
  /// at the build shapes (to learn every tensor's shape and, without calibration, INT8 ranges), times each
  /// layer on what that run computed, and checks the engine with one run. Inputs without values get random
  /// normal values (float) or zeros (other types): give the values of inputs that decide shapes or pick
  /// elements (Resize's scales or sizes, Reshape's shape, Gather's indices), which random data or zeros
  /// would make invalid. The values' shape is the input's build shape (a shape also given by setShape must
  /// be the same) and their type the input's. The engine still takes any values at run time.
  void setInputValues(const std::string& name, Tensor values);
  const std::map<std::string, Tensor>& inputValues() const { return inputValues_; }

  /// 0..5 (default 3). 0 and 1: no timing, the first applicable non-reference kernel per layer in fp32
  /// unless a constraint asks otherwise. 2: one timed run per tactic. 3: two warm-up and five timed runs
  /// (the median counts); on the CPU a short kernel gets more, at least 2 ms of them (up to 41). 4 and 5:
  /// also times reference kernels where a faster kernel exists, and eleven timed runs (more for short CPU
  /// kernels, as at 3).
  Status setOptimizationLevel(int level);
  int optimizationLevel() const { return optimizationLevel_; }

  /// A timing cache file: read before timing if it exists (a cache from another device or lowp version is
  /// an error), written after the build with every time measured. A layer whose tactics are partly in the
  /// cache and partly new (say, an fp32 build filled the cache and this one allows bf16) measures its
  /// fastest cached tactic again beside the new ones, so that times of one moment decide it.
  void setTimingCacheFile(std::string path) { timingCacheFile_ = std::move(path); }
  const std::string& timingCacheFile() const { return timingCacheFile_; }

  /// The device to build for: its kernels are the tactics, timed on it, and the engine runs there
  /// (default: the CPU). For Device::kCuda, `cudaOrdinal` picks the GPU; the build fails when lowp was built
  /// without its CUDA backend or the machine has no GPU. FP32 layers may then round to TF32 unless the TF32
  /// flag is cleared.
  void setDevice(Device device, int cudaOrdinal = 0) {
    device_ = device;
    cudaOrdinal_ = cudaOrdinal;
  }
  Device device() const { return device_; }
  int cudaOrdinal() const { return cudaOrdinal_; }

  /// Worker threads for timing and for the engine (0: one per core).
  void setThreads(int threads) { threads_ = threads; }
  int threads() const { return threads_; }

  /// The most activation memory (bytes) the engine may plan for the build shapes; 0 means no limit.
  /// A build whose memory plan needs more fails, saying how much it needs.
  void setWorkspaceLimit(int64_t bytes) { workspaceLimit_ = bytes; }
  int64_t workspaceLimit() const { return workspaceLimit_; }

  void setProgressMonitor(ProgressMonitor* monitor) { progress_ = monitor; }
  ProgressMonitor* progressMonitor() const { return progress_; }

  /// INT8 calibration: the batches to calibrate on (kept alive by the caller during build()) and the
  /// algorithm. Used when the INT8 (or, on the GPU, FP8) flag is set and the calibration cache (below) does
  /// not exist.
  void setCalibration(CalibrationSource* source, CalibrationOptions options = {}) {
    calibrationSource_ = source;
    calibrationOptions_ = options;
  }
  CalibrationSource* calibrationSource() const { return calibrationSource_; }
  const CalibrationOptions& calibrationOptions() const { return calibrationOptions_; }

  /// An INT8 calibration cache in TensorRT's text format: read when it exists (then no calibration runs),
  /// written after calibrating when it does not.
  void setCalibrationCacheFile(std::string path) { calibrationCacheFile_ = std::move(path); }
  const std::string& calibrationCacheFile() const { return calibrationCacheFile_; }

  /// INT8 weights get one scale per output channel (the default, TensorRT's rule) or, when off, one per
  /// tensor: coarser, for comparing what per-channel scales buy.
  void setPerChannelWeightScales(bool on) { perChannelWeightScales_ = on; }
  bool perChannelWeightScales() const { return perChannelWeightScales_; }

 private:
  uint32_t flags_ = 0;
  std::map<std::string, std::vector<int64_t>> shapes_;
  std::map<std::string, Tensor> inputValues_;
  int optimizationLevel_ = 3;
  Device device_ = Device::kCpu;
  int cudaOrdinal_ = 0;
  std::string timingCacheFile_;
  int threads_ = 0;
  int64_t workspaceLimit_ = 0;
  ProgressMonitor* progress_ = nullptr;
  CalibrationSource* calibrationSource_ = nullptr;
  CalibrationOptions calibrationOptions_;
  std::string calibrationCacheFile_;
  bool perChannelWeightScales_ = true;
};

/// Builds engines for this machine.
class Builder {
 public:
  explicit Builder(Logger& logger) : logger_(logger) {}

  /// Builds `network` under `config`. The network is not changed and may be built again. Errors name the
  /// layer, input or option at fault (an OBEY constraint without an implementation names the layer and
  /// the precision it lacks).
  Result<std::shared_ptr<Engine>> build(const NetworkDefinition& network, const BuilderConfig& config);

 private:
  Logger& logger_;
};

/// Calibrates `network` without building an engine: runs its FP32 form (constants and BatchNorm folded,
/// layers not merged, so every tensor the model names gets a scale, as in TensorRT's caches) over `config`'s
/// calibration batches with its calibration options and threads, and returns the INT8 scale (amax / 127) of
/// every fp32 activation that was not zero throughout. Writes them to `config`'s calibration cache file when
/// one is set (replacing it).
Result<std::map<std::string, float>> calibrateNetwork(Logger& logger, const NetworkDefinition& network,
                                                      const BuilderConfig& config);

/// "fp16" etc.: the name of a flag as reports and options spell it.
std::string_view builderFlagName(BuilderFlag flag);

}  // namespace lowp
