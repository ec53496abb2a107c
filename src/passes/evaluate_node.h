// Runs one node at build time on known input values, the way the runtime folds nodes while planning.
#pragma once

#include <vector>

#include "ir/graph.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::passes {

/// Runs `node` once with its reference CPU kernel. `inputs` holds one tensor per input slot (nullptr for an
/// omitted input; a tensor without data for an input only its shape is read from, as Shape and Size do).
/// Returns one tensor per output slot (an empty Tensor for an omitted output). Errors come from inference,
/// a missing reference kernel, or the kernel, and name the node.
Result<std::vector<Tensor>> evaluateNode(const ir::Node& node, const std::vector<const Tensor*>& inputs);

}  // namespace lowp::passes
