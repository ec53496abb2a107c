// Calibration: runs a float graph over the calibration batches and gives every float activation tensor its
// amax by the chosen algorithm (docs/precision-semantics.md section 3). Two passes over the same batches
// (amax, then fixed-range histograms), so the result depends only on the data, not on its order or batching.
#pragma once

#include <map>
#include <string>

#include "ir/graph.h"
#include "lowp/calibration.h"
#include "lowp/status.h"

namespace lowp::quant {

/// Per tensor name, the amax of each fp32 activation (network inputs included) that held a non-zero value.
/// Tensors that were zero throughout have no entry (no INT8 scale exists for them). Errors name the batch
/// or tensor: a batch that does not run, NaN or infinity in a tensor, data that changed between passes.
Result<std::map<std::string, float>> calibrateGraph(const ir::Graph& graph, CalibrationSource& source,
                                                    const CalibrationOptions& options, int threads);

}  // namespace lowp::quant
