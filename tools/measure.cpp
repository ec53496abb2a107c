#include "measure.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>

#include "exec_report.h"
#include "tensor_summary.h"

namespace lowp::tools {
namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  return values.empty() ? 0 : computeStats(std::move(values), {}).median;
}

// One execute() of `context` on `inputs`, in milliseconds: its wall time on the CPU, the layers' GPU time
// on a GPU (what the engine costs there; the host-device copies of execute() are the caller's to arrange).
Result<double> timeQuery(ExecutionContext& context, const std::vector<NamedTensor>& inputs,
                         std::vector<NamedTensor>& outputs) {
  const auto start = Clock::now();
  Status s = context.execute(inputs, outputs);
  const double ms = msSince(start);
  if (!s) return s;
  const float device = context.lastDeviceTimes().computeMs;
  return device >= 0 ? device : ms;
}

// The layer named `name` (or that absorbed it) in `engine`, or nullptr.
const LayerInfo* findLayer(const Engine& engine, const std::string& name) {
  for (const LayerInfo& l : engine.layers()) {
    if (l.name == name ||
        std::find(l.absorbedNames.begin(), l.absorbedNames.end(), name) != l.absorbedNames.end())
      return &l;
  }
  return nullptr;
}

// Builds `network` for a probe: no timing of tactics (the constraint picks the kernel), obeyed constraints.
Result<std::shared_ptr<Engine>> buildProbe(Logger& logger, const NetworkDefinition& network, DataType type,
                                           const ProbeTarget& target) {
  BuilderConfig config;
  config.setThreads(target.threads);
  config.setDevice(target.device, target.cudaOrdinal);
  if (!target.allowTf32) config.clearFlag(BuilderFlag::kTF32);
  LOWP_RETURN_IF_ERROR(config.setOptimizationLevel(1));
  config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  if (type == DataType::kFloat16) config.setFlag(BuilderFlag::kFP16);
  if (type == DataType::kBFloat16) config.setFlag(BuilderFlag::kBF16);
  if (type == DataType::kInt8) config.setFlag(BuilderFlag::kINT8);
  if (type == DataType::kFloat8E4M3FN) config.setFlag(BuilderFlag::kFP8);
  return Builder(logger).build(network, config);
}

// Runs `engine` on `inputs` and returns the median time of layer `layerName`: queries until `minRuns`
// have run, or at least two once `budgetMs` is spent (a slow precision stops early).
Result<double> medianLayerTime(const Engine& engine, const std::vector<NamedTensor>& inputs,
                               const std::string& layerName, int minRuns, double budgetMs) {
  auto context = engine.createExecutionContext();
  std::vector<NamedTensor> outputs;
  LOWP_RETURN_IF_ERROR(context->execute(inputs, outputs));  // warm-up: plans memory, packs weights
  std::vector<double> times;
  const auto start = Clock::now();
  while (static_cast<int>(times.size()) < minRuns) {
    // A profiler per query: each gives one sample of the layer.
    LayerProfiler one;
    context->setProfiler(&one);
    LOWP_RETURN_IF_ERROR(context->execute(inputs, outputs));
    one.endIteration();
    for (const auto& [name, ms] : one.averageMs()) {
      if (name == layerName) times.push_back(ms);
    }
    if (times.empty())
      return Status(StatusCode::kInternal, "the probe's layer '" + layerName + "' did not run");
    if (times.size() >= 2 && msSince(start) > budgetMs) break;
  }
  context->setProfiler(nullptr);
  return median(times);
}

// Makes `probed` (the probed layer's output) the network's output. On the CPU through a ReduceMax, which
// keeps the probed output inside the engine's arena: a network output is allocated per query, and first
// touching its pages would be timed with the layer. On the GPU the layer's time comes from CUDA events
// around it, and the output's copy to the host is not in it.
Status keepInArena(NetworkDefinition& network, const std::string& probed, const ProbeTarget& target) {
  if (target.device == Device::kCuda) return network.markOutput(probed);
  auto reduce =
      network.addLayer("ReduceMax", "probe_reduce", {probed}, {"probe_max"}, {{"keepdims", int64_t{0}}});
  if (!reduce) return reduce.status();
  return network.markOutput("probe_max");
}

}  // namespace

double EngineRun::layerTime(const std::string& name) const {
  for (const auto& [layer, ms] : layerMs) {
    if (layer == name) return ms;
  }
  return -1;
}

Status timeEngines(const std::vector<EngineRun*>& runs, const TimingPlan& plan) {
  struct Timed {
    EngineRun* run = nullptr;
    std::unique_ptr<ExecutionContext> context;
    std::vector<NamedTensor> inputs;
    std::vector<NamedTensor> outputs;
    std::vector<std::string> layerOrder;                      // as the layers first ran
    std::map<std::string, std::vector<double>> layerSamples;  // one per profiled query
    std::vector<double> profiledMs;
  };
  std::vector<Timed> timed(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    Timed& t = timed[i];
    t.run = runs[i];
    t.context = t.run->engine->createExecutionContext();
    std::mt19937_64 rng(0);
    for (const TensorDesc& desc : t.run->engine->inputs()) {
      auto given = t.run->shapes.find(desc.name);
      std::vector<int64_t> sizes = given != t.run->shapes.end() ? given->second : desc.shape;
      for (int64_t& d : sizes) d = std::max<int64_t>(d, 1);
      t.inputs.push_back({desc.name, randomTensor(desc.type, sizes, rng)});
    }
    t.run->latencyMs.clear();
  }
  for (Timed& t : timed) {
    const auto start = Clock::now();
    do {
      LOWP_RETURN_IF_ERROR(timeQuery(*t.context, t.inputs, t.outputs).status());
    } while (msSince(start) < plan.warmUpMs);
  }
  // Each pass runs one query of each engine in turn until every engine has its count and its duration.
  const double passMs = plan.durationS * 1000 * static_cast<double>(runs.size());
  auto interleaved = [&](const std::function<Status(Timed&)>& query) -> Status {
    const auto start = Clock::now();
    for (int i = 0; i < plan.iterations || msSince(start) < passMs; ++i) {
      for (Timed& t : timed) LOWP_RETURN_IF_ERROR(query(t));
    }
    return {};
  };
  LOWP_RETURN_IF_ERROR(interleaved([](Timed& t) -> Status {
    LOWP_ASSIGN_OR_RETURN(double ms, timeQuery(*t.context, t.inputs, t.outputs));
    t.run->latencyMs.push_back(ms);
    return {};
  }));
  // Per-layer times in a pass of their own (reading the clock around every layer costs time), a profiler
  // per query so that each layer gets its median over the queries: on a busy machine a mean follows the
  // few queries that were descheduled.
  LOWP_RETURN_IF_ERROR(interleaved([](Timed& t) -> Status {
    LayerProfiler profiler;
    t.context->setProfiler(&profiler);
    auto ms = timeQuery(*t.context, t.inputs, t.outputs);
    t.context->setProfiler(nullptr);
    if (!ms) return ms.status();
    profiler.endIteration();
    t.profiledMs.push_back(*ms);
    for (const auto& [name, layerMs] : profiler.averageMs()) {
      auto& samples = t.layerSamples[name];
      if (samples.empty()) t.layerOrder.push_back(name);
      samples.push_back(layerMs);
    }
    return {};
  }));
  for (Timed& t : timed) {
    EngineRun& run = *t.run;
    const MetricStats stats = computeStats(run.latencyMs, {25, 75});
    run.medianMs = stats.median;
    run.spread = stats.median > 0 ? (stats.percentiles[1] - stats.percentiles[0]) / stats.median : 0;
    run.layerMs.clear();
    run.layerSumMs = 0;
    for (const std::string& name : t.layerOrder) {
      run.layerMs.emplace_back(name, median(t.layerSamples[name]));
      run.layerSumMs += run.layerMs.back().second;
    }
    run.profiledMs = median(t.profiledMs);
  }
  return {};
}

ComputeRate probeMatMul(Logger& logger, DataType type, const ProbeTarget& target) {
  ComputeRate rate;
  rate.type = type;
  // Large enough that the multiply, not its fixed cost, sets the time: 2 x 512^3 = 268 MFLOP on a CPU,
  // 2 x 4096^3 = 137 GFLOP on a GPU.
  const int64_t n = target.device == Device::kCuda ? 4096 : 512;
  rate.size = n;
  std::mt19937_64 rng(1);
  NetworkDefinition network;
  const std::string layerName = "probe_matmul";
  auto fail = [&](const Status& s) {
    rate.error = s.message();
    return rate;
  };
  if (Status s = network.addInput("a", DataType::kFloat32, {n, n}); !s) return fail(s);
  if (Status s = network.addConstant("b", randomTensor(DataType::kFloat32, {n, n}, rng)); !s) return fail(s);
  auto matmul = network.addLayer("MatMul", layerName, {"a", "b"}, {"y"});
  if (!matmul) return fail(matmul.status());
  if (Status s = keepInArena(network, "y", target); !s) return fail(s);
  if (type != DataType::kFloat32) (*matmul)->setPrecision(type);
  if (type == DataType::kInt8 || type == DataType::kFloat8E4M3FN) {
    if (Status s = network.setDynamicRange("a", -1, 1); !s) return fail(s);
  }
  auto engine = buildProbe(logger, network, type, target);
  if (!engine) return fail(engine.status());
  const LayerInfo* layer = findLayer(**engine, layerName);
  if (layer == nullptr) return fail(Status(StatusCode::kInternal, "the probe lost its MatMul layer"));
  rate.tactic = layer->tactic;
  std::vector<NamedTensor> inputs{{"a", randomTensor(DataType::kFloat32, {n, n}, rng)}};
  auto ms = medianLayerTime(**engine, inputs, layer->name, 7, 1000);
  if (!ms) return fail(ms.status());
  rate.ms = *ms;
  rate.gflops = 2.0 * static_cast<double>(n * n * n) / (rate.ms * 1e6);
  rate.measured = rate.ms > 0;
  if (!rate.measured) rate.error = "the MatMul took no measurable time";
  return rate;
}

double probeBandwidth(Logger& logger, const ProbeTarget& target) {
  // 16 Mi fp32 values: 64 MiB read and 64 MiB written, beyond the last-level caches of today's CPUs; on a
  // GPU 256 Mi (1 GiB each way).
  const int64_t count = target.device == Device::kCuda ? int64_t{256} << 20 : int64_t{16} << 20;
  NetworkDefinition network;
  if (!network.addInput("x", DataType::kFloat32, {count})) return -1;
  auto relu = network.addLayer("Relu", "probe_relu", {"x"}, {"y"});
  if (!relu || !keepInArena(network, "y", target)) return -1;
  auto engine = buildProbe(logger, network, DataType::kFloat32, target);
  if (!engine) return -1;
  const LayerInfo* layer = findLayer(**engine, "probe_relu");
  if (layer == nullptr) return -1;
  std::mt19937_64 rng(2);
  std::vector<NamedTensor> inputs{{"x", randomTensor(DataType::kFloat32, {count}, rng)}};
  auto ms = medianLayerTime(**engine, inputs, layer->name, 5, 500);
  if (!ms || *ms <= 0) return -1;
  const double bytes = 2.0 * static_cast<double>(count) * 4;
  return bytes / (*ms * 1e6);
}

}  // namespace lowp::tools
