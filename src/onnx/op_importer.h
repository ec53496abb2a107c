// Importer entries: one per ONNX op lowp supports, naming the first opset whose semantics lowp implements
// and, where older opsets spell the op differently (attributes that later became inputs, say), a function
// that rewrites the node into the form the op schema and kernels expect.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "ir/graph.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::onnx {

/// What a normalising function may do to the graph being imported.
class ImportContext {
 public:
  explicit ImportContext(ir::Graph& graph) : graph_(graph) {}
  ir::Graph& graph() { return graph_; }
  /// Adds a constant value (an initializer) with a fresh name derived from `nameHint`.
  ir::Value* addConstant(Tensor value, const std::string& nameHint);
  /// Error naming the node: the model is malformed (kInvalidModel).
  static Status invalid(const ir::Node& node, const std::string& message);
  /// Error naming the node: a valid form lowp does not implement (kUnsupported).
  static Status unsupported(const ir::Node& node, const std::string& message);

 private:
  ir::Graph& graph_;
  int64_t counter_ = 0;
};

using NormalizeFn = Status (*)(ImportContext& ctx, ir::Node& node);

struct OpImporter {
  std::string_view opType;
  /// The first opset version of the op that lowp imports; older versions are rejected as unsupported.
  int64_t sinceVersion = 1;
  /// Rewrites old spellings into the current one; nullptr when every supported version reads alike.
  NormalizeFn normalize = nullptr;
  std::string_view domain = "";
};

class ImporterRegistry {
 public:
  void add(OpImporter entry);
  const OpImporter* find(std::string_view domain, std::string_view opType) const;
  /// The registry holding every entry in onnx/ops/importer_list.cpp.
  static const ImporterRegistry& global();

 private:
  std::map<std::pair<std::string, std::string>, OpImporter, std::less<>> entries_;
};

/// Registration of each family's importer entries (one file each in onnx/ops/).
void registerElementwiseImporters(ImporterRegistry& registry);
void registerTensorImporters(ImporterRegistry& registry);
void registerLinearImporters(ImporterRegistry& registry);
void registerPoolImporters(ImporterRegistry& registry);
void registerNormalizationImporters(ImporterRegistry& registry);
void registerReductionImporters(ImporterRegistry& registry);
void registerConversionImporters(ImporterRegistry& registry);
void registerResizeImporters(ImporterRegistry& registry);

}  // namespace lowp::onnx
