// The internals behind lowp::NetworkDefinition: an ir::Graph straight from the importer (no rewrites yet)
// and the per-layer constraints, which the builder applies to a copy.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "lowp/builder.h"

namespace lowp {

struct LayerConstraint {
  DataType precision = DataType::kUndefined;
  std::map<int, DataType> outputTypes;  ///< By output index.
};

struct NetworkDefinition::Impl {
  std::unique_ptr<ir::Graph> graph;
  std::string label;             ///< The file it came from, for errors; "" for a network made by hand.
  std::vector<ir::Node*> nodes;  ///< Per layer index.
  std::vector<std::unique_ptr<Layer>> layers;
  std::vector<LayerConstraint> constraints;  ///< Per layer index.
  std::map<std::string, DataType> inputTypes;
  std::map<std::string, DataType> outputTypes;
  std::map<std::string, float> dynamicRanges;  ///< amax by tensor name.
  bool stronglyTyped = false;
};

}  // namespace lowp
