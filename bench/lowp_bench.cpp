// lowp_bench: times ExecutionContext::execute on one model, using only lowp's public API.
//
//   lowp_bench --onnx MODEL --batch N [--precision P] [--timing-cache FILE] [--calib FILE] [--threads T]
//              [--warmup W] [--iters I] [--seed S]
//       makes the engine, runs W warm-up executions, then I timed ones, and prints one JSON object:
//       {"runner":"lowp","precision":..,"build_s":..,"median_ms":..,"min_ms":..,"times_ms":[..],..}
//
//   lowp_bench ... --serve
//       makes the engine and warms up, prints {"ready":true,...} and then, for every line "K" read on stdin,
//       runs K timed executions and prints {"times_ms":[...]} (one line). Ends at end of input or on "quit".
//       bench/run_benchmarks.py uses this mode to interleave lowp with its peers in one run.
//
//   lowp_bench ... --device cuda [--cuda-graph]
//       builds for and runs on the GPU (BuilderConfig::setDevice): tactics timed there, execute() takes and
//       returns page-locked host tensors (ExecutionContext::allocateHostTensor; the outputs written in place
//       after the warm-up), and each run also reports the layers' GPU time from CUDA events
//       (ExecutionContext::lastDeviceTimes().computeMs) as "device_times_ms" / "device_median_ms".
//       --cuda-graph replays the layers as one CUDA graph (ExecutionContext::setUseCudaGraph).
//
//   lowp_bench ... --build-only
//       makes the engine and prints its JSON object (build_s, layer precisions) without timing runs.
//
// --precision says how the engine is made:
//   fp32, bf16, fp16,       Builder::build with no reduced-precision flag, kBF16, kFP16, kINT8, or every
//   int8, best              flag (as `lowp build --best`), the input shapes fixed at the benchmark batch, and
//                           the timing cache FILE when given (read if it exists, written after the build; the
//                           cache itself refuses times from another device or lowp version). This is the
//                           engine `lowp build` gives its users; fp32 is the default.
//   tf32                    (GPU) Builder::build with no reduced-precision flag and TF32 allowed; on the GPU,
//                           fp32 clears the TF32 flag, and fp16, bf16, int8 and best keep it (TensorRT's
//                           default) for the layers they leave in fp32.
//   fp8                     (GPU) Builder::build with kFP8 and kFP16: fp8 matrix products where faster, fp16
//                           or fp32 elsewhere.
//   runtime                 Engine::fromOnnxFile: the plain FP32 runtime, nothing timed, no builder.
// build_s is the wall time of making the engine (import included), in seconds.
//
// INT8 and FP8 scales (int8, fp8 and best): from the calibration cache --calib FILE (TensorRT's text format,
// as `lowp calibrate --calib FILE` writes it; it must exist: the benchmark never calibrates), else from the
// builder's one run on random inputs, which gives real speed and meaningless accuracy. The JSON says which:
// "scales":"calibration-cache" or "random-input".
//
// Every dynamic input dimension is set to --batch when it is the first dimension and fails otherwise;
// inputs are float32 uniform in [-1, 1) (seeded), integer inputs zero.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "lowp/builder.h"
#include "lowp/data_type.h"
#include "lowp/engine.h"
#include "lowp/tensor.h"

namespace {

struct Options {
  std::string onnx;
  int64_t batch = 1;
  int threads = 0;
  int warmup = 3;
  int iters = 10;
  uint32_t seed = 0;
  bool serve = false;
  bool buildOnly = false;
  std::string precision = "fp32";
  std::string timingCache;
  std::string calibrationCache;
  std::string device = "cpu";
  bool cudaGraph = false;
};

constexpr std::array<std::string_view, 8> kPrecisions = {"fp32", "tf32", "bf16", "fp16",
                                                         "int8", "fp8",  "best", "runtime"};

// Whether the engine --precision names may run layers in int8 or fp8 (and so needs their scales).
bool allowsQuantized(const std::string& precision) {
  return precision == "int8" || precision == "fp8" || precision == "best";
}

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "lowp_bench: " << error << "\n"
            << "usage: lowp_bench --onnx MODEL [--batch N] [--precision "
               "fp32|tf32|bf16|fp16|int8|fp8|best|runtime]\n"
               "                  [--timing-cache FILE] [--calib FILE] [--threads T] [--warmup W] "
               "(--iters I | --serve | --build-only) [--seed S] [--device cpu|cuda [--cuda-graph]]\n";
  std::exit(2);
}

int64_t parseInt(const std::string& option, const std::string& text) {
  try {
    size_t used = 0;
    const long long value = std::stoll(text, &used);
    if (used != text.size()) usage("option " + option + ": not an integer: '" + text + "'");
    return value;
  } catch (const std::exception&) {
    usage("option " + option + ": not an integer: '" + text + "'");
  }
}

Options parseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("option " + arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--onnx") {
      options.onnx = value();
    } else if (arg == "--batch") {
      options.batch = parseInt(arg, value());
    } else if (arg == "--threads") {
      options.threads = static_cast<int>(parseInt(arg, value()));
    } else if (arg == "--warmup") {
      options.warmup = static_cast<int>(parseInt(arg, value()));
    } else if (arg == "--iters") {
      options.iters = static_cast<int>(parseInt(arg, value()));
    } else if (arg == "--seed") {
      options.seed = static_cast<uint32_t>(parseInt(arg, value()));
    } else if (arg == "--serve") {
      options.serve = true;
    } else if (arg == "--build-only") {
      options.buildOnly = true;
    } else if (arg == "--precision") {
      options.precision = value();
    } else if (arg == "--timing-cache") {
      options.timingCache = value();
    } else if (arg == "--calib") {
      options.calibrationCache = value();
    } else if (arg == "--device") {
      options.device = value();
    } else if (arg == "--cuda-graph") {
      options.cudaGraph = true;
    } else if (arg == "--help" || arg == "-h") {
      usage("help");
    } else {
      usage("unknown option '" + arg + "'");
    }
  }
  if (options.onnx.empty()) usage("--onnx is required");
  if (options.batch < 1) usage("--batch must be at least 1");
  if (options.threads < 0) usage("--threads must not be negative");
  if (options.warmup < 0) usage("--warmup must not be negative");
  if (!options.serve && options.iters < 1) usage("--iters must be at least 1");
  if (options.serve && options.buildOnly) usage("--serve and --build-only exclude each other");
  if (std::find(kPrecisions.begin(), kPrecisions.end(), options.precision) == kPrecisions.end()) {
    usage("--precision must be fp32, tf32, bf16, fp16, int8, fp8, best or runtime, not '" +
          options.precision + "'");
  }
  if (options.device != "cpu" && options.device != "cuda") usage("--device must be cpu or cuda");
  if (options.cudaGraph && options.device != "cuda") usage("--cuda-graph needs --device cuda");
  if (options.precision == "tf32" && options.device != "cuda") usage("--precision tf32 needs --device cuda");
  if (options.precision == "fp8" && options.device != "cuda") usage("--precision fp8 needs --device cuda");
  if (options.precision == "runtime" && !options.timingCache.empty()) {
    usage("--timing-cache needs a built engine (--precision fp32, bf16, fp16, int8 or best)");
  }
  if (!options.calibrationCache.empty()) {
    if (!allowsQuantized(options.precision)) usage("--calib needs --precision int8, fp8 or best");
    // The builder writes a cache it does not find after calibrating; the benchmark has no calibration
    // data, so a missing file would silently mean random-input scales.
    if (!std::filesystem::is_regular_file(options.calibrationCache)) {
      usage("--calib: no calibration cache '" + options.calibrationCache +
            "' (write one with lowp calibrate)");
    }
  }
  return options;
}

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string jsonNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", value);
  return buffer;
}

std::string jsonTimes(const std::vector<double>& times) {
  std::string out = "[";
  for (size_t i = 0; i < times.size(); ++i) {
    if (i != 0) out += ",";
    out += jsonNumber(times[i]);
  }
  return out + "]";
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// The benchmark's input shapes (the engine is built for them): every dynamic dimension, which must be the
// first, is `batch`.
lowp::Result<std::map<std::string, std::vector<int64_t>>> inputShapes(
    const std::vector<lowp::TensorDesc>& descs, int64_t batch) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const lowp::TensorDesc& desc : descs) {
    if (!desc.rankKnown) {
      return lowp::Status(lowp::StatusCode::kUnsupported, "input '" + desc.name + "' has no stated rank");
    }
    std::vector<int64_t> shape = desc.shape;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] >= 0) continue;
      if (d != 0) {
        return lowp::Status(lowp::StatusCode::kUnsupported,
                            "input '" + desc.name + "' has a dynamic dimension other than the first");
      }
      shape[d] = batch;
    }
    shapes[desc.name] = shape;
  }
  return shapes;
}

// Makes one input tensor per graph input, in the shapes inputShapes() gives.
lowp::Result<std::vector<lowp::NamedTensor>> makeInputs(const lowp::Engine& engine,
                                                        lowp::ExecutionContext& context, int64_t batch,
                                                        uint32_t seed) {
  LOWP_ASSIGN_OR_RETURN(auto shapes, inputShapes(engine.inputs(), batch));
  std::vector<lowp::NamedTensor> inputs;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  for (const lowp::TensorDesc& desc : engine.inputs()) {
    LOWP_ASSIGN_OR_RETURN(lowp::Tensor tensor, context.allocateHostTensor(desc.type, shapes.at(desc.name)));
    if (desc.type == lowp::DataType::kFloat32) {
      float* data = tensor.data<float>();
      for (int64_t i = 0; i < tensor.elementCount(); ++i) data[i] = uniform(rng);
    } else if (desc.type != lowp::DataType::kInt64 && desc.type != lowp::DataType::kInt32 &&
               desc.type != lowp::DataType::kBool) {
      return lowp::Status(lowp::StatusCode::kUnsupported,
                          "input '" + desc.name + "' is neither float32 nor an integer type");
    }
    inputs.push_back({desc.name, std::move(tensor)});
  }
  return inputs;
}

// Replaces each output with a host tensor of the context's kind (page-locked on the GPU), which the next
// runs write in place.
lowp::Status keepOutputsInHostTensors(lowp::ExecutionContext& context,
                                      std::vector<lowp::NamedTensor>& outputs) {
  for (lowp::NamedTensor& out : outputs) {
    LOWP_ASSIGN_OR_RETURN(out.tensor, context.allocateHostTensor(out.tensor.type(), out.tensor.shape()));
  }
  return lowp::Status::ok();
}

// Runs `count` timed executions into `outputs` and appends their times in milliseconds, and on the GPU
// the layers' own GPU time of each (CUDA events) to `deviceTimes`.
lowp::Status timeRuns(lowp::ExecutionContext& context, const std::vector<lowp::NamedTensor>& inputs,
                      std::vector<lowp::NamedTensor>& outputs, int count, std::vector<double>& times,
                      std::vector<double>& deviceTimes) {
  for (int i = 0; i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    LOWP_RETURN_IF_ERROR(context.execute(inputs, outputs));
    times.push_back(msSince(start));
    if (const float ms = context.lastDeviceTimes().computeMs; ms >= 0) deviceTimes.push_back(ms);
  }
  return lowp::Status::ok();
}

// Whether this build compiled in the oneDNN kernels (LOWP_WITH_ONEDNN is a public compile definition of the
// lowp target when it does); which kernels a node actually runs is the engine's choice.
#ifdef LOWP_WITH_ONEDNN
constexpr bool kWithOneDnn = true;
#else
constexpr bool kWithOneDnn = false;
#endif

int fail(const lowp::Status& status) {
  std::cerr << "lowp_bench: " << status.toString() << "\n";
  return 1;
}

// Passes the builder's warnings to standard error (the harness keeps them in the runner's log) and keeps
// its closing summary ("built N layers in S s: T timings measured, H from the timing cache; ...") and its
// note on the calibration cache it read ("calibration cache FILE: N scales (ALGORITHM)").
class BenchLogger final : public lowp::Logger {
 public:
  void log(lowp::Severity severity, std::string_view message) override {
    if (severity <= lowp::Severity::kWarning) std::cerr << "lowp_bench: builder: " << message << "\n";
    if (severity == lowp::Severity::kInfo && message.starts_with("built ")) summary_ = message;
    if (severity == lowp::Severity::kInfo && message.starts_with("calibration cache "))
      calibration_ = message;
  }
  const std::string& summary() const { return summary_; }
  const std::string& calibration() const { return calibration_; }

 private:
  std::string summary_;
  std::string calibration_;
};

// Builds the engine as `lowp build` would with the flags --precision names (see the header comment).
lowp::Result<std::shared_ptr<lowp::Engine>> buildEngine(const Options& options, BenchLogger& logger) {
  LOWP_ASSIGN_OR_RETURN(auto network, lowp::NetworkDefinition::fromOnnxFile(options.onnx));
  lowp::BuilderConfig config;
  const bool best = options.precision == "best";
  if (options.device == "cuda") config.setDevice(lowp::Device::kCuda);
  if (options.device == "cuda" && options.precision == "fp32") config.clearFlag(lowp::BuilderFlag::kTF32);
  if (best || options.precision == "fp16" || options.precision == "fp8")
    config.setFlag(lowp::BuilderFlag::kFP16);
  if (best || options.precision == "bf16") config.setFlag(lowp::BuilderFlag::kBF16);
  if (best || options.precision == "int8") config.setFlag(lowp::BuilderFlag::kINT8);
  if (best || options.precision == "fp8") config.setFlag(lowp::BuilderFlag::kFP8);
  config.setCalibrationCacheFile(options.calibrationCache);
  LOWP_ASSIGN_OR_RETURN(auto shapes, inputShapes(network->inputs(), options.batch));
  for (auto& [name, shape] : shapes) config.setShape(name, shape);
  config.setTimingCacheFile(options.timingCache);
  config.setThreads(options.threads);
  return lowp::Builder(logger).build(*network, config);
}

// {"fp32":n,"bf16":m,...}: how many layers compute in each precision; conversions the builder inserted
// (casts, reformats) are counted apart.
std::string layerPrecisions(const lowp::Engine& engine, int& conversions) {
  std::map<std::string, int> counts;
  conversions = 0;
  for (const lowp::LayerInfo& layer : engine.layers()) {
    if (layer.reason.starts_with("conversion")) {
      ++conversions;
      continue;
    }
    ++counts[layer.precision == lowp::DataType::kUndefined ? "none"
                                                           : std::string(dataTypeName(layer.precision))];
  }
  std::string out = "{";
  for (const auto& [name, count] : counts) {
    out += (out.size() > 1 ? "," : "") + jsonString(name) + ":" + std::to_string(count);
  }
  return out + "}";
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parseOptions(argc, argv);

  BenchLogger logger;
  const auto buildStart = std::chrono::steady_clock::now();
  lowp::EngineOptions engineOptions;
  engineOptions.threads = options.threads;
  engineOptions.device = options.device == "cuda" ? lowp::Device::kCuda : lowp::Device::kCpu;
  auto engine = options.precision == "runtime" ? lowp::Engine::fromOnnxFile(options.onnx, engineOptions)
                                               : buildEngine(options, logger);
  if (!engine) return fail(engine.status());
  const double buildMs = msSince(buildStart);

  std::string common =
      "\"runner\":\"lowp\",\"model\":" + jsonString(options.onnx) +
      ",\"precision\":" + jsonString(options.precision) + ",\"batch\":" + std::to_string(options.batch) +
      ",\"threads\":" + std::to_string(options.threads) + ",\"load_ms\":" + jsonNumber(buildMs) +
      ",\"build_s\":" + jsonNumber(buildMs / 1e3) +
      ",\"node_count\":" + std::to_string((*engine)->nodeCount()) +
      ",\"with_onednn\":" + (kWithOneDnn ? "true" : "false") + ",\"device\":" + jsonString(options.device) +
      ",\"cuda_graph\":" + (options.cudaGraph ? "true" : "false");
  if (options.precision != "runtime") {
    int conversions = 0;
    const std::string precisions = layerPrecisions(**engine, conversions);
    common += ",\"timing_cache\":" + jsonString(options.timingCache) +
              ",\"build_summary\":" + jsonString(logger.summary()) +
              ",\"layers\":" + std::to_string((*engine)->layers().size()) +
              ",\"layer_precisions\":" + precisions + ",\"conversions\":" + std::to_string(conversions);
  }
  if (allowsQuantized(options.precision)) {
    common += std::string(",\"scales\":") +
              (options.calibrationCache.empty() ? "\"random-input\"" : "\"calibration-cache\"") +
              ",\"calibration_cache\":" + jsonString(options.calibrationCache) +
              ",\"calibration_summary\":" + jsonString(logger.calibration());
  }
  if (options.buildOnly) {
    std::cout << "{" << common << "}" << std::endl;
    return 0;
  }

  std::unique_ptr<lowp::ExecutionContext> context = (*engine)->createExecutionContext();
  context->setUseCudaGraph(options.cudaGraph);
  auto inputs = makeInputs(**engine, *context, options.batch, options.seed);
  if (!inputs) return fail(inputs.status());

  std::vector<lowp::NamedTensor> outputs;
  std::vector<double> warmupTimes;
  std::vector<double> warmupDeviceTimes;
  if (lowp::Status status =
          timeRuns(*context, *inputs, outputs, options.warmup, warmupTimes, warmupDeviceTimes);
      !status)
    return fail(status);
  if (lowp::Status status = keepOutputsInHostTensors(*context, outputs); !status) return fail(status);
  common += ",\"warmup\":" + std::to_string(options.warmup) + ",\"warmup_ms\":" + jsonTimes(warmupTimes) +
            ",\"arena_bytes\":" + std::to_string(context->plannedArenaBytes());

  if (options.serve) {
    std::cout << "{\"ready\":true," << common << "}" << std::endl;
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "quit") break;
      std::istringstream parse(line);
      int count = 0;
      if (!(parse >> count) || count < 1) {
        std::cout << "{\"error\":" << jsonString("expected a positive count, got '" + line + "'") << "}"
                  << std::endl;
        continue;
      }
      std::vector<double> times;
      std::vector<double> deviceTimes;
      if (lowp::Status status = timeRuns(*context, *inputs, outputs, count, times, deviceTimes); !status) {
        std::cout << "{\"error\":" << jsonString(status.toString()) << "}" << std::endl;
        return 1;
      }
      std::cout << "{\"times_ms\":" << jsonTimes(times);
      if (!deviceTimes.empty()) std::cout << ",\"device_times_ms\":" << jsonTimes(deviceTimes);
      std::cout << "}" << std::endl;
    }
    return 0;
  }

  std::vector<double> times;
  std::vector<double> deviceTimes;
  if (lowp::Status status = timeRuns(*context, *inputs, outputs, options.iters, times, deviceTimes); !status)
    return fail(status);
  if (!deviceTimes.empty()) {
    common += ",\"device_median_ms\":" + jsonNumber(median(deviceTimes)) +
              ",\"device_times_ms\":" + jsonTimes(deviceTimes);
  }
  const double sum = std::accumulate(times.begin(), times.end(), 0.0);
  std::cout << "{" << common << ",\"iters\":" << times.size()
            << ",\"median_ms\":" << jsonNumber(median(times))
            << ",\"min_ms\":" << jsonNumber(*std::min_element(times.begin(), times.end()))
            << ",\"mean_ms\":" << jsonNumber(sum / static_cast<double>(times.size()))
            << ",\"max_ms\":" << jsonNumber(*std::max_element(times.begin(), times.end()))
            << ",\"times_ms\":" << jsonTimes(times) << "}" << std::endl;
  return 0;
}
