// The activation memory plan an engine file records for its build shapes.
//
// Every node is one step, in execution order. Each node output whose size the input shapes fix (by ir
// inference, with the constants' values visible) is one buffer, alive from its producer to its last reader;
// graph outputs are left out, as the runtime returns them in their own memory. runtime::planMemory places
// the buffers. The runtime plans again from the actual input shapes when it runs; the recorded plan states
// what the build shapes need and is checked against the graph when the file is read.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ir/graph.h"
#include "lowp/status.h"

namespace lowp::engine {

struct PlannedBuffer {
  int64_t value = 0;  ///< The value id.
  int64_t offset = 0;
  int64_t bytes = 0;  ///< ir::storageBytes of the value in its format (blocked layouts padded).
  int64_t firstStep = 0;
  int64_t lastStep = 0;
  bool operator==(const PlannedBuffer&) const = default;
};

struct BuildMemoryPlan {
  int64_t arenaBytes = 0;
  std::vector<PlannedBuffer> buffers;  ///< In value id order.
  bool operator==(const BuildMemoryPlan&) const = default;
};

/// The plan for `inputShapes` (one per graph input), or the static shapes of the graph inputs when
/// `inputShapes` is empty; nullopt when some input's shape is not known. Errors when inference fails.
Result<std::optional<BuildMemoryPlan>> planBuildMemory(const ir::Graph& graph,
                                                       const std::vector<std::vector<int64_t>>& inputShapes);

/// Error unless every buffer lies inside the arena (64-byte aligned offsets, sizes > 0, no overflow), its
/// value id and steps are in range, value ids increase from buffer to buffer, and no two buffers alive at
/// one step overlap.
Status checkMemoryPlan(const BuildMemoryPlan& plan, int64_t valueCount, int64_t stepCount);

}  // namespace lowp::engine
