// Runs one operator through the whole path the engine uses (schema inference, kernel lookup, execution
// on the CPU runtime), for kernel unit tests.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "ir/attribute.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::testing {

struct OpRun {
  std::string opType;
  ir::AttributeMap attributes;
  /// Inputs in slot order; a default-constructed Tensor (type kUndefined) marks an omitted optional input.
  std::vector<Tensor> inputs;
  int outputCount = 1;
  int64_t opset = 21;
  std::string domain;
};

/// Runs the op and returns its outputs, or the error import-time inference, kernel lookup or the kernel gave.
Result<std::vector<Tensor>> runOp(const OpRun& run);

/// An attribute map from {name, value} pairs: attrs({{"axis", int64_t{1}}, {"mode",
/// std::string("nearest")}}).
ir::AttributeMap attrs(std::initializer_list<std::pair<std::string, ir::AttrValue>> list);

/// Every element of a numeric/bool tensor as doubles, in row-major order.
std::vector<double> values(const Tensor& t);

/// Number of elements of a shape (1 for a scalar).
int64_t count(const std::vector<int64_t>& shape);

/// Makes a tensor of the given type and shape from values given as doubles (converted to the type).
Tensor makeTensor(DataType type, std::vector<int64_t> shape, const std::vector<double>& values);

/// Element i of any numeric/bool tensor as a double (the public lowp::elementAsDouble).
using lowp::elementAsDouble;

}  // namespace lowp::testing
