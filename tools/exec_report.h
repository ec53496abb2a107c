// What `lowp exec` reports, in trtexec's layout: the performance summary of a timed run, the per-layer
// profile, and the JSON exports (--exportTimes, --exportProfile, --exportLayerInfo, --exportOutput).
// docs/trtexec-format.md maps every line and key to trtexec's.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lowp/engine.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::tools {

/// Writes trtexec's log lines: "[MM/DD/YYYY-HH:MM:SS] [S] text" for every line of `text`, where S is
/// E, W, I or V. Errors go to standard error, the rest to standard output.
void logLines(char severity, std::string_view text);

/// One query of a timed run, in milliseconds since the run started (trtexec's trace). The enqueue is the
/// execute() call itself: it returns when the work is done. On the GPU the H2D, compute and D2H phases are
/// execute()'s GPU times (ExecutionContext::lastDeviceTimes), laid end to end from the call's start.
struct QueryTrace {
  double enqStart = 0;
  double enqEnd = 0;
  double h2dStart = 0;
  double h2dEnd = 0;
  double computeStart = 0;
  double computeEnd = 0;
  double d2hStart = 0;
  double d2hEnd = 0;

  double enqueueMs() const { return enqEnd - enqStart; }
  double h2dMs() const { return h2dEnd - h2dStart; }
  double computeMs() const { return computeEnd - computeStart; }
  double d2hMs() const { return d2hEnd - d2hStart; }
  /// H2D + compute + D2H, as trtexec defines Latency.
  double latencyMs() const { return h2dMs() + computeMs() + d2hMs(); }
};

/// min / max / mean / median / percentiles / coefficient of variation (%) of one metric over the queries.
struct MetricStats {
  double min = 0;
  double max = 0;
  double mean = 0;
  double median = 0;
  std::vector<double> percentiles;  ///< one per requested percentile, in the order asked
  double coeffVar = 0;              ///< population standard deviation / mean x 100
};

/// Statistics of `values` as trtexec computes them: the median of an even count is the mean of the middle
/// two; percentile p is the sorted value at index max(n - 1 - floor((1 - p / 100) n), 0).
MetricStats computeStats(std::vector<double> values, const std::vector<float>& percentiles);

struct ReportSettings {
  int avgRuns = 10;
  std::vector<float> percentiles{90, 95, 99};
  bool verbose = false;
  bool dataTransfers = true;
  bool onGpu = false;
};

/// Logs the prolog (warm-up and trace counts), the trace averages, the performance summary, the
/// warnings, and (verbose) the explanations of the metrics, exactly in trtexec's order and wording of the
/// metric lines. `timed` holds the queries after warm-up; `timed` must not be empty.
void printPerformanceReport(int warmupQueries, double warmUpMs, const std::vector<QueryTrace>& timed,
                            const ReportSettings& settings);

/// Writes trtexec's --exportTimes JSON: one object per timed query.
Status exportTimesJson(const std::vector<QueryTrace>& timed, const std::string& path);

/// Collects per-layer times from an ExecutionContext (TensorRT's IProfiler as trtexec uses it).
class LayerProfiler final : public Profiler {
 public:
  void reportLayerTime(std::string_view layerName, float ms) override;
  /// Closes one execute(): the caller calls this after every profiled query.
  void endIteration();

  int iterations() const { return iterations_; }
  /// trtexec's "=== Profile (N iterations ) ===" table.
  void print(std::ostream& os) const;
  /// trtexec's --exportProfile JSON: [{"count": N}, {"name", "timeMs", "averageMs", "medianMs",
  /// "percentage"}, ...].
  Status exportJson(const std::string& path) const;
  /// Each layer's average time per profiled query in ms (its total over iterations()), in the order the
  /// layers first ran.
  std::vector<std::pair<std::string, double>> averageMs() const;

 private:
  struct LayerTimes {
    std::string name;
    std::vector<float> ms;
  };
  double totalMs() const;
  std::vector<LayerTimes> layers_;  // in the order they first ran
  std::map<std::string, size_t, std::less<>> index_;
  std::vector<double> iterationTotals_;
  double currentIteration_ = 0;
  int iterations_ = 0;
};

/// trtexec's --exportLayerInfo JSON: {"Layers": [...], "Bindings": [...]}, one object per engine layer with
/// TensorRT's keys (Name, LayerType, Inputs, Outputs, ParameterType, TacticName, TacticValue, StreamId,
/// Metadata) plus lowp's (Precision, RequestedPrecision, Reason, BuildTimeMs). `bindings` gives the network
/// inputs and outputs of a run, whose shapes fill their Dimensions.
Status exportLayerInfoJson(const Engine& engine, const std::vector<NamedTensor>& bindings,
                           const std::string& path);

/// trtexec's --exportOutput JSON: [{"name", "dimensions": "2x4", "values": [...]}, ...].
Status exportOutputJson(const std::vector<NamedTensor>& outputs, const std::string& path);
/// trtexec's --dumpOutput: "Output Tensors:", then per output "name: (2x4)" and its values.
void dumpOutputs(const std::vector<NamedTensor>& outputs, std::ostream& os);

/// "2x4" (trtexec's dimensions); a scalar is "".
std::string dimsText(const std::vector<int64_t>& shape);

}  // namespace lowp::tools
