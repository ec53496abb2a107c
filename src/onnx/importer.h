// ONNX -> ir::Graph. Every tensor of the result is typed and, where the graph inputs fix it, shaped.
#pragma once

#include <memory>
#include <string>

#include "ir/graph.h"
#include "lowp/status.h"

namespace lowp::onnx {

/// The newest default-domain opset lowp imports. Opsets 24 and 25 changed ops only by adding element types
/// (FP4, E8M0, 2-bit) and attributes for them, which lowp rejects by name; the conformance cases of those
/// opsets check the rest. The oldest opset is set per op by its importer entry (OpImporter::sinceVersion);
/// every op lowp imports is supported from opset 7 at the latest.
inline constexpr int64_t kMaxOpset = 25;

/// Imports a model file; external data files are resolved next to it. Errors start with the path and name
/// the node and op at fault.
Result<std::unique_ptr<ir::Graph>> importOnnxFile(const std::string& path);

/// Imports a model from its serialized bytes; `baseDir` resolves external data (empty: none allowed);
/// `label` names the model in errors.
Result<std::unique_ptr<ir::Graph>> importOnnxBytes(const std::string& bytes, const std::string& baseDir,
                                                   const std::string& label);

/// Runs type and shape inference over the whole graph (constants' values are visible to it).
Status inferGraph(ir::Graph& graph);

}  // namespace lowp::onnx
