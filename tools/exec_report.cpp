#include "exec_report.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

namespace lowp::tools {
namespace {

using OrderedJson = nlohmann::ordered_json;

Status writeText(const std::string& path, const std::string& option, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  if (out) out << text;
  if (!out) return Status(StatusCode::kIoError, option + ": cannot write " + path);
  return {};
}

double medianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 != 0 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// TensorRT's wording of a tensor's type and layout in engine-inspector JSON, for the formats lowp has.
std::string formatDatatype(DataType type, const std::string& format) {
  std::string t;
  switch (type) {
    case DataType::kFloat32:
      t = "FP32";
      break;
    case DataType::kFloat16:
      t = "FP16";
      break;
    case DataType::kBFloat16:
      t = "BFloat16";
      break;
    case DataType::kInt8:
      t = "Int8";
      break;
    case DataType::kUInt8:
      t = "UInt8";
      break;
    case DataType::kInt32:
      t = "Int32";
      break;
    case DataType::kInt64:
      t = "Int64";
      break;
    case DataType::kBool:
      t = "BOOL";
      break;
    case DataType::kFloat8E4M3FN:
      t = "FP8";
      break;
    default:
      t = std::string(dataTypeName(type));
  }
  if (format == "hwc") return "Channel major " + t + " format";
  if (format == "chw16") return "Sixteen wide channel vectorized row major " + t + " format";
  if (format != "linear" && !format.empty()) return format + " " + t + " format";
  // TensorRT spells these few without the trailing "format", and int8 without "linear".
  if (type == DataType::kFloat32 || type == DataType::kInt32 || type == DataType::kBool)
    return "Row major linear " + t;
  if (type == DataType::kInt8) return "Row major Int8 format";
  return "Row major linear " + t + " format";
}

// TensorRT's layer kind for an ONNX (or lowp) op, as engine-inspector JSON names it in ParameterType.
std::string parameterType(const std::string& op) {
  static const std::map<std::string, std::string, std::less<>> kinds = {
      {"Conv", "Convolution"},
      {"lowp.FusedConv", "Convolution"},
      {"lowp.QuantizedConv", "Convolution"},
      {"ConvTranspose", "Deconvolution"},
      {"MatMul", "MatrixMultiply"},
      {"Gemm", "MatrixMultiply"},
      {"lowp.FusedMatMul", "MatrixMultiply"},
      {"lowp.QuantizedMatMul", "MatrixMultiply"},
      {"lowp.ElementwiseChain", "PointWise"},
      {"lowp.Reformat", "Reformat"},
      {"MaxPool", "Pooling"},
      {"AveragePool", "Pooling"},
      {"GlobalAveragePool", "Pooling"},
      {"GlobalMaxPool", "Pooling"},
      {"Relu", "Activation"},
      {"LeakyRelu", "Activation"},
      {"Sigmoid", "Activation"},
      {"Tanh", "Activation"},
      {"Elu", "Activation"},
      {"Selu", "Activation"},
      {"Softplus", "Activation"},
      {"Clip", "Activation"},
      {"HardSigmoid", "Activation"},
      {"Add", "ElementWise"},
      {"Sub", "ElementWise"},
      {"Mul", "ElementWise"},
      {"Div", "ElementWise"},
      {"Pow", "ElementWise"},
      {"Max", "ElementWise"},
      {"Min", "ElementWise"},
      {"Softmax", "Softmax"},
      {"Reshape", "Shuffle"},
      {"Transpose", "Shuffle"},
      {"Flatten", "Shuffle"},
      {"Squeeze", "Shuffle"},
      {"Unsqueeze", "Shuffle"},
      {"Concat", "Concatenation"},
      {"Slice", "Slice"},
      {"Gather", "Gather"},
      {"Cast", "Cast"},
      {"QuantizeLinear", "Quantize"},
      {"DequantizeLinear", "Dequantize"},
      {"ReduceMean", "Reduce"},
      {"ReduceSum", "Reduce"},
      {"ReduceMax", "Reduce"},
      {"ReduceMin", "Reduce"},
      {"LayerNormalization", "Normalization"},
      {"BatchNormalization", "Scale"},
      {"Resize", "Resize"},
  };
  auto it = kinds.find(op);
  return it != kinds.end() ? it->second : op;
}

// A stable 64-bit number for a tactic name (FNV-1a), written as TensorRT writes TacticValue.
std::string tacticValue(const std::string& tactic) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : tactic) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  std::ostringstream s;
  s << "0x" << std::hex << std::setw(16) << std::setfill('0') << h;
  return s.str();
}

// One tensor value in the shortest text that reads back to the same number. Not-a-number and infinities
// are written as Python's json module reads them (NaN, Infinity): JSON itself has no spelling for them.
void appendValue(std::string& out, const Tensor& t, int64_t i) {
  const double v = elementAsDouble(t, i);
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "Infinity" : "-Infinity";
    return;
  }
  char buffer[64];
  std::to_chars_result r{};
  switch (t.type()) {
    case DataType::kFloat64:
      r = std::to_chars(buffer, buffer + sizeof(buffer), v);
      break;
    case DataType::kFloat32:
    case DataType::kFloat16:
    case DataType::kBFloat16:
    case DataType::kFloat8E4M3FN:
    case DataType::kFloat8E4M3FNUZ:
    case DataType::kFloat8E5M2:
    case DataType::kFloat8E5M2FNUZ:
      r = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<float>(v));
      break;
    default:  // integers and booleans
      r = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<int64_t>(v));
  }
  out.append(buffer, r.ptr);
}

}  // namespace

void logLines(char severity, std::string_view text) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "[%m/%d/%Y-%H:%M:%S]", &local);
  std::ostream& os = severity == 'E' ? std::cerr : std::cout;
  std::istringstream lines{std::string(text)};
  std::string line;
  if (text.empty()) os << stamp << " [" << severity << "] \n";
  while (std::getline(lines, line)) os << stamp << " [" << severity << "] " << line << "\n";
  os.flush();
}

std::string dimsText(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i != 0 ? "x" : "") + std::to_string(shape[i]);
  return s;
}

MetricStats computeStats(std::vector<double> values, const std::vector<float>& percentiles) {
  MetricStats r;
  if (values.empty()) return r;
  std::sort(values.begin(), values.end());
  const auto n = static_cast<int64_t>(values.size());
  r.min = values.front();
  r.max = values.back();
  r.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(n);
  r.median = medianOf(values);
  for (float p : percentiles) {
    const auto exclude = static_cast<int64_t>((1.0 - p / 100.0) * static_cast<double>(n));
    r.percentiles.push_back(values[static_cast<size_t>(std::max<int64_t>(n - 1 - exclude, 0))]);
  }
  double squares = 0;
  for (double v : values) squares += (v - r.mean) * (v - r.mean);
  r.coeffVar = r.mean == 0 ? 0 : std::sqrt(squares / static_cast<double>(n)) / r.mean * 100;
  return r;
}

namespace {

// What GPU Compute Time and Enqueue Time measure, by device; then H2D and D2H Latency, with transfers and
// without.
constexpr const char* kCpuCompute =
    "GPU Compute Time: on the CPU, the wall time of one ExecutionContext::execute() call, which runs every "
    "layer of the engine for one query and allocates its outputs.\n"
    "Enqueue Time: the host time to issue one query. execute() is synchronous on the CPU, so this is the "
    "same "
    "measurement as GPU Compute Time.\n";
constexpr const char* kGpuCompute =
    "GPU Compute Time: the GPU time of the engine's layers in one ExecutionContext::execute() call, between "
    "CUDA events, with any time the GPU waited for the host to launch them.\n"
    "Enqueue Time: the host time of one execute() call, which returns once its copies and layers are done "
    "on the GPU.\n";
constexpr const char* kCpuTransfers =
    "H2D Latency: time to copy the input tensors from the caller's buffers into the buffers the engine "
    "reads, for one query.\n"
    "D2H Latency: time to copy the output tensors execute() returns into the caller's buffers, for one "
    "query.\n";
constexpr const char* kGpuTransfers =
    "H2D Latency: the GPU time of execute()'s copies of the inputs from page-locked host buffers into "
    "device memory, for one query.\n"
    "D2H Latency: the GPU time of execute()'s copies of the outputs into page-locked host buffers, for one "
    "query.\n";
constexpr const char* kCpuNoTransfers =
    "H2D Latency, D2H Latency: 0, since --noDataTransfers runs the engine on the caller's buffers and keeps "
    "its outputs where execute() left them.\n";
constexpr const char* kGpuNoTransfers =
    "H2D Latency, D2H Latency: 0, since --noDataTransfers leaves execute()'s copies out of the times.\n";

}  // namespace

void printPerformanceReport(int warmupQueries, double warmUpMs, const std::vector<QueryTrace>& timed,
                            const ReportSettings& settings) {
  const double walltimeMs = timed.back().d2hEnd - timed.front().h2dStart;
  std::ostringstream info;
  info << "Warmup completed " << warmupQueries << " queries over " << warmUpMs << " ms\n";
  info << "Timing trace has " << timed.size() << " queries over " << walltimeMs / 1000 << " s\n";
  info << "\n=== Trace details ===\n";
  info << "Trace averages of " << settings.avgRuns << " runs:\n";
  int count = 0;
  double enqueue = 0;
  double compute = 0;
  double latency = 0;
  for (const QueryTrace& t : timed) {
    enqueue += t.enqueueMs();
    compute += t.computeMs();
    latency += t.latencyMs();
    if (++count == settings.avgRuns) {
      info << "Average on " << settings.avgRuns << " runs - GPU latency: " << compute / settings.avgRuns
           << " ms - Host latency: " << latency / settings.avgRuns << " ms (enqueue "
           << enqueue / settings.avgRuns << " ms)\n";
      count = 0;
      enqueue = compute = latency = 0;
    }
  }
  auto metric = [&](double (QueryTrace::*get)() const) {
    std::vector<double> v;
    v.reserve(timed.size());
    for (const QueryTrace& t : timed) v.push_back((t.*get)());
    return computeStats(std::move(v), settings.percentiles);
  };
  const MetricStats latencyStats = metric(&QueryTrace::latencyMs);
  const MetricStats enqueueStats = metric(&QueryTrace::enqueueMs);
  const MetricStats h2dStats = metric(&QueryTrace::h2dMs);
  const MetricStats computeStatsAll = metric(&QueryTrace::computeMs);
  const MetricStats d2hStats = metric(&QueryTrace::d2hMs);
  auto line = [&](const MetricStats& r) {
    std::ostringstream s;
    s << "min = " << r.min << " ms, max = " << r.max << " ms, mean = " << r.mean
      << " ms, median = " << r.median << " ms";
    for (size_t i = 0; i < settings.percentiles.size(); ++i)
      s << ", percentile(" << settings.percentiles[i] << "%) = " << r.percentiles[i] << " ms";
    return s.str();
  };
  info << "\n=== Performance summary ===\n";
  info << "Throughput: " << static_cast<double>(timed.size()) / walltimeMs * 1000 << " qps\n";
  info << "Latency: " << line(latencyStats) << "\n";
  info << "Enqueue Time: " << line(enqueueStats) << "\n";
  info << "H2D Latency: " << line(h2dStats) << "\n";
  info << "GPU Compute Time: " << line(computeStatsAll) << "\n";
  info << "D2H Latency: " << line(d2hStats) << "\n";
  info << "Total Host Walltime: " << walltimeMs / 1000 << " s\n";
  info << "Total GPU Compute Time: " << computeStatsAll.mean * static_cast<double>(timed.size()) / 1000
       << " s\n";
  logLines('I', info.str());

  // The warnings trtexec gives when something other than compute bounds the throughput. The enqueue is the
  // whole query (execute() returns when done), so enqueue-bound cannot be told apart from the rest and is
  // not reported.
  std::ostringstream warn;
  if (settings.dataTransfers && h2dStats.median >= computeStatsAll.median) {
    warn
        << "* Throughput may be bound by host-to-device transfers for the inputs rather than GPU Compute and "
           "the GPU may be under-utilized.\n"
        << "  Add --noDataTransfers flag to disable data transfers.\n";
  }
  if (settings.dataTransfers && d2hStats.median >= computeStatsAll.median) {
    warn << "* Throughput may be bound by device-to-host transfers for the outputs rather than GPU Compute "
            "and the GPU may be under-utilized.\n"
         << "  Add --noDataTransfers flag to disable data transfers.\n";
  }
  constexpr double kUnstableCoeffVarPercent = 1.0;  // trtexec's threshold
  if (computeStatsAll.coeffVar > kUnstableCoeffVarPercent) {
    warn << "* GPU compute time is unstable, with coefficient of variance = " << computeStatsAll.coeffVar
         << "%.\n"
         << (settings.onGpu
                 ? "  On the GPU, clock changes and other processes sharing the device cause this; "
                   "--useCudaGraph removes the host's launch gaps from it.\n"
                 : "  On the CPU, other processes sharing the cores, frequency scaling and thread migration "
                   "cause this; pinning the process to idle cores (taskset) may improve the stability.\n");
  }
  if (!warn.str().empty()) logLines('W', warn.str());
  logLines('I', "Explanations of the performance metrics are printed in the verbose logs.");
  if (settings.verbose) {
    logLines(
        'V',
        "\n=== Explanations of the performance metrics ===\n"
        "Total Host Walltime: wall time from the start of the first query after warm-up to the end of the "
        "last query.\n"
        "Total GPU Compute Time: the sum of GPU Compute Time over all queries. Much less than Total Host "
        "Walltime means time goes to copies or to the harness between queries.\n"
        "Throughput: queries divided by Total Host Walltime.\n" +
            std::string(settings.onGpu ? kGpuCompute : kCpuCompute) +
            std::string(settings.dataTransfers ? (settings.onGpu ? kGpuTransfers : kCpuTransfers)
                                               : (settings.onGpu ? kGpuNoTransfers : kCpuNoTransfers)) +
            "Latency: H2D Latency + GPU Compute Time + D2H Latency, the latency of one query.");
  }
  logLines('I', "");
}

Status exportTimesJson(const std::vector<QueryTrace>& timed, const std::string& path) {
  OrderedJson doc = OrderedJson::array();
  for (const QueryTrace& t : timed) {
    doc.push_back({{"startEnqMs", t.enqStart},
                   {"endEnqMs", t.enqEnd},
                   {"startH2dMs", t.h2dStart},
                   {"endH2dMs", t.h2dEnd},
                   {"startComputeMs", t.computeStart},
                   {"endComputeMs", t.computeEnd},
                   {"startD2hMs", t.d2hStart},
                   {"endD2hMs", t.d2hEnd},
                   {"h2dMs", t.h2dMs()},
                   {"computeMs", t.computeMs()},
                   {"d2hMs", t.d2hMs()},
                   {"latencyMs", t.latencyMs()}});
  }
  return writeText(path, "--exportTimes", doc.dump(2) + "\n");
}

void LayerProfiler::reportLayerTime(std::string_view layerName, float ms) {
  auto it = index_.find(layerName);
  if (it == index_.end()) {
    it = index_.emplace(std::string(layerName), layers_.size()).first;
    layers_.push_back({std::string(layerName), {}});
  }
  layers_[it->second].ms.push_back(ms);
  currentIteration_ += ms;
}

void LayerProfiler::endIteration() {
  iterationTotals_.push_back(currentIteration_);
  currentIteration_ = 0;
  ++iterations_;
}

double LayerProfiler::totalMs() const {
  double total = 0;
  for (const LayerTimes& l : layers_) total += std::accumulate(l.ms.begin(), l.ms.end(), 0.0);
  return total;
}

void LayerProfiler::print(std::ostream& os) const {
  const std::string nameHeader = "Layer";
  const std::string timeHeader = "   Time (ms)";
  const std::string avgHeader = "   Avg. Time (ms)";
  const std::string medianHeader = "   Median Time (ms)";
  const std::string percentHeader = "   Time %";
  size_t nameWidth = nameHeader.size();
  for (const LayerTimes& l : layers_) nameWidth = std::max(nameWidth, l.name.size() + 1);
  const double total = totalMs();
  const int n = std::max(iterations_, 1);
  auto row = [&](const std::string& name, double sum, double median, double percent) {
    os << std::setw(static_cast<int>(nameWidth)) << name << std::fixed << std::setprecision(2)
       << std::setw(static_cast<int>(timeHeader.size())) << sum << std::setprecision(4)
       << std::setw(static_cast<int>(avgHeader.size())) << sum / n
       << std::setw(static_cast<int>(medianHeader.size())) << median << std::setprecision(1)
       << std::setw(static_cast<int>(percentHeader.size())) << percent << "\n";
  };
  os << "\n=== Profile (" << iterations_ << " iterations ) ===\n"
     << std::setw(static_cast<int>(nameWidth)) << nameHeader << timeHeader << avgHeader << medianHeader
     << percentHeader << "\n";
  for (const LayerTimes& l : layers_) {
    const double sum = std::accumulate(l.ms.begin(), l.ms.end(), 0.0);
    if (sum == 0) continue;  // as trtexec: a layer that took no time has nothing to show
    row(l.name, sum, medianOf({l.ms.begin(), l.ms.end()}), total > 0 ? sum / total * 100 : 0);
  }
  row("Total", total, medianOf(iterationTotals_), 100.0);
  os << std::defaultfloat << std::setprecision(6) << "\n";
}

Status LayerProfiler::exportJson(const std::string& path) const {
  OrderedJson doc = OrderedJson::array();
  doc.push_back({{"count", iterations_}});
  const double total = totalMs();
  const int n = std::max(iterations_, 1);
  for (const LayerTimes& l : layers_) {
    const double sum = std::accumulate(l.ms.begin(), l.ms.end(), 0.0);
    doc.push_back({{"name", l.name},
                   {"timeMs", sum},
                   {"averageMs", sum / n},
                   {"medianMs", medianOf({l.ms.begin(), l.ms.end()})},
                   {"percentage", total > 0 ? sum / total * 100 : 0.0}});
  }
  return writeText(path, "--exportProfile", doc.dump(2) + "\n");
}

std::vector<std::pair<std::string, double>> LayerProfiler::averageMs() const {
  const int n = std::max(iterations_, 1);
  std::vector<std::pair<std::string, double>> out;
  out.reserve(layers_.size());
  for (const LayerTimes& l : layers_)
    out.emplace_back(l.name, std::accumulate(l.ms.begin(), l.ms.end(), 0.0) / n);
  return out;
}

Status exportLayerInfoJson(const Engine& engine, const std::vector<NamedTensor>& bindings,
                           const std::string& path) {
  // The bindings' shapes are this run's; the others are the engine's build shapes (LayerInfo).
  std::map<std::string, std::vector<int64_t>> bindingShapes;
  for (const NamedTensor& b : bindings) bindingShapes[b.name] = b.tensor.shape();
  auto tensors = [&](const std::vector<std::string>& names, const std::vector<DataType>& types,
                     const std::vector<std::string>& formats,
                     const std::vector<std::vector<int64_t>>& shapes) {
    OrderedJson list = OrderedJson::array();
    for (size_t i = 0; i < names.size(); ++i) {
      if (types[i] == DataType::kUndefined) continue;  // an omitted optional input
      auto binding = bindingShapes.find(names[i]);
      const std::vector<int64_t> dims = binding != bindingShapes.end() ? binding->second
                                        : i < shapes.size()            ? shapes[i]
                                                                       : std::vector<int64_t>{};
      list.push_back({{"Name", names[i]},
                      {"Location", "Device"},
                      {"Dimensions", dims},
                      {"Format/Datatype", formatDatatype(types[i], i < formats.size() ? formats[i] : "")}});
    }
    return list;
  };
  OrderedJson layers = OrderedJson::array();
  for (const LayerInfo& l : engine.layers()) {
    // TensorRT lists the ONNX nodes a layer came from in Metadata, separated by U+001E.
    std::string metadata = "[ONNX Layer: " + l.name + "]";
    for (const std::string& absorbed : l.absorbedNames) metadata += "\x1e[ONNX Layer: " + absorbed + "]";
    layers.push_back(
        {{"Name", l.name},
         {"LayerType", l.opType},
         {"Inputs", tensors(l.inputNames, l.inputTypes, l.inputFormats, l.inputShapes)},
         {"Outputs", tensors(l.outputNames, l.outputTypes, l.outputFormats, l.outputShapes)},
         {"ParameterType", parameterType(l.opType)},
         {"TacticName", l.tactic},
         {"TacticValue", tacticValue(l.tactic)},
         {"StreamId", 0},
         {"Metadata", metadata},
         {"Precision", l.precision == DataType::kUndefined ? "" : std::string(dataTypeName(l.precision))},
         {"RequestedPrecision", l.requestedPrecision == DataType::kUndefined
                                    ? ""
                                    : std::string(dataTypeName(l.requestedPrecision))},
         {"Reason", l.reason},
         {"BuildTimeMs", l.timeMs}});
  }
  OrderedJson names = OrderedJson::array();
  for (const TensorDesc& d : engine.inputs()) names.push_back(d.name);
  for (const TensorDesc& d : engine.outputs()) names.push_back(d.name);
  OrderedJson doc = {{"Layers", layers}, {"Bindings", names}};
  return writeText(path, "--exportLayerInfo", doc.dump(2) + "\n");
}

Status exportOutputJson(const std::vector<NamedTensor>& outputs, const std::string& path) {
  std::string text = "[\n";
  for (size_t o = 0; o < outputs.size(); ++o) {
    const Tensor& t = outputs[o].tensor;
    text += o == 0 ? "  { " : ", { ";
    text += "\"name\" : " + OrderedJson(outputs[o].name).dump() + "\n";
    text += "  , \"dimensions\" : \"" + dimsText(t.shape()) + "\"\n";
    text += "  , \"values\" : [ ";
    for (int64_t i = 0; i < t.elementCount(); ++i) {
      if (i != 0) text += ", ";
      appendValue(text, t, i);
    }
    text += " ]\n  }\n";
  }
  text += "]\n";
  return writeText(path, "--exportOutput", text);
}

void dumpOutputs(const std::vector<NamedTensor>& outputs, std::ostream& os) {
  os << "Output Tensors:\n";
  for (const NamedTensor& o : outputs) {
    os << o.name << ": (" << dimsText(o.tensor.shape()) << ")\n";
    std::string values;
    for (int64_t i = 0; i < o.tensor.elementCount(); ++i) {
      if (i != 0) values += " ";
      appendValue(values, o.tensor, i);
    }
    os << values << "\n";
  }
}

}  // namespace lowp::tools
