// What `lowp explain` and `lowp precisions` measure: engines built and timed at given shapes (wall time
// per query without the profiler, then per-layer times in a separate profiled pass), and the device's own
// rates (a matrix multiply per precision in GFLOP/s, memory bandwidth in GB/s) from small networks made by
// hand.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lowp/builder.h"
#include "lowp/engine.h"
#include "lowp/status.h"

namespace lowp::tools {

/// How many queries to time and for how long to warm up.
struct TimingPlan {
  int warmUpMs = 200;  ///< Unprofiled queries for at least this long (and at least one) per engine.
  /// At least this many queries timed per engine without the profiler, then as many profiled...
  int iterations = 10;
  double durationS = 0.5;  ///< ...and each pass at least this long per engine.
};

/// One engine, built and timed.
struct EngineRun {
  std::string label;  ///< "fp32", "fp16", "fp16 unforced", ...
  std::shared_ptr<Engine> engine;
  std::map<std::string, std::vector<int64_t>> shapes;  ///< The input shapes it was built for and run at.
  double buildSeconds = 0;
  /// Every timed query without the profiler: execute()'s wall time on the CPU, the layers' GPU time
  /// (ExecutionContext::lastDeviceTimes().computeMs, no host-device copies) on a GPU.
  std::vector<double> latencyMs;
  double medianMs = 0;  ///< Median of latencyMs.
  double spread = 0;    ///< (75th - 25th percentile) / median of latencyMs.
  /// Median time of each layer that ran, in execution order, over the queries of the profiled pass.
  std::vector<std::pair<std::string, double>> layerMs;
  double layerSumMs = 0;  ///< Sum of layerMs: the time spent inside layers.
  double profiledMs = 0;  ///< Median execute() wall time of the profiled queries (layers plus the rest).

  /// The profiled median of layer `name`; negative when it did not run (folded while planning).
  double layerTime(const std::string& name) const;
};

/// Times `runs` on seeded random inputs at their shapes, their queries interleaved (one of each in turn)
/// so that a busy machine slows them alike: warm-up, the unprofiled pass (latencyMs, medianMs), then the
/// profiled pass (layerMs, layerSumMs, profiledMs). Errors come from execute().
Status timeEngines(const std::vector<EngineRun*>& runs, const TimingPlan& plan);

/// The rate of one precision's matrix multiply on this device.
struct ComputeRate {
  DataType type = DataType::kUndefined;
  bool measured = false;  ///< False when no kernel computes a MatMul in `type` here (see `error`).
  double gflops = 0;      ///< 2 M N K / time, over the MatMul layer alone (no input conversion).
  double ms = 0;          ///< The median time of the MatMul layer.
  int64_t size = 0;       ///< M = N = K.
  std::string tactic;     ///< The kernel that ran it, e.g. "f32-matmul-onednn".
  std::string error;      ///< Why it was not measured.
};

/// Where probes build and run: the CPU with `threads` threads, or a GPU (TF32 allowed or not for fp32).
struct ProbeTarget {
  Device device = Device::kCpu;
  int cudaOrdinal = 0;
  int threads = 0;
  bool allowTf32 = true;
};

/// Measures a square MatMul (activation times constant weights) forced to `type` with obeyed precision
/// constraints; fp32 is the baseline. INT8 and FP8 take their activation scale from a given dynamic range.
/// Slow (storage-only) precisions are timed over fewer runs so the probe stays short. On a GPU the product is
/// larger (4096^3) so that it fills the device.
ComputeRate probeMatMul(Logger& logger, DataType type, const ProbeTarget& target);

/// Memory bandwidth in GB/s: bytes read and written by one elementwise layer over a tensor far larger than
/// the caches, divided by its median time. Negative when the probe could not run.
double probeBandwidth(Logger& logger, const ProbeTarget& target);

}  // namespace lowp::tools
