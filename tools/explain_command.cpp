// `lowp explain`: why a reduced precision gives the speedup it gives. Builds the FP32 engine and the one
// the precision flags ask for (same shapes), times both, measures the device's own rates, and runs the
// checks of explain_checks.h: one finding per reason, ranked by the time it explains, as a text table,
// JSON (--exportJson) and an HTML report (--report). docs/explain.md says what each check measures.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

#include "build_options.h"
#include "commands.h"
#include "explain_checks.h"
#include "html_report.h"
#include "lowp/builder.h"
#include "lowp/device.h"
#include "measure.h"
#include "output_error.h"
#include "tensor_summary.h"

namespace lowp::tools {
namespace {

using Json = nlohmann::ordered_json;
using Shapes = std::map<std::string, std::vector<int64_t>>;

struct ExplainOptions {
  std::string onnx;
  BuildFlags build;
  std::vector<std::string> shapes;
  std::string batches;
  std::string exportJson;
  std::string report;
  int threads = 0;
  int iterations = 10;
  double durationS = 0.5;
  int warmUpMs = 200;
  bool verbose = false;
};

struct ExplainError {
  std::string message;
};

// Passes each distinct builder warning on once (explain builds the model several times), every message
// with --verbose.
class ExplainLogger final : public Logger {
 public:
  explicit ExplainLogger(bool verbose) : verbose_(verbose) {}
  void log(Severity severity, std::string_view message) override {
    if (quiet_ && severity > Severity::kError) return;
    if (severity > (verbose_ ? Severity::kVerbose : Severity::kWarning)) return;
    if (!verbose_ && !seen_.emplace(message).second) return;
    std::cerr << "lowp explain: "
              << (severity <= Severity::kError     ? "error: "
                  : severity == Severity::kWarning ? "warning: "
                                                   : "")
              << message << "\n";
  }
  /// While on, only errors pass (the probes' own networks).
  void setQuiet(bool quiet) { quiet_ = quiet; }

 private:
  bool verbose_;
  bool quiet_ = false;
  std::set<std::string, std::less<>> seen_;
};

void progress(const std::string& line) {
  std::cerr << "explain: " << line << "\n";
}

// The reduced precisions the flags allow, in a fixed order.
std::vector<DataType> requestedPrecisions(const BuildFlags& b) {
  std::vector<DataType> out;
  if (b.fp16 || b.best) out.push_back(DataType::kFloat16);
  if (b.bf16 || b.best) out.push_back(DataType::kBFloat16);
  if (b.int8 || b.best) out.push_back(DataType::kInt8);
  if (b.fp8 || b.best) out.push_back(DataType::kFloat8E4M3FN);
  return out;
}

std::string joinTypes(const std::vector<DataType>& types) {
  std::string s;
  for (DataType t : types) s += (s.empty() ? "" : "+") + std::string(dataTypeName(t));
  return s;
}

// "1,8,32" -> {1, 8, 32}.
std::vector<int64_t> parseBatches(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    size_t used = 0;
    int64_t b = 0;
    try {
      b = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || b < 1)
      throw ExplainError{"--batches: '" + item + "' is not a batch size (a whole number of at least 1)"};
    out.push_back(b);
  }
  if (out.empty()) throw ExplainError{"--batches takes B1[,B2...], e.g. --batches=1,8"};
  return out;
}

// The build shapes: --shapes, checked against the model's inputs, with every dynamic dimension given.
Shapes resolveShapes(const NetworkDefinition& net, const std::vector<std::string>& given) {
  Shapes shapes;
  if (std::string e = parseShapeList(given, shapes); !e.empty()) throw ExplainError{e};
  const std::vector<TensorDesc> inputs = net.inputs();
  for (const auto& entry : shapes) {
    const std::string& name = entry.first;
    if (std::none_of(inputs.begin(), inputs.end(), [&](const TensorDesc& d) { return d.name == name; }))
      throw ExplainError{"--shapes names '" + name + "', which is not an input of the model"};
  }
  for (const TensorDesc& in : net.inputs()) {
    if (shapes.count(in.name) != 0) continue;
    for (size_t d = 0; d < in.shape.size(); ++d) {
      if (in.shape[d] < 0) {
        const std::string dim = in.dimNames[d].empty() ? std::to_string(d) : "'" + in.dimNames[d] + "'";
        throw ExplainError{"input '" + in.name + "' has dynamic dimension " + dim +
                           ": give its shape with --shapes=" + in.name + ":<dims>"};
      }
    }
    shapes[in.name] = in.shape;
  }
  return shapes;
}

// The batch of `shapes`: the first dimension of the first input that has one; 0 when none has.
int64_t batchOf(const Shapes& shapes) {
  for (const auto& [name, sizes] : shapes) {
    if (!sizes.empty()) return sizes[0];
  }
  return 0;
}

// `shapes` with the first dimension of every input of rank 1 or more set to `batch`.
Shapes withBatch(Shapes shapes, int64_t batch) {
  for (auto& [name, sizes] : shapes) {
    if (!sizes.empty()) sizes[0] = batch;
  }
  return shapes;
}

// Builds `flags` for `shapes` from a fresh import of the model (the flags set constraints on the network).
EngineRun buildVariant(ExplainLogger& logger, const ExplainOptions& o, const BuildFlags& flags,
                       const Shapes& shapes, const std::string& label) {
  auto network = NetworkDefinition::fromOnnxFile(o.onnx);
  if (!network) throw ExplainError{network.status().toString()};
  EngineRun run;
  run.label = label;
  run.shapes = shapes;
  const auto start = std::chrono::steady_clock::now();
  auto engine = buildEngine(**network, flags, shapes, o.threads, logger, !o.verbose);
  if (!engine) throw ExplainError{"building the " + label + " engine: " + engine.status().toString()};
  run.engine = *engine;
  run.buildSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress("built the " + label + " engine in " + fixed(run.buildSeconds, 1) + " s");
  return run;
}

// Times `runs` together (interleaved) and reports each.
void timeVariants(const std::vector<EngineRun*>& runs, const TimingPlan& plan) {
  if (Status s = timeEngines(runs, plan); !s) throw ExplainError{"running the engines: " + s.toString()};
  for (const EngineRun* run : runs) {
    progress("timed the " + run->label + " engine: " + fixed(run->medianMs, 3) + " ms per query (median of " +
             std::to_string(run->latencyMs.size()) + "), " + fixed(run->layerSumMs, 3) + " ms in layers");
  }
}

BatchPoint batchPoint(int64_t batch, const EngineRun& fp32, const EngineRun& reduced,
                      const std::vector<DataType>& requested) {
  BatchPoint p;
  p.batch = batch;
  p.fp32Ms = fp32.medianMs;
  p.reducedMs = reduced.medianMs;
  p.spread = std::max(fp32.spread, reduced.spread);
  const auto& layers = reduced.engine->layers();
  p.sameAsFp32 = std::none_of(layers.begin(), layers.end(), [&](const LayerInfo& l) {
    return std::find(requested.begin(), requested.end(), l.precision) != requested.end();
  });
  return p;
}

// The flags of the FP32 baseline: no precision, no constraint, no IO type; the same device, TF32, timing
// and memory options.
BuildFlags fp32Flags(const BuildFlags& asked) {
  BuildFlags b;
  b.timingCacheFile = asked.timingCacheFile;
  b.optimizationLevel = asked.optimizationLevel;
  b.memPoolSize = asked.memPoolSize;
  b.device = asked.device;
  b.noTF32 = asked.noTF32;
  b.exactActivations = asked.exactActivations;
  return b;
}

bool hasConstraints(const BuildFlags& b) {
  return !b.layerPrecisions.empty() || !b.layerOutputTypes.empty();
}

std::string constraintsText(const BuildFlags& b) {
  std::string s;
  auto add = [&](const std::string& option, const std::vector<std::string>& values) {
    for (const std::string& v : values) {
      if (!s.empty()) s += " ";
      s += option;
      s += "=";
      s += v;
    }
  };
  add("--layerPrecisions", b.layerPrecisions);
  add("--layerOutputTypes", b.layerOutputTypes);
  if (b.precisionConstraints != "none") s += " --precisionConstraints=" + b.precisionConstraints;
  return s;
}

Json deviceJson(const DeviceInfo& d) {
  const CpuFeatureFlags& f = d.features;
  Json libs = Json::array();
  for (const LibraryVersion& l : d.libraries)
    libs.push_back({{"name", l.name}, {"version", l.version}, {"detail", l.detail}});
  Json arithmetic = Json::object();
  for (DataType t : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt8,
                     DataType::kFloat8E4M3FN}) {
    const TypeArithmetic a = typeArithmetic(t, d);
    arithmetic[std::string(dataTypeName(t))] = {{"arithmetic", arithmeticName(a.arithmetic)}, {"via", a.via}};
  }
  return {{"kind", d.kind},
          {"name", d.name},
          {"logicalCores", d.logicalCores},
          {"features",
           {{"avx2", f.avx2},
            {"f16c", f.f16c},
            {"avx512", f.avx512},
            {"avx512_vnni", f.avx512Vnni},
            {"avx_vnni", f.avxVnni},
            {"avx512_bf16", f.avx512Bf16},
            {"avx512_fp16", f.avx512Fp16},
            {"amx_tile", f.amxTile},
            {"amx_bf16", f.amxBf16},
            {"amx_int8", f.amxInt8},
            {"amx_fp16", f.amxFp16}}},
          {"computeCapability", d.computeCapability},
          {"multiprocessors", d.multiprocessors},
          {"featureText", d.featureText},
          {"arithmetic", arithmetic},
          {"libraries", libs},
          {"fingerprint", d.fingerprint}};
}

Json engineJson(const EngineRun& run, int64_t batch) {
  Json layers = Json::array();
  for (const LayerInfo& l : run.engine->layers()) {
    const double ms = run.layerTime(l.name);
    layers.push_back(
        {{"name", l.name},
         {"op", l.opType},
         {"precision", l.precision == DataType::kUndefined ? "" : std::string(dataTypeName(l.precision))},
         {"tactic", l.tactic},
         {"reason", l.reason},
         {"ms", ms >= 0 ? Json(ms) : Json()}});
  }
  return {{"label", run.label},
          {"batch", batch},
          {"buildSeconds", run.buildSeconds},
          {"medianMs", run.medianMs},
          {"layerSumMs", run.layerSumMs},
          {"latencyMs", run.latencyMs},
          {"layers", layers}};
}

void printReport(const ExplainOptions& o, const ExplainInputs& in, const std::vector<Finding>& findings) {
  const DeviceInfo& d = *in.device;
  std::ostringstream s;
  s << "lowp explain: " << o.onnx << ", " << in.requestedLabel << " vs fp32, batch " << in.batch << "\n";
  s << "device: " << describeDevice(d);
  for (const LibraryVersion& l : d.libraries) s << "; " << l.name << " " << l.version;
  s << "\n";
  s << "measured rates: MatMul";
  for (const auto& [t, r] : in.rates) {
    s << " " << dataTypeName(t) << " " << (r.measured ? fixed(r.gflops, 1) + " GFLOP/s" : "n/a");
  }
  s << "; memory " << (in.bandwidthGBs > 0 ? fixed(in.bandwidthGBs, 1) + " GB/s" : "n/a") << "\n\n";
  int labelWidth = 8;
  for (const EngineRun* r : {&in.fp32, &in.reduced})
    labelWidth = std::max(labelWidth, static_cast<int>(r->label.size()) + 2);
  if (in.unforced) labelWidth = std::max(labelWidth, static_cast<int>(in.unforced->label.size()) + 2);
  s << std::left << std::setw(labelWidth) << "engine" << std::right << std::setw(10) << "build s"
    << std::setw(12) << "ms/query" << std::setw(12) << "layers ms" << std::setw(10) << "speedup"
    << "\n";
  auto row = [&](const EngineRun& r) {
    s << std::left << std::setw(labelWidth) << r.label << std::right << std::setw(10)
      << fixed(r.buildSeconds, 1) << std::setw(12) << fixed(r.medianMs, 3) << std::setw(12)
      << fixed(r.layerSumMs, 3) << std::setw(9) << fixed(in.fp32.medianMs / r.medianMs, 2) << "x\n";
  };
  row(in.fp32);
  row(in.reduced);
  if (in.unforced) row(*in.unforced);
  for (const BatchPoint& p : in.sweep) {
    if (p.batch == in.batch && p.sameAsFp32)
      s << "(the " << in.requestedLabel << " engine runs no layer in " << in.requestedLabel
        << ": it is the fp32 engine again, and its speedup is measurement noise)\n";
  }
  s << "\nfindings, ranked by the time they explain (ms per query of the " << in.requestedLabel
    << " engine):\n";
  s << std::right << std::setw(3) << "#"
    << "  " << std::left << std::setw(20) << "check" << std::right << std::setw(10) << "explains"
    << "  finding\n";
  int rank = 0;
  for (const Finding& f : findings) {
    s << std::right << std::setw(3) << ++rank << "  " << std::left << std::setw(20) << f.check << std::right
      << std::setw(10) << (f.explainsMs > 0 ? fixed(f.explainsMs, 3) : "-") << "  " << f.finding << "\n";
    s << std::string(35, ' ') << "action: " << f.action << "\n";
  }
  std::cout << s.str();
}

Json reportJson(const ExplainOptions& o, const ExplainInputs& in, const std::vector<Finding>& findings);

// The report's JSON (what `lowp report` renders) with every measurement behind it: the device and its rates,
// each engine's times and layers ("runs"), the batch sweep and the roofline.
void writeJson(const ExplainOptions& o, const ExplainInputs& in, const std::vector<Finding>& findings,
               const Shapes& shapes) {
  Json doc = reportJson(o, in, findings);
  doc["model"] = o.onnx;
  doc["precision"] = in.requestedLabel;
  doc["batch"] = in.batch;
  doc["shapes"] = shapes;
  doc["threads"] = o.threads;
  doc["device"] = deviceJson(*in.device);
  Json rates = Json::object();
  for (const auto& [t, r] : in.rates) {
    rates[std::string(dataTypeName(t))] = {
        {"measured", r.measured}, {"gflops", r.gflops}, {"ms", r.ms},
        {"size", r.size},         {"tactic", r.tactic}, {"error", r.error}};
  }
  doc["rates"] = {{"matmul", rates}, {"bandwidthGBs", in.bandwidthGBs}};
  Json engines = Json::array({engineJson(in.fp32, in.batch), engineJson(in.reduced, in.batch)});
  if (in.unforced) engines.push_back(engineJson(*in.unforced, in.batch));
  doc["runs"] = engines;
  doc["speedup"] = in.fp32.medianMs / in.reduced.medianMs;
  Json sweep = Json::array();
  for (const BatchPoint& p : in.sweep) {
    sweep.push_back({{"batch", p.batch},
                     {"fp32Ms", p.fp32Ms},
                     {"reducedMs", p.reducedMs},
                     {"speedup", p.error.empty() ? Json(p.fp32Ms / p.reducedMs) : Json()},
                     {"error", p.error}});
  }
  doc["batchSweep"] = sweep;
  Json roof = Json::array();
  for (const RooflineLayer& r : roofline(in.reduced, in.rates, in.bandwidthGBs)) {
    roof.push_back(
        {{"name", r.name},
         {"op", r.op},
         {"precision", r.precision == DataType::kUndefined ? "" : std::string(dataTypeName(r.precision))},
         {"ms", r.ms},
         {"flops", r.flops},
         {"bytes", r.bytes},
         {"computeMs", r.computeMs},
         {"memoryMs", r.memoryMs},
         {"bound", r.memoryBound ? "memory" : "compute"}});
  }
  doc["roofline"] = roof;
  std::ofstream out(o.exportJson, std::ios::trunc);
  if (out) out << doc.dump(2) << "\n";
  if (!out) throw ExplainError{"--exportJson: cannot write " + o.exportJson};
}

// The HTML report's content: facts, the engines and batch sweep as tables, both engines' profiles, and
// the findings.
Json reportJson(const ExplainOptions& o, const ExplainInputs& in, const std::vector<Finding>& findings) {
  const DeviceInfo& d = *in.device;
  ReportJson report;
  report["title"] =
      "lowp explain: " + std::filesystem::path(o.onnx).filename().string() + ", " + in.requestedLabel;
  std::string libraries;
  for (const LibraryVersion& l : d.libraries)
    libraries += (libraries.empty() ? "" : ", ") + l.name + " " + l.version;
  std::string rates;
  for (const auto& [t, r] : in.rates)
    rates += (rates.empty() ? "" : ", ") + std::string(dataTypeName(t)) + " " +
             (r.measured ? fixed(r.gflops, 1) : "n/a");
  report["facts"] = Json::array(
      {Json::array({"model", o.onnx}), Json::array({"precision", in.requestedLabel + " vs fp32"}),
       Json::array({"batch", std::to_string(in.batch)}), Json::array({"device", describeDevice(d)}),
       Json::array({"libraries", libraries}), Json::array({"MatMul GFLOP/s", rates}),
       Json::array({"memory GB/s", in.bandwidthGBs > 0 ? fixed(in.bandwidthGBs, 1) : "n/a"}),
       Json::array({"speedup", fixed(in.fp32.medianMs / in.reduced.medianMs, 2) + "x"})});
  Json engineRows = Json::array();
  auto engineRow = [&](const EngineRun& r) {
    engineRows.push_back(
        Json::array({r.label, fixed(r.medianMs, 3), fixed(r.layerSumMs, 3),
                     fixed(in.fp32.medianMs / r.medianMs, 2) + "x", fixed(r.buildSeconds, 1)}));
  };
  engineRow(in.fp32);
  engineRow(in.reduced);
  if (in.unforced) engineRow(*in.unforced);
  Json sweepRows = Json::array();
  for (const BatchPoint& p : in.sweep) {
    sweepRows.push_back(p.error.empty() ? Json::array({p.batch, fixed(p.fp32Ms, 3), fixed(p.reducedMs, 3),
                                                       fixed(p.fp32Ms / p.reducedMs, 2) + "x"})
                                        : Json::array({p.batch, "-", "-", p.error}));
  }
  report["tables"] = Json::array({{{"title", "engines"},
                                   {"columns", {"engine", "ms/query", "layers ms", "speedup", "build s"}},
                                   {"rows", engineRows}},
                                  {{"title", "batch sweep"},
                                   {"columns", {"batch", "fp32 ms", in.requestedLabel + " ms", "speedup"}},
                                   {"rows", sweepRows}}});
  Json engines = Json::array(
      {engineSection(in.fp32.label, *in.fp32.engine, in.fp32.layerMs, in.fp32.latencyMs),
       engineSection(in.reduced.label, *in.reduced.engine, in.reduced.layerMs, in.reduced.latencyMs)});
  if (in.unforced)
    engines.push_back(engineSection(in.unforced->label, *in.unforced->engine, in.unforced->layerMs,
                                    in.unforced->latencyMs));
  report["engines"] = engines;
  Json list = Json::array();
  int rank = 0;
  for (const Finding& f : findings) {
    list.push_back({{"rank", ++rank},
                    {"check", f.check},
                    {"title", f.title},
                    {"finding", f.finding},
                    {"action", f.action},
                    {"explainsMs", f.explainsMs},
                    {"measured", f.measured}});
  }
  report["findings"] = list;
  return report;
}

void writeReport(const ExplainOptions& o, const ExplainInputs& in, const std::vector<Finding>& findings) {
  if (Status s = writeHtmlReport(reportJson(o, in, findings), o.report); !s) throw ExplainError{s.message()};
}

// A scratch folder for the timing cache (and calibration cache) the several builds share; removed on exit.
class ScratchFolder {
 public:
  ScratchFolder() {
    path_ = std::filesystem::temp_directory_path() / ("lowp-explain-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Fails before the measurements, not after them, when an output file cannot be written.
void checkWritable(const std::string& option, const std::string& path) {
  if (path.empty()) return;
  std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (folder.empty()) folder = ".";
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error) || ::access(folder.c_str(), W_OK) != 0)
    throw ExplainError{option + ": cannot write " + path + " (no writable folder " + folder.string() + ")"};
}

void runExplain(const ExplainOptions& o) {
  const std::vector<DataType> requested = requestedPrecisions(o.build);
  if (requested.empty())
    throw ExplainError{
        "give the precision to explain: --fp16, --bf16, --int8, --fp8 or --best (explain compares it with "
        "fp32)"};
  if (o.build.stronglyTyped)
    throw ExplainError{
        "--stronglyTyped: a strongly typed network runs in its own types; there is no precision choice to "
        "explain"};
  if (o.iterations < 1)
    throw ExplainError{"--iterations: " + std::to_string(o.iterations) + " is not at least 1"};
  if (!(o.durationS >= 0)) throw ExplainError{"--duration: " + fixed(o.durationS, 2) + " s is negative"};
  if (o.warmUpMs < 0) throw ExplainError{"--warmUp: " + std::to_string(o.warmUpMs) + " ms is negative"};
  std::vector<int64_t> batches;
  if (!o.batches.empty()) batches = parseBatches(o.batches);
  checkWritable("--exportJson", o.exportJson);
  checkWritable("--report", o.report);

  Shapes shapes;
  {
    // The shapes and the options, checked against the model before anything is built.
    auto network = NetworkDefinition::fromOnnxFile(o.onnx);
    if (!network) throw ExplainError{network.status().toString()};
    shapes = resolveShapes(**network, o.shapes);
    BuilderConfig config;
    std::unique_ptr<CalibrationSource> source;
    if (std::string e = o.build.apply(**network, shapes, config, source); !e.empty()) throw ExplainError{e};
  }
  const int64_t batch = batchOf(shapes);
  // Without --batches: batch 1 and the given batch, or 1 and 8 when the given batch is 1.
  if (batches.empty() && batch > 0) batches = {1, batch == 1 ? 8 : batch};
  std::sort(batches.begin(), batches.end());
  batches.erase(std::unique(batches.begin(), batches.end()), batches.end());

  ScratchFolder scratch;
  BuildFlags asked = o.build;
  if (asked.timingCacheFile.empty()) asked.timingCacheFile = scratch.file("timing.cache");
  // Calibrate once: the first build writes the cache, the later ones read it.
  if (!asked.calibration.dataFolder.empty() && asked.calibration.cacheFile.empty())
    asked.calibration.cacheFile = scratch.file("calibration.cache");
  const BuildFlags baseline = fp32Flags(asked);
  TimingPlan plan;
  plan.warmUpMs = o.warmUpMs;
  plan.iterations = o.iterations;
  plan.durationS = o.durationS;

  ExplainLogger logger(o.verbose);
  ExplainInputs in;
  ProbeTarget target;
  target.threads = o.threads;
  target.allowTf32 = !o.build.noTF32;
  if (std::string e = parseDevice(o.build.device, target.device, target.cudaOrdinal); !e.empty())
    throw ExplainError{e};
  in.device = &deviceInfo(target.device, target.cudaOrdinal);
  in.requested = requested;
  in.requestedLabel = joinTypes(requested);
  in.batch = batch;
  in.reduced = buildVariant(logger, o, asked, shapes, in.requestedLabel);
  BuildFlags again = asked;
  if (!again.calibration.cacheFile.empty() && std::filesystem::exists(again.calibration.cacheFile))
    again.calibration.dataFolder.clear();
  in.fp32 = buildVariant(logger, o, baseline, shapes, "fp32");
  if (hasConstraints(asked)) {
    BuildFlags unforced = again;
    unforced.layerPrecisions.clear();
    unforced.layerOutputTypes.clear();
    unforced.precisionConstraints = "none";
    in.constraintsText = constraintsText(asked);
    in.unforced = buildVariant(logger, o, unforced, shapes, in.requestedLabel + " unforced");
  }
  std::vector<EngineRun*> engines{&in.fp32, &in.reduced};
  if (in.unforced) engines.push_back(&*in.unforced);
  timeVariants(engines, plan);

  // The device's rates: fp32, the requested precisions, and the native ones the actions may suggest.
  std::set<DataType> probed{DataType::kFloat32};
  probed.insert(requested.begin(), requested.end());
  for (DataType t : {DataType::kBFloat16, DataType::kInt8}) {
    if (typeArithmetic(t, *in.device).arithmetic == Arithmetic::kNative) probed.insert(t);
  }
  logger.setQuiet(true);
  for (DataType t : probed) in.rates[t] = probeMatMul(logger, t, target);
  in.bandwidthGBs = probeBandwidth(logger, target);
  logger.setQuiet(false);
  {
    std::string line = "measured the device: MatMul";
    for (const auto& [t, r] : in.rates)
      line +=
          " " + std::string(dataTypeName(t)) + " " + (r.measured ? fixed(r.gflops, 1) + " GFLOP/s" : "n/a");
    progress(line + ", memory " + (in.bandwidthGBs > 0 ? fixed(in.bandwidthGBs, 1) + " GB/s" : "n/a"));
  }

  for (int64_t b : batches) {
    BatchPoint point;
    point.batch = b;
    if (b == batch) {
      point = batchPoint(b, in.fp32, in.reduced, requested);
    } else {
      const Shapes at = withBatch(shapes, b);
      const std::string suffix = " at batch " + std::to_string(b);
      try {
        EngineRun reduced = buildVariant(logger, o, again, at, in.requestedLabel + suffix);
        EngineRun fp32 = buildVariant(logger, o, baseline, at, "fp32" + suffix);
        timeVariants({&fp32, &reduced}, plan);
        point = batchPoint(b, fp32, reduced, requested);
      } catch (const ExplainError& e) {
        point.fp32Ms = point.reducedMs = 0;
        point.error = e.message;
      }
    }
    in.sweep.push_back(point);
  }

  const std::vector<Finding> findings = runChecks(in);
  printReport(o, in, findings);
  if (!o.exportJson.empty()) writeJson(o, in, findings, shapes);
  if (!o.report.empty()) writeReport(o, in, findings);
}

int explainMain(const ExplainOptions& o) {
  try {
    runExplain(o);
  } catch (const ExplainError& e) {
    std::cerr << "lowp explain: error: " << e.message << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

CommandRunner addExplainCommand(CLI::App& app) {
  auto opt = std::make_shared<ExplainOptions>();
  CLI::App* cmd = app.add_subcommand(
      "explain",
      "Measure why a reduced precision gives the speedup it gives: one finding per reason, ranked");
  cmd->add_option("--onnx", opt->onnx, "ONNX model file")->required()->check(CLI::ExistingFile);
  opt->build.addTo(*cmd);
  cmd->add_option("--shapes", opt->shapes, "name:8x3x224x224[,name:...]: the shapes to build and run");
  cmd->add_option("--batches", opt->batches,
                  "B1[,B2...]: batch sizes of the speedup sweep (default: 1 and the given batch)");
  cmd->add_option("--exportJson", opt->exportJson, "write the measurements and findings as JSON");
  cmd->add_option("--report", opt->report, "write an HTML report (engines, findings)");
  cmd->add_option("--threads", opt->threads, "worker threads (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--iterations", opt->iterations,
                  "time at least N queries per engine, then profile as many (default 10)");
  cmd->add_option("--duration", opt->durationS,
                  "and time each engine for at least S seconds in each of the two passes (default 0.5)");
  cmd->add_option("--warmUp", opt->warmUpMs, "warm up each engine for N ms (default 200)");
  cmd->add_flag("--verbose", opt->verbose, "print every builder message");
  return [opt] { return explainMain(*opt); };
}

}  // namespace lowp::tools
