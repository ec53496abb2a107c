// Resolving the reduced dimensions of the Reduce* ops; see reduction_axes.h.
#include "ir/ops/reduction_axes.h"

#include <string>

#include "ir/shape.h"

namespace lowp::ir::ops {

Result<ReduceAxes> resolveReduceAxes(const AttributeMap& attrs, const std::vector<int64_t>& axes,
                                     int64_t rank) {
  ReduceAxes r;
  r.keepdims = attrs.getInt("keepdims", 1) != 0;
  r.reduced.assign(static_cast<size_t>(rank), axes.empty());
  if (axes.empty()) {
    r.noop = attrs.getInt("noop_with_empty_axes", 0) != 0;
    if (r.noop) r.reduced.assign(static_cast<size_t>(rank), false);
    return r;
  }
  for (int64_t axis : axes) {
    LOWP_ASSIGN_OR_RETURN(int64_t a, normalizeAxis(axis, rank, "reduction axis"));
    if (r.reduced[static_cast<size_t>(a)]) {
      return Status(StatusCode::kInvalidArgument,
                    "axis " + std::to_string(axis) + " is listed twice in axes");
    }
    r.reduced[static_cast<size_t>(a)] = true;
  }
  return r;
}

std::vector<int64_t> reducedSizes(const std::vector<int64_t>& in, const ReduceAxes& r) {
  if (r.noop) return in;
  std::vector<int64_t> out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!r.reduced[d]) {
      out.push_back(in[d]);
    } else if (r.keepdims) {
      out.push_back(1);
    }
  }
  return out;
}

std::optional<std::vector<int64_t>> tensorInts(const Tensor& t) {
  std::vector<int64_t> out(static_cast<size_t>(t.elementCount()));
  if (t.type() == DataType::kInt64) {
    for (size_t k = 0; k < out.size(); ++k) out[k] = t.data<int64_t>()[k];
  } else if (t.type() == DataType::kInt32) {
    for (size_t k = 0; k < out.size(); ++k) out[k] = t.data<int32_t>()[k];
  } else {
    return std::nullopt;
  }
  return out;
}

}  // namespace lowp::ir::ops
