// `lowp exec`: trtexec's command line on lowp. Builds an engine from an ONNX model (or loads one), runs it
// on random or given inputs for a warm-up time and then for a set time and count, and reports as trtexec
// does: the resolved options, the performance summary, the per-layer profile and layer information, and
// the same JSON exports. docs/trtexec-format.md maps each line to trtexec's and says what it measures on
// the CPU.

#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include "build_options.h"
#include "commands.h"
#include "exec_report.h"
#include "html_report.h"
#include "lowp/builder.h"
#include "lowp/device.h"
#include "lowp/tensor_io.h"
#include "tensor_summary.h"

namespace lowp::tools {
namespace {

struct ExecOptions {
  // Model
  std::string onnx;
  std::string loadEngine;
  std::string saveEngine;
  // Build (shared with `lowp build`)
  BuildFlags build;
  // Inference
  std::vector<std::string> shapes;
  std::vector<std::string> loadInputs;
  int warmUpMs = 200;
  int durationS = 3;
  int iterations = 10;
  bool noDataTransfers = false;
  bool separateProfileRun = false;
  bool useCudaGraph = false;
  bool useSpinWait = false;
  // Reporting
  int avgRuns = 10;
  std::string percentile = "90,95,99";
  bool dumpProfile = false;
  std::string exportProfile;
  bool dumpLayerInfo = false;
  std::string exportLayerInfo;
  bool dumpOutput = false;
  std::string exportOutput;
  std::string exportTimes;
  std::string report;
  bool verbose = false;
};

// An error the run cannot go on from; execMain reports it and ends with "&&&& FAILED".
struct ExecError {
  std::string message;
};

// The command line as given, for trtexec's "&&&& RUNNING / PASSED / FAILED" lines.
std::string commandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string line;
  for (char c : all) line += c == '\0' ? ' ' : c;
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line.empty() ? "lowp exec" : line;
}

std::string boolToEnabled(bool on) {
  return on ? "Enabled" : "Disabled";
}

// "90,95,99" -> {90, 95, 99}; each in [0, 100].
std::vector<float> parsePercentiles(const std::string& text) {
  std::vector<float> out;
  std::stringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    float p = 0;
    const char* end = item.data() + item.size();
    auto [ptr, ec] = std::from_chars(item.data(), end, p);
    if (item.empty() || ec != std::errc() || ptr != end || !(p >= 0 && p <= 100))
      throw ExecError{"--percentile: '" + item + "' is not a percentage in [0, 100]"};
    out.push_back(p);
  }
  if (out.empty()) throw ExecError{"--percentile takes P1[,P2...], each in [0, 100]"};
  return out;
}

// --loadInputs=name:file[,name:file...]; as in trtexec, a name holding ':' is written in single quotes.
std::map<std::string, std::string> parseLoadInputs(const std::vector<std::string>& lists) {
  std::map<std::string, std::string> files;
  if (std::string e = parseNamedFiles("--loadInputs", lists, files); !e.empty()) throw ExecError{e};
  return files;
}

bool isTensorFile(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".npy" || ext == ".pb";
}

// trtexec's raw input file: the tensor's bytes, nothing else, so its type and shape come from the engine.
Tensor readRawInput(const std::string& name, const std::string& path, DataType type,
                    const std::vector<int64_t>& shape) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw ExecError{"--loadInputs " + name + ": cannot read " + path};
  const auto size = static_cast<int64_t>(in.tellg());
  Tensor t(type, shape);
  if (size != t.byteSize()) {
    throw ExecError{"--loadInputs " + name + ": " + path + " has " + std::to_string(size) +
                    " bytes, input '" + name + "' (" + t.describe() + ") needs " +
                    std::to_string(t.byteSize()) + " (a raw file holds the tensor's bytes only; use .npy " +
                    "for typed data)"};
  }
  in.seekg(0);
  in.read(static_cast<char*>(t.data()), static_cast<std::streamsize>(size));
  if (!in) throw ExecError{"--loadInputs " + name + ": cannot read " + path};
  return t;
}

// Passes builder messages on as trtexec's log lines.
class ExecLogger final : public Logger {
 public:
  explicit ExecLogger(bool verbose) : verbose_(verbose) {}
  void log(Severity severity, std::string_view message) override {
    switch (severity) {
      case Severity::kInternalError:
      case Severity::kError:
        logLines('E', message);
        break;
      case Severity::kWarning:
        logLines('W', message);
        break;
      case Severity::kInfo:
        if (verbose_) logLines('I', message);
        break;
      case Severity::kVerbose:
        if (verbose_) logLines('V', message);
        break;
    }
  }

 private:
  bool verbose_;
};

std::string shapesText(const std::map<std::string, std::vector<int64_t>>& shapes, const std::string& phase,
                       bool range) {
  if (shapes.empty()) return "Input " + phase + " shapes: model\n";
  std::ostringstream s;
  for (const auto& [name, sizes] : shapes) {
    // A build profile has min, opt and max shapes; lowp builds for one shape, so all three are that shape.
    const std::string d = dimsText(sizes);
    s << "Input " << phase << " shape: " << name << "=" << d;
    if (range) s << "+" << d << "+" << d;
    s << "\n";
  }
  return s.str();
}

// trtexec's "Precision:" value: the allowed precisions and how constraints bind.
std::string precisionText(const BuildFlags& b) {
  std::string precision = "FP32";
  if (b.fp16 || b.best) precision += "+FP16";
  if (b.bf16 || b.best) precision += "+BF16";
  if (b.int8 || b.best) precision += "+INT8";
  if (b.fp8 || b.best) precision += "+FP8";
  if (b.stronglyTyped) precision += " (Strongly Typed)";
  if (b.precisionConstraints == "obey") precision += " (obey precision constraints)";
  if (b.precisionConstraints == "prefer") precision += " (prefer precision constraints)";
  return precision;
}

// trtexec's resolved configuration, in its sections and wording, for the options lowp has.
void printConfiguration(const ExecOptions& o, const std::map<std::string, std::vector<int64_t>>& shapes,
                        const std::map<std::string, std::string>& inputFiles,
                        const std::vector<float>& percentiles) {
  const BuildFlags& b = o.build;
  std::ostringstream s;
  s << "=== Model Options ===\n";
  s << "Format: " << (o.onnx.empty() ? "*" : "ONNX") << "\n";
  s << "Model: " << o.onnx << "\n";
  s << "Output:\n";
  s << "=== Build Options ===\n";
  // The option is checked when the build is configured; here it is only echoed.
  const auto poolColon = b.memPoolSize.find(':');
  s << "Memory Pools: workspace: "
    << (b.memPoolSize.empty()            ? "default"
        : poolColon == std::string::npos ? b.memPoolSize
                                         : b.memPoolSize.substr(poolColon + 1) + " MiB")
    << "\n";
  s << "Precision: " << precisionText(b) << "\n";
  auto joined = [](const std::vector<std::string>& v) {
    std::string out;
    for (const std::string& item : v) out += (out.empty() ? "" : ",") + item;
    return out;
  };
  s << "LayerPrecisions: " << joined(b.layerPrecisions) << "\n";
  s << "LayerOutputTypes: " << joined(b.layerOutputTypes) << "\n";
  const bool int8 = b.int8 || b.best;
  s << "Calibration: "
    << (int8 && b.calibration.cacheFile.empty() && b.calibration.dataFolder.empty() ? "Dynamic"
                                                                                    : b.calibration.cacheFile)
    << "\n";
  s << "TF32: " << (b.noTF32 ? "Disabled" : "Enabled") << " (no effect on the CPU)\n";
  s << "Exact activations: " << (b.exactActivations ? "Enabled" : "Disabled") << " (no effect on the CPU)\n";
  s << "Builder Optimization Level: " << b.optimizationLevel << "\n";
  s << "Save engine: " << o.saveEngine << "\n";
  s << "Load engine: " << o.loadEngine << "\n";
  s << "timingCacheMode: " << (b.timingCacheFile.empty() ? "local" : "global") << "\n";
  s << "timingCacheFile: " << b.timingCacheFile << "\n";
  auto formats = [&](const char* direction, const std::vector<std::string>& given) {
    if (given.empty()) {
      s << direction << "s format: fp32:CHW\n";
      return;
    }
    for (const std::string& list : given) {
      std::stringstream items(list);
      for (std::string item; std::getline(items, item, ',');) s << direction << ": " << item << "\n";
    }
  };
  formats("Input(s)", b.inputIOFormats);
  formats("Output(s)", b.outputIOFormats);
  if (!o.onnx.empty()) s << shapesText(shapes, "build", true);
  s << "=== System Options ===\n";
  // A loaded engine runs where it was built; the line says what was asked for.
  s << "Device: " << (o.build.device == "cpu" ? std::string("CPU") : o.build.device) << "\n";
  s << "DLACore:\n";
  s << "Plugins:\n";
  s << "=== Inference Options ===\n";
  s << "Batch: Explicit\n";
  s << shapesText(shapes, "inference", false);
  s << "Iterations: " << o.iterations << "\n";
  s << "Duration: " << o.durationS << "s (+ " << o.warmUpMs << "ms warm up)\n";
  s << "Sleep time: 0ms\n";
  s << "Idle time: 0ms\n";
  s << "Inference Streams: 1\n";
  s << "ExposeDMA: Disabled\n";
  s << "Data transfers: " << boolToEnabled(!o.noDataTransfers) << "\n";
  s << "Spin-wait: " << boolToEnabled(o.useSpinWait) << (o.useSpinWait ? " (not applicable on the CPU)" : "")
    << "\n";
  s << "Multithreading: Disabled\n";
  const bool onCpu = o.build.device == "cpu" && o.loadEngine.empty();
  s << "CUDA Graph: " << boolToEnabled(o.useCudaGraph)
    << (o.useCudaGraph && onCpu ? " (not applicable on the CPU)" : "") << "\n";
  s << "Separate profiling: " << boolToEnabled(o.separateProfileRun) << "\n";
  s << "Time Deserialize: Disabled\n";
  s << "Time Refit: Disabled\n";
  s << "Inputs:\n";
  for (const auto& [name, file] : inputFiles) s << name << "<-" << file << "\n";
  s << "=== Reporting Options ===\n";
  s << "Verbose: " << boolToEnabled(o.verbose) << "\n";
  s << "Averages: " << o.avgRuns << " inferences\n";
  std::ostringstream p;
  for (size_t i = 0; i < percentiles.size(); ++i) p << (i != 0 ? "," : "") << percentiles[i];
  s << "Percentiles: " << p.str() << "\n";
  s << "Dump refittable layers:Disabled\n";
  s << "Dump output: " << boolToEnabled(o.dumpOutput) << "\n";
  s << "Profile: " << boolToEnabled(o.dumpProfile || !o.exportProfile.empty() || !o.report.empty()) << "\n";
  s << "Export timing to JSON file: " << o.exportTimes << "\n";
  s << "Export output to JSON file: " << o.exportOutput << "\n";
  s << "Export profile to JSON file: " << o.exportProfile << "\n";
  logLines('I', s.str());
}

// Checks the numbers trtexec's options take; errors name the option.
void validate(const ExecOptions& o) {
  if (o.onnx.empty() == o.loadEngine.empty())
    throw ExecError{"give the model with --onnx=FILE or an engine file with --loadEngine=FILE"};
  if (!o.saveEngine.empty() && o.onnx.empty())
    throw ExecError{"--saveEngine needs --onnx: an engine loaded with --loadEngine is already saved"};
  if (o.warmUpMs < 0) throw ExecError{"--warmUp: " + std::to_string(o.warmUpMs) + " ms is negative"};
  if (o.durationS < 0)
    throw ExecError{"--duration: " + std::to_string(o.durationS) +
                    " s is negative (running until interrupted is not supported)"};
  if (o.iterations < 1)
    throw ExecError{"--iterations: " + std::to_string(o.iterations) + " is not at least 1"};
  if (o.avgRuns < 1) throw ExecError{"--avgRuns: " + std::to_string(o.avgRuns) + " is not at least 1"};
}

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point origin) {
  return std::chrono::duration<double, std::milli>(Clock::now() - origin).count();
}

// Runs queries the way trtexec does. On the CPU, with the CPU's meaning of each phase: H2D copies the
// caller's input buffers into the buffers the engine reads, compute is execute(), D2H copies the outputs
// execute() returns into the caller's buffers; with --noDataTransfers the engine reads the caller's
// buffers directly and no output is copied. On the GPU, execute() copies the inputs from page-locked host
// buffers into device memory, runs the layers and copies the outputs back into page-locked buffers, and
// each phase is its GPU time between CUDA events; --noDataTransfers leaves the copies out of the times.
class QueryRunner {
 public:
  QueryRunner(ExecutionContext& context, const std::vector<NamedTensor>& hostInputs, bool transfers,
              bool onGpu)
      : context_(context), hostInputs_(hostInputs), transfers_(transfers), onGpu_(onGpu) {
    for (const NamedTensor& in : hostInputs) {
      if (!onGpu) {
        engineInputs_.push_back({in.name, transfers ? in.tensor.clone() : in.tensor});
        continue;
      }
      auto pinned = context.allocateHostTensor(in.tensor.type(), in.tensor.shape());
      if (!pinned) throw ExecError{pinned.status().withContext("input '" + in.name + "'").toString()};
      if (in.tensor.byteSize() > 0)
        std::memcpy(pinned->data(), in.tensor.data(), static_cast<size_t>(in.tensor.byteSize()));
      engineInputs_.push_back({in.name, std::move(pinned).value()});
    }
  }

  QueryTrace run(Clock::time_point origin, LayerProfiler* profiler) {
    if (onGpu_) return runOnGpu(origin, profiler);
    QueryTrace t;
    // Without transfers the copy phases are not run at all and take no time, as in trtexec.
    t.h2dStart = msSince(origin);
    if (transfers_) {
      for (size_t i = 0; i < hostInputs_.size(); ++i) {
        std::memcpy(engineInputs_[i].tensor.data(), hostInputs_[i].tensor.data(),
                    static_cast<size_t>(hostInputs_[i].tensor.byteSize()));
      }
      t.h2dEnd = msSince(origin);
    } else {
      t.h2dEnd = t.h2dStart;
    }
    t.computeStart = t.enqStart = transfers_ ? msSince(origin) : t.h2dEnd;
    Status s = context_.execute(engineInputs_, outputs_);
    t.computeEnd = t.enqEnd = msSince(origin);
    if (!s) throw ExecError{s.toString()};
    if (profiler != nullptr) profiler->endIteration();
    if (transfers_) {
      // The caller's output buffers are made once (and again only when a shape changes), outside the timing.
      hostOutputs_.resize(outputs_.size());
      for (size_t i = 0; i < outputs_.size(); ++i) {
        const Tensor& out = outputs_[i].tensor;
        if (hostOutputs_[i].tensor.type() != out.type() || hostOutputs_[i].tensor.shape() != out.shape())
          hostOutputs_[i] = {outputs_[i].name, Tensor(out.type(), out.shape())};
      }
    }
    if (transfers_) {
      t.d2hStart = msSince(origin);
      for (size_t i = 0; i < outputs_.size(); ++i) {
        std::memcpy(hostOutputs_[i].tensor.data(), outputs_[i].tensor.data(),
                    static_cast<size_t>(outputs_[i].tensor.byteSize()));
      }
      t.d2hEnd = msSince(origin);
    } else {
      t.d2hStart = t.d2hEnd = t.computeEnd;
    }
    return t;
  }

  /// The outputs of the last query, where the caller reads them.
  const std::vector<NamedTensor>& outputs() const { return transfers_ || onGpu_ ? hostOutputs_ : outputs_; }

 private:
  // The phases laid end to end from the call's start, each as long as its GPU time; the enqueue is the
  // call, which returns once the GPU is done.
  QueryTrace runOnGpu(Clock::time_point origin, LayerProfiler* profiler) {
    QueryTrace t;
    t.enqStart = t.h2dStart = msSince(origin);
    Status s = context_.execute(engineInputs_, hostOutputs_);
    t.enqEnd = msSince(origin);
    if (!s) throw ExecError{s.toString()};
    const ExecutionContext::DeviceTimes times = context_.lastDeviceTimes();
    t.h2dEnd = t.computeStart = t.h2dStart + (transfers_ ? times.inputCopyMs : 0.0);
    t.computeEnd = t.d2hStart = t.computeStart + times.computeMs;
    t.d2hEnd = t.d2hStart + (transfers_ ? times.outputCopyMs : 0.0);
    if (profiler != nullptr) profiler->endIteration();
    // Outputs execute() had to allocate (the first query, a new shape) become page-locked buffers, which
    // the next queries' copies write in place.
    pinnedOutputs_.resize(hostOutputs_.size());
    for (size_t i = 0; i < hostOutputs_.size(); ++i) {
      Tensor& out = hostOutputs_[i].tensor;
      if (pinnedOutputs_[i].data() == out.data()) continue;
      auto pinned = context_.allocateHostTensor(out.type(), out.shape());
      if (!pinned)
        throw ExecError{pinned.status().withContext("output '" + hostOutputs_[i].name + "'").toString()};
      if (out.byteSize() > 0) std::memcpy(pinned->data(), out.data(), static_cast<size_t>(out.byteSize()));
      out = pinnedOutputs_[i] = std::move(pinned).value();
    }
    return t;
  }

  ExecutionContext& context_;
  const std::vector<NamedTensor>& hostInputs_;
  bool transfers_;
  bool onGpu_;
  std::vector<Tensor> pinnedOutputs_;  // on the GPU: the page-locked buffers hostOutputs_ hold
  std::vector<NamedTensor> engineInputs_;
  std::vector<NamedTensor> outputs_;
  std::vector<NamedTensor> hostOutputs_;
};

struct TimedRun {
  int warmupQueries = 0;
  std::vector<QueryTrace> timed;
};

// Warm-up for `warmUpMs` (unprofiled), then queries until both `iterations` and `durationS` are reached,
// reported to `profiler` when one is given.
TimedRun runTimed(ExecutionContext& context, QueryRunner& runner, const ExecOptions& o,
                  LayerProfiler* profiler, bool warmUp) {
  TimedRun r;
  const Clock::time_point origin = Clock::now();
  context.setProfiler(nullptr);
  if (warmUp) {
    while (msSince(origin) < o.warmUpMs) {
      runner.run(origin, nullptr);
      ++r.warmupQueries;
    }
  }
  context.setProfiler(profiler);
  const double start = msSince(origin);
  while (static_cast<int>(r.timed.size()) < o.iterations || msSince(origin) - start < o.durationS * 1000.0)
    r.timed.push_back(runner.run(origin, profiler));
  return r;
}

ExecError dynamicDimensionError(const TensorDesc& input, size_t d) {
  const std::string dim = input.dimNames[d].empty() ? std::to_string(d) : "'" + input.dimNames[d] + "'";
  return {"input '" + input.name + "' has dynamic dimension " + dim + ": give its shape with --shapes=" +
          input.name + ":<dims> or its data with --loadInputs=" + input.name + ":<file.npy>"};
}

// --shapes and --loadInputs may name only inputs of the model.
void checkInputNames(const std::vector<TensorDesc>& inputs,
                     const std::map<std::string, std::vector<int64_t>>& shapes,
                     const std::map<std::string, std::string>& files) {
  auto known = [&](const std::string& name) {
    for (const TensorDesc& d : inputs) {
      if (d.name == name) return true;
    }
    return false;
  };
  for (const auto& [name, file] : files) {
    if (!known(name))
      throw ExecError{"--loadInputs names '" + name + "', which is not an input of the model"};
  }
  for (const auto& [name, sizes] : shapes) {
    if (!known(name)) throw ExecError{"--shapes names '" + name + "', which is not an input of the model"};
  }
}

// Builds the engine from --onnx for `buildShapes` (on the `loaded` inputs' data), or loads --loadEngine;
// `shapes` and `files` are the inputs --shapes and --loadInputs name, checked against the model's before
// anything is built.
std::shared_ptr<Engine> makeEngine(const ExecOptions& o,
                                   const std::map<std::string, std::vector<int64_t>>& buildShapes,
                                   const std::map<std::string, std::vector<int64_t>>& shapes,
                                   const std::map<std::string, std::string>& files,
                                   const std::map<std::string, Tensor>& loaded) {
  if (!o.loadEngine.empty()) {
    if (o.build.anyBuildOptionSet()) {
      logLines('W',
               "build options (precision flags, constraints, IO formats, calibration, timing cache) have no "
               "effect with --loadEngine: the engine keeps the choices it was built with");
    }
    const auto start = Clock::now();
    auto engine = Engine::fromEngineFile(o.loadEngine);
    if (!engine) throw ExecError{engine.status().toString()};
    checkInputNames((*engine)->inputs(), shapes, files);
    std::ostringstream s;
    s << "Loaded engine size: " << static_cast<double>(std::filesystem::file_size(o.loadEngine)) / (1 << 20)
      << " MiB\n"
      << "Engine deserialized in " << msSince(start) / 1000 << " sec.";
    logLines('I', s.str());
    return *engine;
  }
  auto network = NetworkDefinition::fromOnnxFile(o.onnx);
  if (!network) throw ExecError{network.status().toString()};
  NetworkDefinition& net = **network;
  checkInputNames(net.inputs(), shapes, files);
  for (const TensorDesc& in : net.inputs()) {
    for (size_t d = 0; d < in.shape.size(); ++d) {
      if (in.shape[d] < 0 && buildShapes.count(in.name) == 0) throw dynamicDimensionError(in, d);
    }
  }
  ExecLogger logger(o.verbose);
  const auto start = Clock::now();
  auto engine = buildEngine(net, o.build, buildShapes, 0, logger, !o.verbose, loaded);
  if (!engine) throw ExecError{engine.status().toString()};
  std::ostringstream s;
  s << "Engine built in " << msSince(start) / 1000 << " sec.";
  logLines('I', s.str());
  if (!o.saveEngine.empty()) {
    Status saved = (*engine)->saveToFile(o.saveEngine);
    if (!saved) throw ExecError{saved.toString()};
    logLines('I', "Saved engine to " + o.saveEngine);
  }
  return *engine;
}

// The inputs of one query: loaded from --loadInputs files, else random (seeded) at the --shapes sizes.
std::vector<NamedTensor> makeInputs(const Engine& engine,
                                    const std::map<std::string, std::vector<int64_t>>& shapes,
                                    const std::map<std::string, std::string>& files,
                                    std::map<std::string, Tensor>& loaded) {
  std::mt19937_64 rng(0);
  std::vector<NamedTensor> inputs;
  for (const TensorDesc& desc : engine.inputs()) {
    auto pre = loaded.find(desc.name);
    if (pre != loaded.end()) {  // its shape was checked against --shapes when it was read
      inputs.push_back({desc.name, pre->second});
      continue;
    }
    auto given = shapes.find(desc.name);
    std::vector<int64_t> sizes = given != shapes.end() ? given->second : desc.shape;
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (sizes[d] < 0) throw dynamicDimensionError(desc, d);
    }
    auto file = files.find(desc.name);
    if (file != files.end()) {
      inputs.push_back({desc.name, readRawInput(desc.name, file->second, desc.type, sizes)});
    } else {
      inputs.push_back({desc.name, randomTensor(desc.type, sizes, rng)});
    }
  }
  return inputs;
}

// --report: the run as an HTML page: what ran where, the performance summary, the per-layer profile and the
// latency of every timed query.
void writeExecReport(const ExecOptions& o, const Engine& engine, const std::vector<NamedTensor>& inputs,
                     const TimedRun& run, const LayerProfiler& profiler,
                     const std::vector<float>& percentiles) {
  Device target = Device::kCpu;
  int cudaOrdinal = 0;
  (void)parseDevice(o.build.device, target, cudaOrdinal);  // checked when the engine was built
  const DeviceInfo& device = deviceInfo(engine.device(), cudaOrdinal);
  const std::string modelFile = o.onnx.empty() ? o.loadEngine : o.onnx;
  ReportJson facts = ReportJson::array();
  auto fact = [&](const std::string& label, const std::string& value) { facts.push_back({label, value}); };
  fact(o.onnx.empty() ? "Engine file" : "Model", modelFile);
  fact("Command", commandLine());
  // A loaded engine keeps the precisions it was built with; its layers show them.
  if (!o.onnx.empty()) fact("Precision", precisionText(o.build));
  std::string shapes;
  for (const NamedTensor& in : inputs)
    shapes += (shapes.empty() ? "" : ", ") + in.name + ": " + in.tensor.describe();
  fact("Inputs", shapes);
  fact("Device", describeDevice(device));
  std::string libraries;
  for (const LibraryVersion& l : device.libraries) {
    libraries += (libraries.empty() ? "" : ", ") + l.name + " " + l.version;
    if (!l.detail.empty()) libraries += " (" + l.detail + ")";
  }
  fact("Libraries", libraries);
  const double walltimeMs = run.timed.back().d2hEnd - run.timed.front().h2dStart;
  std::ostringstream queries;
  queries << run.timed.size() << " timed over " << (walltimeMs >= 1000 ? walltimeMs / 1000 : walltimeMs)
          << (walltimeMs >= 1000 ? " s" : " ms") << " after " << run.warmupQueries
          << " warm-up queries; data transfers " << (o.noDataTransfers ? "off" : "on") << "; layers profiled "
          << (o.separateProfileRun ? "in a separate run" : "during the timed run");
  fact("Queries", queries.str());
  std::ostringstream throughput;
  throughput << static_cast<double>(run.timed.size()) / walltimeMs * 1000 << " qps";
  fact("Throughput", throughput.str());

  // trtexec's performance summary as a table: one row per metric.
  ReportJson columns = {"metric", "min", "mean", "median"};
  for (float p : percentiles) {
    std::ostringstream name;
    name << "p" << p;
    columns.push_back(name.str());
  }
  columns.push_back("max");
  ReportJson rows = ReportJson::array();
  std::vector<double> latencies;
  for (const QueryTrace& t : run.timed) latencies.push_back(t.latencyMs());
  const std::pair<const char*, double (QueryTrace::*)() const> metrics[] = {
      {"Latency", &QueryTrace::latencyMs},
      {"Enqueue Time", &QueryTrace::enqueueMs},
      {"H2D Latency", &QueryTrace::h2dMs},
      {"GPU Compute Time", &QueryTrace::computeMs},
      {"D2H Latency", &QueryTrace::d2hMs}};
  for (const auto& [name, get] : metrics) {
    std::vector<double> values;
    for (const QueryTrace& t : run.timed) values.push_back((t.*get)());
    const MetricStats stats = computeStats(std::move(values), percentiles);
    ReportJson row = {name, stats.min, stats.mean, stats.median};
    for (double v : stats.percentiles) row.push_back(v);
    row.push_back(stats.max);
    rows.push_back(std::move(row));
  }
  const ReportJson summary = {{"title", "Performance summary (ms)"}, {"columns", columns}, {"rows", rows}};

  const std::string name = std::filesystem::path(modelFile).filename().string();
  const std::string label = o.onnx.empty() ? name : name + " (" + precisionText(o.build) + ")";
  const ReportJson report = {
      {"title", "lowp exec: " + name},
      {"facts", facts},
      {"tables", ReportJson::array({summary})},
      {"engines", ReportJson::array({engineSection(label, engine, profiler.averageMs(), latencies)})}};
  if (Status s = writeHtmlReport(report, o.report); !s) throw ExecError{s.message()};
  logLines('I', "Wrote the HTML report to " + o.report);
}

void runExec(const ExecOptions& o) {
  validate(o);
  const std::vector<float> percentiles = parsePercentiles(o.percentile);
  std::map<std::string, std::vector<int64_t>> shapes;
  if (std::string e = parseShapeList(o.shapes, shapes); !e.empty()) throw ExecError{e};
  const std::map<std::string, std::string> files = parseLoadInputs(o.loadInputs);
  // Typed files (.npy, .pb) are read now: their shapes also give the build shapes of dynamic inputs.
  std::map<std::string, Tensor> loaded;
  std::map<std::string, std::vector<int64_t>> buildShapes = shapes;
  for (const auto& [name, file] : files) {
    if (!isTensorFile(file)) continue;
    auto t = readTensorFile(file);
    if (!t) throw ExecError{"--loadInputs " + name + ": " + t.status().toString()};
    auto given = shapes.find(name);
    if (given != shapes.end() && given->second != t->shape())
      throw ExecError{"--loadInputs " + name + ": the file has shape " + dimsText(t->shape()) +
                      ", --shapes gives " + dimsText(given->second)};
    buildShapes.emplace(name, t->shape());
    loaded.emplace(name, std::move(t).value());
  }
  printConfiguration(o, buildShapes, files, percentiles);
  std::shared_ptr<Engine> engine = makeEngine(o, buildShapes, shapes, files, loaded);
  const bool onGpu = engine->device() == Device::kCuda;
  if (o.useCudaGraph && !onGpu)
    logLines('W', "--useCudaGraph: not applicable on the CPU (there are no CUDA graphs); ignored");
  if (o.useSpinWait) {
    logLines('W',
             onGpu ? "--useSpinWait: not applicable (execute() waits for the GPU before it returns); ignored"
                   : "--useSpinWait: not applicable on the CPU (execute() is synchronous); ignored");
  }
  if (o.build.noTF32 && !onGpu)
    logLines('I', "--noTF32: no effect on the CPU (TF32 is a GPU matrix-math mode)");
  const std::vector<NamedTensor> inputs = makeInputs(*engine, shapes, files, loaded);
  auto context = engine->createExecutionContext();
  context->setUseCudaGraph(o.useCudaGraph && onGpu);
  QueryRunner runner(*context, inputs, !o.noDataTransfers, onGpu);

  // The report shows per-layer times, so it profiles as --dumpProfile does.
  const bool profiling = o.dumpProfile || !o.exportProfile.empty() || !o.report.empty();
  LayerProfiler profiler;
  // As trtexec: the profiler is attached to the timed run, unless --separateProfileRun asks for the timed
  // run without it (clock reads per layer cost time) and a second, profiled run after it.
  LayerProfiler* timedProfiler = profiling && !o.separateProfileRun ? &profiler : nullptr;
  logLines('I', "Starting inference");
  const TimedRun run = runTimed(*context, runner, o, timedProfiler, true);
  ReportSettings settings;
  settings.avgRuns = o.avgRuns;
  settings.percentiles = percentiles;
  settings.verbose = o.verbose;
  settings.dataTransfers = !o.noDataTransfers;
  settings.onGpu = onGpu;
  printPerformanceReport(run.warmupQueries, o.warmUpMs, run.timed, settings);
  if (profiling && o.separateProfileRun) runTimed(*context, runner, o, &profiler, false);
  context->setProfiler(nullptr);

  if (o.dumpOutput) {
    std::ostringstream s;
    dumpOutputs(runner.outputs(), s);
    logLines('I', s.str());
  }
  if (!o.exportOutput.empty()) {
    if (Status s = exportOutputJson(runner.outputs(), o.exportOutput); !s) throw ExecError{s.message()};
  }
  if (!o.exportTimes.empty()) {
    if (Status s = exportTimesJson(run.timed, o.exportTimes); !s) throw ExecError{s.message()};
  }
  if (o.dumpLayerInfo) {
    std::ostringstream s;
    s << "Layer Information:\n";
    printLayerInfo(*engine, s);
    logLines('I', s.str());
  }
  if (!o.exportLayerInfo.empty()) {
    std::vector<NamedTensor> bindings = inputs;
    for (const NamedTensor& out : runner.outputs()) bindings.push_back(out);
    if (Status s = exportLayerInfoJson(*engine, bindings, o.exportLayerInfo); !s)
      throw ExecError{s.message()};
  }
  if (profiling) {
    if (o.dumpProfile) {
      std::ostringstream s;
      profiler.print(s);
      logLines('I', s.str());
    }
    if (!o.exportProfile.empty()) {
      if (Status s = profiler.exportJson(o.exportProfile); !s) throw ExecError{s.message()};
    }
  }
  if (!o.report.empty()) writeExecReport(o, *engine, inputs, run, profiler, percentiles);
}

int execMain(const ExecOptions& o) {
  const std::string banner = "lowp.exec [lowp v" LOWP_VERSION "] # " + commandLine();
  std::cout << "&&&& RUNNING " << banner << "\n";
  try {
    runExec(o);
  } catch (const ExecError& e) {
    std::cerr << "lowp exec: error: " << e.message << "\n";
    std::cout << "&&&& FAILED " << banner << "\n";
    return 1;
  }
  std::cout << "&&&& PASSED " << banner << "\n";
  return 0;
}

}  // namespace

CommandRunner addExecCommand(CLI::App& app) {
  auto opt = std::make_shared<ExecOptions>();
  CLI::App* cmd = app.add_subcommand(
      "exec", "trtexec's command line on the CPU: build or load an engine, time it, report as trtexec does");
  // Option groups as trtexec's help lists them.
  cmd->option_defaults()->group("Model Options");
  cmd->add_option("--onnx", opt->onnx, "ONNX model to build an engine from")->check(CLI::ExistingFile);
  cmd->add_option("--loadEngine", opt->loadEngine, "engine file to load instead of --onnx")
      ->check(CLI::ExistingFile);
  cmd->add_option("--saveEngine", opt->saveEngine, "write the built engine here");
  cmd->option_defaults()->group("Build Options");
  opt->build.addTo(*cmd);
  cmd->option_defaults()->group("Inference Options");
  cmd->add_option("--shapes", opt->shapes,
                  "name:1x3x224x224[,name:...]: input shapes (with --onnx, also the shapes to build for)");
  cmd->add_option("--loadInputs", opt->loadInputs,
                  "name:file[,name:file...]: input data, .npy/.pb or raw bytes ('name:0':file quotes a name "
                  "holding ':'); other inputs are random. The engine is also built on .npy/.pb data: give "
                  "inputs that decide shapes (Resize scales, Reshape shapes) this way");
  cmd->add_option("--warmUp", opt->warmUpMs, "warm up for N ms before timing (default 200)");
  cmd->add_option("--duration", opt->durationS, "time for at least N s (default 3)");
  cmd->add_option("--iterations", opt->iterations, "time at least N queries (default 10)");
  cmd->add_flag("--noDataTransfers", opt->noDataTransfers,
                "run on the caller's buffers: no input or output copies (H2D/D2H report 0)");
  cmd->add_flag("--separateProfileRun", opt->separateProfileRun,
                "time without the profiler, then profile in a second run");
  cmd->add_flag("--useCudaGraph", opt->useCudaGraph, "CUDA graphs (GPU only; not applicable on the CPU)");
  cmd->add_flag("--useSpinWait", opt->useSpinWait,
                "spin-wait on GPU events (GPU only; not applicable on the CPU)");
  cmd->option_defaults()->group("Reporting Options");
  cmd->add_option("--avgRuns", opt->avgRuns, "trace averages over N queries (default 10)");
  cmd->add_option("--percentile", opt->percentile,
                  "P1[,P2...]: latency percentiles to report (default 90,95,99)");
  cmd->add_flag("--dumpProfile", opt->dumpProfile, "print per-layer times");
  cmd->add_option("--exportProfile", opt->exportProfile, "write per-layer times as trtexec's JSON");
  cmd->add_flag("--dumpLayerInfo", opt->dumpLayerInfo, "print every layer's precision, tactic and reason");
  cmd->add_option("--exportLayerInfo", opt->exportLayerInfo, "write the layer information as trtexec's JSON");
  cmd->add_flag("--dumpOutput", opt->dumpOutput, "print the outputs of the last query");
  cmd->add_option("--exportOutput", opt->exportOutput,
                  "write the outputs of the last query as trtexec's JSON");
  cmd->add_option("--exportTimes", opt->exportTimes, "write every timed query's times as trtexec's JSON");
  cmd->add_option("--report", opt->report,
                  "write an HTML report of the run (per-layer times by precision, precision mix, latency "
                  "histogram); profiles the layers as --dumpProfile does");
  cmd->add_flag("--verbose", opt->verbose, "builder messages and the explanations of the metrics");
  return [opt] { return execMain(*opt); };
}

}  // namespace lowp::tools
