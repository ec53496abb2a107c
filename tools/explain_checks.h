// The checks of `lowp explain`: from the engines and device rates explain_measure.h measures, one finding
// per reason of docs/explain.md (precision-semantics section 5), each with its numbers, the time it
// explains (milliseconds per query of the reduced-precision engine) and an action. Findings are ranked by
// that time.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "lowp/device.h"
#include "lowp/engine.h"
#include "measure.h"

namespace lowp::tools {

/// The speedup at one batch size: both engines built and timed at that batch.
struct BatchPoint {
  int64_t batch = 0;
  double fp32Ms = 0;     ///< Median wall time per query.
  double reducedMs = 0;  ///< Median wall time per query.
  /// The larger relative spread of the two engines' query times (interquartile range over median): a
  /// speedup that differs from another by less than this is noise.
  double spread = 0;
  /// The reduced engine runs no layer in a requested precision: its speedup is 1 by construction.
  bool sameAsFp32 = false;
  std::string error;  ///< Why the point could not be measured (then the times are 0).
};

/// Everything the checks read.
struct ExplainInputs {
  std::vector<DataType> requested;  ///< The reduced precisions the flags allow, e.g. {kFloat16}.
  std::string requestedLabel;       ///< "fp16", "fp16+int8", ...
  EngineRun fp32;                   ///< The FP32 engine at the given shapes.
  EngineRun reduced;                ///< The engine built as asked, at the same shapes.
  /// The same flags without the per-layer constraints; built only when constraints were given.
  std::optional<EngineRun> unforced;
  std::string constraintsText;            ///< The constraint options as given, for the finding; "" when none.
  int64_t batch = 0;                      ///< The batch (first dimension of the inputs) of fp32 and reduced.
  std::vector<BatchPoint> sweep;          ///< Sorted by batch; includes `batch`.
  std::map<DataType, ComputeRate> rates;  ///< fp32 and every probed precision.
  double bandwidthGBs = -1;               ///< Negative when not measured.
  const DeviceInfo* device = nullptr;
};

/// One finding: the check that made it, what was measured, the time it explains and what to do.
struct Finding {
  std::string check;    ///< Stable id: "native-arithmetic", "batch-size", ...
  std::string title;    ///< The reason, in words.
  std::string finding;  ///< The measured numbers, in a sentence or two.
  std::string action;   ///< What to do about it.
  /// Milliseconds per query of the reduced engine this reason accounts for (0 when it accounts for none);
  /// findings may overlap, so these do not add up to the gap.
  double explainsMs = 0;
  nlohmann::ordered_json measured = nlohmann::ordered_json::object();  ///< The numbers behind it.
};

/// One layer against the device's roofline.
struct RooflineLayer {
  std::string name;
  std::string op;
  DataType precision = DataType::kUndefined;
  double ms = 0;         ///< Profiled average.
  double flops = 0;      ///< Estimated from the shapes (docs/explain.md says how).
  double bytes = 0;      ///< Inputs (weights included) and outputs, at their types.
  double computeMs = 0;  ///< flops at the measured MatMul rate of its precision.
  double memoryMs = 0;   ///< bytes at the measured bandwidth.
  bool memoryBound = false;
  double boundMs() const { return computeMs > memoryMs ? computeMs : memoryMs; }
};

/// The roofline of every layer of `run` that ran (conversions included).
std::vector<RooflineLayer> roofline(const EngineRun& run, const std::map<DataType, ComputeRate>& rates,
                                    double bandwidthGBs);

/// Runs every check; the findings come ranked by the time they explain (largest first).
std::vector<Finding> runChecks(const ExplainInputs& in);

}  // namespace lowp::tools
