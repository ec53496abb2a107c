// Einsum equations: parsing ("ij,jk->ik", "...ii->...i", implicit outputs) and the plan that maps every
// input and output dimension to one loop axis. Shared by shape inference and the reference kernel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowp/status.h"

namespace lowp::ir::ops {

/// One term of an equation: its letters in order, with kEllipsis where "..." stands.
struct EinsumTerm {
  static constexpr int kEllipsis = -1;
  std::vector<int> labels;  ///< Letters as their ASCII codes, or kEllipsis.
  bool hasEllipsis() const;
};

struct EinsumEquation {
  std::vector<EinsumTerm> inputs;
  EinsumTerm output;  ///< For implicit equations (no "->"), the output numpy's rules give.
};

/// Parses `equation` for `inputCount` operands; errors (kInvalidArgument) name what is wrong.
Result<EinsumEquation> parseEinsum(const std::string& equation, size_t inputCount);

/// The loop structure of an Einsum: axes [0, ellipsisRank) are the broadcast "..." dims, the rest one per
/// letter. `sizes` is -1 where unknown; a broadcast "..." dim of size 1 in an input reads with stride 0.
struct EinsumPlan {
  int64_t ellipsisRank = 0;
  std::vector<int64_t> sizes;                   ///< Size of each axis.
  std::vector<std::vector<int64_t>> inputAxes;  ///< Per input, the axis of each of its dims.
  std::vector<int64_t> outputAxes;              ///< The axis of each output dim.
};

/// Builds the plan for inputs of the given shapes (sizes -1 where unknown). All ranks must be known.
Result<EinsumPlan> planEinsum(const EinsumEquation& equation,
                              const std::vector<std::vector<int64_t>>& shapes);

}  // namespace lowp::ir::ops
