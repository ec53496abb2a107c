// Pieces the fusion rules (fuse_*.cpp) share: which producer a node may be fused into, and the rewrite that
// makes the producer take over the fused node's output.
#pragma once

#include <optional>

#include <string_view>

#include "ir/graph.h"
#include "ir/ops/fused.h"
#include "lowp/status.h"

namespace lowp::passes::fusion {

/// The producer of `v` when a consumer of `v` may be fused into it: `v` is its producer's only output,
/// has exactly one consumer and is not a graph output (nothing else needs the intermediate tensor).
ir::Node* fusableProducer(const ir::Value* v);

/// The value of `v` when it is a constant of one element (any numeric type), as a float.
std::optional<float> scalarConstant(const ir::Value* v);

/// Whether `v`'s value is known while planning, before any layer runs: a constant, or computed from
/// constants and shapes alone (Shape, Size and what they feed), as the runtime folds it
/// (runtime::foldedWhilePlanning).
bool knownWhilePlanning(const ir::Value* v);

/// The input slot of lowp.Attention `attention` that reads `v` among the inputs after the mask (Reshape
/// targets and scale factors, ir/ops/attention_layout.h), appended when there is none yet.
size_t attentionExtraInput(ir::Graph& graph, ir::Node& attention, ir::Value* v);

/// True for a default-domain `opType` node, or the lowp-domain `fusedOpType` node.
bool isOp(const ir::Node& node, std::string_view opType, std::string_view fusedOpType);

/// True when the node carries no fused activation yet.
bool hasNoActivation(const ir::Node& node);

/// Both shapes have the same rank and every dim is the same known size or the same named symbol.
bool sameShape(const ir::Shape& a, const ir::Shape& b);

/// The activation `node` computes (Relu, LeakyRelu, Clip with known bounds, Sigmoid, HardSwish, Tanh, Gelu),
/// when it is one the fused and quantized ops take.
std::optional<ir::ops::ActivationSpec> activationSpec(const ir::Node& node);

/// Turns a default-domain node into the lowp-domain op `fusedOpType` (a no-op when it is one already).
void makeFused(ir::Node& node, std::string_view fusedOpType);

/// `producer` takes over output 0 of `consumer` (which reads producer's only output) and records the names
/// of `consumer` and of what it had absorbed; `consumer` is removed from the graph.
void absorbConsumer(ir::Graph& graph, ir::Node& producer, ir::Node& consumer);

}  // namespace lowp::passes::fusion
