// lowp_bench: times ExecutionContext::execute on one model, using only lowp's public API.
//
//   lowp_bench --onnx MODEL --batch N [--threads T] [--warmup W] [--iters I] [--seed S]
//       loads the model, runs W warm-up executions, then I timed ones, and prints one JSON object:
//       {"runner":"lowp","median_ms":..,"min_ms":..,"mean_ms":..,"max_ms":..,"iters":..,"times_ms":[..],..}
//
//   lowp_bench --onnx MODEL --batch N [--threads T] [--warmup W] --serve
//       loads and warms up, prints {"ready":true,...} and then, for every line "K" read on stdin, runs K
//       timed executions and prints {"times_ms":[...]} (one line). Ends at end of input or on "quit".
//       bench/run_benchmarks.py uses this mode to interleave lowp with its peers in one run.
//
// Every dynamic input dimension is set to --batch when it is the first dimension and fails otherwise;
// inputs are float32 uniform in [-1, 1) (seeded), integer inputs zero.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

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
};

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "lowp_bench: " << error << "\n"
            << "usage: lowp_bench --onnx MODEL [--batch N] [--threads T] [--warmup W] "
               "(--iters I | --serve) [--seed S]\n";
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

// Makes one input tensor per graph input, dynamic batch dimension set to `batch`.
lowp::Result<std::vector<lowp::NamedTensor>> makeInputs(const lowp::Engine& engine, int64_t batch,
                                                        uint32_t seed) {
  std::vector<lowp::NamedTensor> inputs;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  for (const lowp::TensorDesc& desc : engine.inputs()) {
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
    lowp::Tensor tensor(desc.type, shape);
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

lowp::Status runOnce(lowp::ExecutionContext& context, const std::vector<lowp::NamedTensor>& inputs,
                     std::vector<lowp::NamedTensor>& outputs) {
  outputs.clear();
  return context.execute(inputs, outputs);
}

// Runs `count` timed executions and appends their times in milliseconds.
lowp::Status timeRuns(lowp::ExecutionContext& context, const std::vector<lowp::NamedTensor>& inputs,
                      int count, std::vector<double>& times) {
  std::vector<lowp::NamedTensor> outputs;
  for (int i = 0; i < count; ++i) {
    const auto start = std::chrono::steady_clock::now();
    LOWP_RETURN_IF_ERROR(runOnce(context, inputs, outputs));
    times.push_back(msSince(start));
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

}  // namespace

int main(int argc, char** argv) {
  const Options options = parseOptions(argc, argv);

  lowp::EngineOptions engineOptions;
  engineOptions.threads = options.threads;
  auto loadStart = std::chrono::steady_clock::now();
  auto engine = lowp::Engine::fromOnnxFile(options.onnx, engineOptions);
  if (!engine) return fail(engine.status());
  const double loadMs = msSince(loadStart);

  auto inputs = makeInputs(**engine, options.batch, options.seed);
  if (!inputs) return fail(inputs.status());
  std::unique_ptr<lowp::ExecutionContext> context = (*engine)->createExecutionContext();

  std::vector<double> warmupTimes;
  if (lowp::Status status = timeRuns(*context, *inputs, options.warmup, warmupTimes); !status)
    return fail(status);

  const std::string common =
      "\"runner\":\"lowp\",\"model\":" + jsonString(options.onnx) +
      ",\"batch\":" + std::to_string(options.batch) + ",\"threads\":" + std::to_string(options.threads) +
      ",\"load_ms\":" + jsonNumber(loadMs) + ",\"warmup\":" + std::to_string(options.warmup) +
      ",\"warmup_ms\":" + jsonTimes(warmupTimes) +
      ",\"arena_bytes\":" + std::to_string(context->plannedArenaBytes()) +
      ",\"node_count\":" + std::to_string((*engine)->nodeCount()) +
      ",\"with_onednn\":" + (kWithOneDnn ? "true" : "false");

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
      if (lowp::Status status = timeRuns(*context, *inputs, count, times); !status) {
        std::cout << "{\"error\":" << jsonString(status.toString()) << "}" << std::endl;
        return 1;
      }
      std::cout << "{\"times_ms\":" << jsonTimes(times) << "}" << std::endl;
    }
    return 0;
  }

  std::vector<double> times;
  if (lowp::Status status = timeRuns(*context, *inputs, options.iters, times); !status) return fail(status);
  const double sum = std::accumulate(times.begin(), times.end(), 0.0);
  std::cout << "{" << common << ",\"iters\":" << times.size()
            << ",\"median_ms\":" << jsonNumber(median(times))
            << ",\"min_ms\":" << jsonNumber(*std::min_element(times.begin(), times.end()))
            << ",\"mean_ms\":" << jsonNumber(sum / static_cast<double>(times.size()))
            << ",\"max_ms\":" << jsonNumber(*std::max_element(times.begin(), times.end()))
            << ",\"times_ms\":" << jsonTimes(times) << "}" << std::endl;
  return 0;
}
