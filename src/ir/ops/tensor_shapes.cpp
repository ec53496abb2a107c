// Shape rules of the tensor ops; see tensor_shapes.h.
#include "ir/ops/tensor_shapes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ir/data_type.h"
#include "ir/numeric.h"

namespace lowp::ir::ops {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

Status bad(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message);
}

std::string listToString(const std::vector<int64_t>& values) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i) s += (i ? "," : "") + std::to_string(values[i]);
  return s + "]";
}

/// a * b, or nullopt on overflow.
std::optional<int64_t> mulChecked(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

/// The product of dims [from, to): known when all are known, the one unknown dim itself when every other
/// dim is 1 (so a symbol survives), unknown otherwise.
Result<Dim> productDim(const Shape& s, int64_t from, int64_t to) {
  int64_t known = 1;
  int unknown = 0;
  Dim last;
  for (int64_t i = from; i < to; ++i) {
    if (s[i].isKnown()) {
      auto p = mulChecked(known, s[i].size);
      if (!p) return bad("the element count of " + s.toString() + " overflows int64");
      known = *p;
    } else {
      ++unknown;
      last = s[i];
    }
  }
  if (unknown == 0) return Dim(known);
  if (unknown == 1 && known == 1) return last;
  return Dim();
}

/// Two descriptions of the same dim: the known one wins; two known sizes must agree.
Result<Dim> mergeDim(const Dim& a, const Dim& b, const std::string& what) {
  if (a.isKnown() && b.isKnown() && a.size != b.size) {
    return bad(what + ": size " + std::to_string(a.size) + " does not match " + std::to_string(b.size));
  }
  if (a.isKnown()) return a;
  if (b.isKnown()) return b;
  return a == b ? a : Dim();
}

/// blocksize², checked: a block larger than any real tensor is an error, not an overflow.
Result<int64_t> blockArea(int64_t blockSize) {
  if (blockSize <= 0) return bad("blocksize must be positive");
  auto area = mulChecked(blockSize, blockSize);
  if (!area) return bad("blocksize " + std::to_string(blockSize) + " is too large");
  return *area;
}

}  // namespace

Result<Shape> reshapeShape(const Shape& in, const std::vector<int64_t>& target, bool allowZero) {
  std::vector<Dim> out(target.size());
  const int64_t inRank = in.rankKnown() ? in.rank() : 0;
  std::vector<bool> copied(target.size(), false);
  int64_t inferAt = -1;
  bool hasZero = false;
  for (size_t i = 0; i < target.size(); ++i) {
    const int64_t t = target[i];
    if (t == -1) {
      if (inferAt >= 0) return bad("reshape target " + listToString(target) + " has more than one -1");
      inferAt = static_cast<int64_t>(i);
    } else if (t < -1) {
      return bad("reshape target " + listToString(target) + " has a negative size");
    } else if (t == 0 && !allowZero) {
      if (!in.rankKnown()) continue;  // copies an input dim we do not know
      if (static_cast<int64_t>(i) >= inRank) {
        return bad("reshape target " + listToString(target) + " copies dim " + std::to_string(i) +
                   " (0) but the input " + in.toString() + " has rank " + std::to_string(inRank));
      }
      out[i] = in[static_cast<int64_t>(i)];
      copied[i] = true;
    } else {
      hasZero = hasZero || t == 0;
      out[i] = Dim(t);
    }
  }
  if (allowZero && hasZero && inferAt >= 0) {
    return bad("reshape target " + listToString(target) + " has both 0 and -1 with allowzero=1");
  }
  if (!in.rankKnown()) return Shape(std::move(out));

  // Copied dims appear on both sides and cancel; compare what remains.
  int64_t inKnown = 1;
  std::vector<int64_t> inUnknown;
  for (int64_t i = 0; i < inRank; ++i) {
    if (i < static_cast<int64_t>(copied.size()) && copied[static_cast<size_t>(i)]) continue;
    if (!in[i].isKnown()) {
      inUnknown.push_back(i);
      continue;
    }
    auto p = mulChecked(inKnown, in[i].size);
    if (!p) return bad("the element count of " + in.toString() + " overflows int64");
    inKnown = *p;
  }
  int64_t outKnown = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (copied[i] || static_cast<int64_t>(i) == inferAt) continue;
    auto p = mulChecked(outKnown, out[i].size);
    if (!p) return bad("reshape target " + listToString(target) + " overflows int64");
    outKnown = *p;
  }
  const std::string what = "cannot reshape " + in.toString() + " to " + listToString(target);
  if (inferAt >= 0) {
    auto& inferred = out[static_cast<size_t>(inferAt)];
    if (inUnknown.empty()) {
      if (outKnown == 0) return bad(what + ": -1 is ambiguous when the other sizes multiply to 0");
      if (inKnown % outKnown != 0) return bad(what);
      inferred = Dim(inKnown / outKnown);
    } else if (inUnknown.size() == 1 && inKnown == outKnown) {
      inferred = in[inUnknown[0]];
    }
  } else if (inUnknown.empty() && inKnown != outKnown) {
    return bad(what);
  }
  return Shape(std::move(out));
}

Result<Shape> flattenShape(const Shape& in, int64_t axis) {
  if (!in.rankKnown()) return Shape(std::vector<Dim>(2));
  const int64_t rank = in.rank();
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a > rank) {
    return bad("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  LOWP_ASSIGN_OR_RETURN(Dim outer, productDim(in, 0, a));
  LOWP_ASSIGN_OR_RETURN(Dim inner, productDim(in, a, rank));
  return Shape({outer, inner});
}

Result<std::vector<int64_t>> transposePerm(int64_t rank, const std::optional<std::vector<int64_t>>& perm) {
  std::vector<int64_t> p(static_cast<size_t>(rank));
  if (!perm) {
    for (int64_t i = 0; i < rank; ++i) p[static_cast<size_t>(i)] = rank - 1 - i;
    return p;
  }
  if (static_cast<int64_t>(perm->size()) != rank) {
    return bad("perm " + listToString(*perm) + " does not match the input's rank " + std::to_string(rank));
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < perm->size(); ++i) {
    const int64_t v = (*perm)[i];
    if (v < 0 || v >= rank || seen[static_cast<size_t>(v)]) {
      return bad("perm " + listToString(*perm) + " is not a permutation of " + std::to_string(rank) +
                 " axes");
    }
    seen[static_cast<size_t>(v)] = true;
    p[i] = v;
  }
  return p;
}

Shape transposeShape(const Shape& in, const std::vector<int64_t>& perm) {
  std::vector<Dim> out;
  out.reserve(perm.size());
  for (int64_t p : perm) out.push_back(in[p]);
  return Shape(std::move(out));
}

Result<std::vector<int64_t>> normalizeAxisList(const std::vector<int64_t>& axes, int64_t rank,
                                               const char* what) {
  std::vector<int64_t> out;
  out.reserve(axes.size());
  for (int64_t a : axes) {
    LOWP_ASSIGN_OR_RETURN(int64_t n, normalizeAxis(a, rank, what));
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
    return bad(std::string(what) + " list " + listToString(axes) + " names an axis twice");
  }
  return out;
}

Result<Shape> squeezeShape(const Shape& in, const std::optional<std::vector<int64_t>>& axes) {
  if (!in.rankKnown()) return Shape::unknownRank();
  std::vector<Dim> out;
  if (!axes) {
    for (const Dim& d : in.dims()) {
      if (!d.isKnown()) return Shape::unknownRank();  // whether it is 1 decides the rank
      if (d.size != 1) out.push_back(d);
    }
    return Shape(std::move(out));
  }
  LOWP_ASSIGN_OR_RETURN(auto list, normalizeAxisList(*axes, in.rank(), "axes"));
  for (int64_t i = 0; i < in.rank(); ++i) {
    if (!std::binary_search(list.begin(), list.end(), i)) {
      out.push_back(in[i]);
    } else if (in[i].isKnown() && in[i].size != 1) {
      return bad("cannot squeeze axis " + std::to_string(i) + " of " + in.toString() + ": its size is not 1");
    }
  }
  return Shape(std::move(out));
}

Result<Shape> unsqueezeShape(const Shape& in, const std::vector<int64_t>& axes) {
  if (!in.rankKnown()) return Shape::unknownRank();
  const int64_t outRank = in.rank() + static_cast<int64_t>(axes.size());
  LOWP_ASSIGN_OR_RETURN(auto list, normalizeAxisList(axes, outRank, "axes"));
  std::vector<Dim> out;
  int64_t next = 0;
  for (int64_t i = 0; i < outRank; ++i) {
    out.push_back(std::binary_search(list.begin(), list.end(), i) ? Dim(1) : in[next++]);
  }
  return Shape(std::move(out));
}

Result<Shape> concatShape(const std::vector<Shape>& ins, int64_t axis) {
  const Shape* first = nullptr;
  bool allRanksKnown = true;
  for (const Shape& s : ins) {
    if (!s.rankKnown()) {
      allRanksKnown = false;
    } else if (first == nullptr) {
      first = &s;
    } else if (s.rank() != first->rank()) {
      return bad("cannot concatenate " + first->toString() + " and " + s.toString() + ": ranks differ");
    }
  }
  if (first == nullptr) return Shape::unknownRank();
  if (first->rank() == 0) return bad("cannot concatenate scalars");
  LOWP_ASSIGN_OR_RETURN(int64_t a, normalizeAxis(axis, first->rank()));
  std::vector<Dim> out = first->dims();
  int64_t sum = 0;
  bool sumKnown = allRanksKnown;
  for (const Shape& s : ins) {
    if (!s.rankKnown()) continue;
    for (int64_t d = 0; d < s.rank(); ++d) {
      if (d == a) {
        sumKnown = sumKnown && s[d].isKnown();
        if (s[d].isKnown()) sum += s[d].size;
        continue;
      }
      auto merged =
          mergeDim(out[static_cast<size_t>(d)], s[d],
                   "cannot concatenate on axis " + std::to_string(a) + ", dim " + std::to_string(d));
      if (!merged) return merged.status();
      out[static_cast<size_t>(d)] = *merged;
    }
  }
  out[static_cast<size_t>(a)] = sumKnown ? Dim(sum) : Dim();
  return Shape(std::move(out));
}

Result<std::vector<Dim>> splitSizes(const Dim& dim, const std::optional<std::vector<int64_t>>& split,
                                    int64_t numOutputs, bool allowUneven) {
  if (numOutputs < 1) return bad("split needs at least one output");
  std::vector<Dim> out(static_cast<size_t>(numOutputs));
  if (split) {
    if (static_cast<int64_t>(split->size()) != numOutputs) {
      return bad("split " + listToString(*split) + " has " + std::to_string(split->size()) + " entries for " +
                 std::to_string(numOutputs) + " outputs");
    }
    int64_t sum = 0;
    for (size_t i = 0; i < split->size(); ++i) {
      if ((*split)[i] < 0) return bad("split " + listToString(*split) + " has a negative size");
      sum += (*split)[i];
      out[i] = Dim((*split)[i]);
    }
    if (dim.isKnown() && sum != dim.size) {
      return bad("split " + listToString(*split) + " does not add up to the axis size " +
                 std::to_string(dim.size));
    }
    return out;
  }
  if (!dim.isKnown()) return out;
  if (!allowUneven && dim.size % numOutputs != 0) {
    return bad("axis size " + std::to_string(dim.size) + " does not split into " +
               std::to_string(numOutputs) + " equal parts");
  }
  const int64_t chunk = (dim.size + numOutputs - 1) / numOutputs;
  for (int64_t i = 0; i < numOutputs; ++i) {
    out[static_cast<size_t>(i)] = Dim(std::clamp(dim.size - i * chunk, int64_t{0}, chunk));
  }
  return out;
}

Result<SlicePlan> slicePlan(const Shape& in, const std::vector<int64_t>& starts,
                            const std::vector<int64_t>& ends, const std::optional<std::vector<int64_t>>& axes,
                            const std::optional<std::vector<int64_t>>& steps) {
  const size_t n = starts.size();
  if (ends.size() != n || (axes && axes->size() != n) || (steps && steps->size() != n)) {
    return bad("starts, ends, axes and steps must have the same length");
  }
  if (!in.rankKnown()) return SlicePlan{Shape::unknownRank(), {}};
  const int64_t rank = in.rank();
  SlicePlan plan{in, std::vector<SliceAxis>(static_cast<size_t>(rank))};
  for (int64_t d = 0; d < rank; ++d) {
    plan.axes[static_cast<size_t>(d)] = {0, 1, in[d].isKnown() ? in[d].size : 0};
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t k = 0; k < n; ++k) {
    int64_t axis = axes ? (*axes)[k] : static_cast<int64_t>(k);
    LOWP_ASSIGN_OR_RETURN(axis, normalizeAxis(axis, rank, "slice axis"));
    if (seen[static_cast<size_t>(axis)]) return bad("slice axis " + std::to_string(axis) + " is given twice");
    seen[static_cast<size_t>(axis)] = true;
    int64_t step = steps ? (*steps)[k] : 1;
    if (step == 0) return bad("slice step must not be 0");
    if (step == kInt64Min) step = -kInt64Max;  // same elements, and -step stays representable
    const int64_t start = starts[k];
    const int64_t end = ends[k];
    const Dim& dim = in[axis];
    if (!dim.isKnown()) {
      // Only the identity slice keeps an unknown dim; anything else depends on the size.
      const bool whole = step == 1 && start == 0 && end >= std::numeric_limits<int32_t>::max();
      plan.shape[axis] = whole ? dim : Dim();
      continue;
    }
    const int64_t d = dim.size;
    SliceAxis sa{0, step, 0};
    if (d > 0 && step > 0) {
      const int64_t s = std::clamp(start < 0 ? start + d : start, int64_t{0}, d);
      const int64_t e = std::clamp(end < 0 ? end + d : end, int64_t{0}, d);
      sa.start = s;
      sa.count = e > s ? (e - s - 1) / step + 1 : 0;
    } else if (d > 0) {
      const int64_t s = std::clamp(start < 0 ? start + d : start, int64_t{0}, d - 1);
      const int64_t e = std::clamp(end < 0 ? end + d : end, int64_t{-1}, d - 1);
      sa.start = s;
      sa.count = s > e ? (s - e - 1) / -step + 1 : 0;
    }
    plan.axes[static_cast<size_t>(axis)] = sa;
    plan.shape[axis] = Dim(sa.count);
  }
  return plan;
}

Result<Shape> gatherShape(const Shape& data, const Shape& indices, int64_t axis) {
  if (!data.rankKnown()) return Shape::unknownRank();
  if (data.rank() == 0) return bad("cannot gather from a scalar");
  LOWP_ASSIGN_OR_RETURN(int64_t a, normalizeAxis(axis, data.rank()));
  if (!indices.rankKnown()) return Shape::unknownRank();
  std::vector<Dim> out(data.dims().begin(), data.dims().begin() + a);
  out.insert(out.end(), indices.dims().begin(), indices.dims().end());
  out.insert(out.end(), data.dims().begin() + a + 1, data.dims().end());
  return Shape(std::move(out));
}

Result<Shape> gatherElementsShape(const Shape& data, const Shape& indices, int64_t axis) {
  if (data.rankKnown()) {
    if (data.rank() == 0) return bad("cannot gather from a scalar");
    LOWP_RETURN_IF_ERROR(normalizeAxis(axis, data.rank()).status());
    if (indices.rankKnown() && indices.rank() != data.rank()) {
      return bad("indices " + indices.toString() + " and data " + data.toString() +
                 " must have the same rank");
    }
    if (!indices.rankKnown()) return Shape(std::vector<Dim>(static_cast<size_t>(data.rank())));
  }
  return indices;
}

Result<Shape> gatherNDShape(const Shape& data, const Shape& indices, int64_t batchDims) {
  if (!data.rankKnown() || !indices.rankKnown()) return Shape::unknownRank();
  const int64_t r = data.rank();
  const int64_t q = indices.rank();
  if (r < 1 || q < 1) return bad("GatherND needs data and indices of rank >= 1");
  if (batchDims < 0 || batchDims >= std::min(r, q)) {
    return bad("batch_dims " + std::to_string(batchDims) +
               " must be less than the ranks of data and indices");
  }
  for (int64_t i = 0; i < batchDims; ++i) {
    LOWP_RETURN_IF_ERROR(mergeDim(data[i], indices[i], "batch dim " + std::to_string(i)).status());
  }
  const Dim& last = indices[q - 1];
  if (!last.isKnown()) return Shape::unknownRank();
  if (last.size > r - batchDims) {
    return bad("indices " + indices.toString() + " index " + std::to_string(last.size) + " dims but data " +
               data.toString() + " has only " + std::to_string(r - batchDims) + " after the batch dims");
  }
  std::vector<Dim> out(indices.dims().begin(), indices.dims().end() - 1);
  out.insert(out.end(), data.dims().begin() + batchDims + last.size, data.dims().end());
  return Shape(std::move(out));
}

Status checkScatterElements(const Shape& data, const Shape& indices, const Shape& updates, int64_t axis) {
  if (data.rankKnown()) {
    if (data.rank() == 0) return bad("cannot scatter into a scalar");
    LOWP_RETURN_IF_ERROR(normalizeAxis(axis, data.rank()).status());
  }
  const Shape* shapes[] = {&data, &indices, &updates};
  for (const Shape* a : shapes) {
    for (const Shape* b : shapes) {
      if (a->rankKnown() && b->rankKnown() && a->rank() != b->rank()) {
        return bad("data, indices and updates must have the same rank");
      }
    }
  }
  if (indices.rankKnown() && updates.rankKnown()) {
    for (int64_t i = 0; i < indices.rank(); ++i) {
      LOWP_RETURN_IF_ERROR(mergeDim(indices[i], updates[i],
                                    "indices " + indices.toString() + " and updates " + updates.toString())
                               .status());
    }
  }
  return {};
}

Status checkScatterND(const Shape& data, const Shape& indices, const Shape& updates) {
  if (!data.rankKnown() || !indices.rankKnown()) return {};
  const int64_t r = data.rank();
  const int64_t q = indices.rank();
  if (r < 1 || q < 1) return bad("ScatterND needs data and indices of rank >= 1");
  const Dim& last = indices[q - 1];
  if (!last.isKnown()) return {};
  if (last.size > r) {
    return bad("indices " + indices.toString() + " index " + std::to_string(last.size) + " dims of data " +
               data.toString());
  }
  if (!updates.rankKnown()) return {};
  std::vector<Dim> expect(indices.dims().begin(), indices.dims().end() - 1);
  expect.insert(expect.end(), data.dims().begin() + last.size, data.dims().end());
  if (static_cast<int64_t>(expect.size()) != updates.rank()) {
    return bad("updates " + updates.toString() + " should have shape " + Shape(expect).toString());
  }
  for (size_t i = 0; i < expect.size(); ++i) {
    LOWP_RETURN_IF_ERROR(
        mergeDim(expect[i], updates[static_cast<int64_t>(i)],
                 "updates " + updates.toString() + " vs expected " + Shape(expect).toString())
            .status());
  }
  return {};
}

Result<std::vector<int64_t>> padAmounts(int64_t rank, const std::vector<int64_t>& pads,
                                        const std::optional<std::vector<int64_t>>& axes) {
  std::vector<int64_t> amounts(static_cast<size_t>(2 * rank), 0);
  if (!axes) {
    if (static_cast<int64_t>(pads.size()) != 2 * rank) {
      return bad("pads " + listToString(pads) + " should have " + std::to_string(2 * rank) + " entries");
    }
    return pads;
  }
  const size_t n = axes->size();
  if (pads.size() != 2 * n) {
    return bad("pads " + listToString(pads) + " should have " + std::to_string(2 * n) + " entries for " +
               std::to_string(n) + " axes");
  }
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t k = 0; k < n; ++k) {
    LOWP_ASSIGN_OR_RETURN(int64_t a, normalizeAxis((*axes)[k], rank, "pad axis"));
    if (seen[static_cast<size_t>(a)]) return bad("pad axis " + std::to_string(a) + " is given twice");
    seen[static_cast<size_t>(a)] = true;
    amounts[static_cast<size_t>(a)] = pads[k];
    amounts[static_cast<size_t>(a + rank)] = pads[k + n];
  }
  return amounts;
}

Result<Shape> padShape(const Shape& in, const std::vector<int64_t>& amounts) {
  if (!in.rankKnown()) return Shape::unknownRank();
  std::vector<Dim> out = in.dims();
  for (int64_t d = 0; d < in.rank(); ++d) {
    int64_t grow = 0;
    int64_t size = 0;
    if (__builtin_add_overflow(amounts[static_cast<size_t>(d)], amounts[static_cast<size_t>(d + in.rank())],
                               &grow) ||
        (in[d].isKnown() && __builtin_add_overflow(in[d].size, grow, &size))) {
      return bad("pads " + listToString(amounts) + " overflow int64");
    }
    if (!in[d].isKnown()) {
      if (grow != 0) out[static_cast<size_t>(d)] = Dim();
      continue;
    }
    if (size < 0) {
      return bad("pads " + listToString(amounts) + " remove more than the " + std::to_string(in[d].size) +
                 " elements of axis " + std::to_string(d));
    }
    out[static_cast<size_t>(d)] = Dim(size);
  }
  return Shape(std::move(out));
}

Result<Shape> tileShape(const Shape& in, const std::vector<int64_t>& repeats) {
  for (int64_t r : repeats) {
    if (r < 0) return bad("repeats " + listToString(repeats) + " has a negative entry");
  }
  if (!in.rankKnown()) return Shape(std::vector<Dim>(repeats.size()));
  if (static_cast<int64_t>(repeats.size()) != in.rank()) {
    return bad("repeats " + listToString(repeats) + " does not match the input's rank " +
               std::to_string(in.rank()));
  }
  std::vector<Dim> out = in.dims();
  for (size_t d = 0; d < out.size(); ++d) {
    if (repeats[d] == 1) continue;
    if (repeats[d] == 0) {
      out[d] = Dim(0);
    } else if (out[d].isKnown()) {
      auto p = mulChecked(out[d].size, repeats[d]);
      if (!p) return bad("tiled size overflows int64");
      out[d] = Dim(*p);
    } else {
      out[d] = Dim();
    }
  }
  return Shape(std::move(out));
}

Result<Shape> expandShape(const Shape& in, const std::vector<int64_t>& target) {
  LOWP_ASSIGN_OR_RETURN(Shape t, shapeFromSizes(target));
  auto out = broadcastShapes(in, t);
  if (!out) return bad("cannot expand " + in.toString() + " to " + listToString(target));
  return out;
}

Result<Shape> shapeFromSizes(const std::vector<int64_t>& sizes) {
  for (int64_t s : sizes) {
    if (s < 0) return bad("shape " + listToString(sizes) + " has a negative size");
  }
  return Shape::fromSizes(sizes);
}

std::pair<int64_t, int64_t> shapeOpRange(int64_t rank, std::optional<int64_t> start,
                                         std::optional<int64_t> end) {
  int64_t s = start.value_or(0);
  int64_t e = end.value_or(rank);
  if (s < 0) s += rank;
  if (e < 0) e += rank;
  s = std::clamp(s, int64_t{0}, rank);
  e = std::clamp(e, s, rank);
  return {s, e};
}

Result<Shape> oneHotShape(const Shape& indices, const Dim& depth, int64_t axis) {
  if (!indices.rankKnown()) return Shape::unknownRank();
  const int64_t r = indices.rank();
  const int64_t a = axis < 0 ? axis + r + 1 : axis;
  if (a < 0 || a > r) {
    return bad("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(r + 1));
  }
  std::vector<Dim> out = indices.dims();
  out.insert(out.begin() + a, depth);
  return Shape(std::move(out));
}

Result<Shape> spaceToDepthShape(const Shape& in, int64_t blockSize) {
  LOWP_ASSIGN_OR_RETURN(int64_t area, blockArea(blockSize));
  if (!in.rankKnown()) return Shape(std::vector<Dim>(4));
  if (in.rank() != 4) return bad("the input " + in.toString() + " must have rank 4 (NCHW)");
  std::vector<Dim> out(4);
  out[0] = in[0];
  if (in[1].isKnown()) {
    auto channels = mulChecked(in[1].size, area);
    if (!channels) return bad("output channels overflow int64");
    out[1] = Dim(*channels);
  }
  for (int64_t d = 2; d < 4; ++d) {
    if (!in[d].isKnown()) continue;
    if (in[d].size % blockSize != 0) {
      return bad("dim " + std::to_string(d) + " of " + in.toString() + " is not a multiple of blocksize " +
                 std::to_string(blockSize));
    }
    out[static_cast<size_t>(d)] = Dim(in[d].size / blockSize);
  }
  return Shape(std::move(out));
}

Result<Shape> depthToSpaceShape(const Shape& in, int64_t blockSize) {
  LOWP_ASSIGN_OR_RETURN(int64_t area, blockArea(blockSize));
  if (!in.rankKnown()) return Shape(std::vector<Dim>(4));
  if (in.rank() != 4) return bad("the input " + in.toString() + " must have rank 4 (NCHW)");
  std::vector<Dim> out(4);
  out[0] = in[0];
  if (in[1].isKnown()) {
    if (in[1].size % area != 0) {
      return bad("channels of " + in.toString() + " are not a multiple of blocksize^2");
    }
    out[1] = Dim(in[1].size / area);
  }
  for (int64_t d = 2; d < 4; ++d) {
    if (!in[d].isKnown()) continue;
    auto size = mulChecked(in[d].size, blockSize);
    if (!size) return bad("output size overflows int64");
    out[static_cast<size_t>(d)] = Dim(*size);
  }
  return Shape(std::move(out));
}

Result<int64_t> rangeCountInt(int64_t start, int64_t limit, int64_t delta) {
  if (delta == 0) return bad("Range delta must not be 0");
  if (delta > 0 ? limit <= start : limit >= start) return int64_t{0};
  // The distance and |delta| as unsigned, which holds them even when int64 would overflow.
  const uint64_t distance = delta > 0 ? static_cast<uint64_t>(limit) - static_cast<uint64_t>(start)
                                      : static_cast<uint64_t>(start) - static_cast<uint64_t>(limit);
  const uint64_t step = delta > 0 ? static_cast<uint64_t>(delta) : static_cast<uint64_t>(-(delta + 1)) + 1;
  const uint64_t n = (distance - 1) / step + 1;
  if (n > static_cast<uint64_t>(kInt64Max)) return bad("Range would produce too many elements");
  return static_cast<int64_t>(n);
}

Result<int64_t> rangeCountFloat(double difference, double delta) {
  if (delta == 0) return bad("Range delta must not be 0");
  const double n = std::ceil(difference / delta);
  if (std::isnan(n)) return bad("Range start, limit and delta must be finite");
  if (n <= 0) return int64_t{0};
  if (n > static_cast<double>(int64_t{1} << 52)) return bad("Range would produce too many elements");
  return static_cast<int64_t>(n);
}

Result<int64_t> rangeCount(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  for (const Tensor* t : {&start, &limit, &delta}) {
    if (t->elementCount() != 1) return bad("Range start, limit and delta must be scalars");
    if (t->type() != start.type()) return bad("Range start, limit and delta must have one type");
  }
  const DataType type = start.type();
  if (isInteger(type)) {
    auto s = elementAsInt64(start, 0);
    auto l = elementAsInt64(limit, 0);
    auto d = elementAsInt64(delta, 0);
    if (!s || !l || !d) return Status(StatusCode::kUnsupported, "Range of this type is not supported");
    return rangeCountInt(*s, *l, *d);
  }
  auto s = elementValue(start, 0);
  auto l = elementValue(limit, 0);
  auto d = elementValue(delta, 0);
  if (!s || !l || !d || !isFloat(type)) {
    return Status(StatusCode::kUnsupported,
                  "Range of " + std::string(dataTypeInfo(type).name) + " is not supported");
  }
  // Narrower floats subtract in float, as the ONNX function body and ONNX Runtime do.
  const double difference = type == DataType::kFloat64
                                ? *l - *s
                                : static_cast<double>(static_cast<float>(*l) - static_cast<float>(*s));
  return rangeCountFloat(difference, *d);
}

std::optional<double> elementValue(const Tensor& t, int64_t i) {
  if (t.data() == nullptr || i < 0 || i >= t.elementCount()) return std::nullopt;
  const DataType type = t.type();
  if (!isFloat(type) && !isInteger(type) && type != DataType::kBool) return std::nullopt;
  double v = lowp::elementAsDouble(t, i);
  if (std::isnan(v) && (type == DataType::kFloat8E4M3FNUZ || type == DataType::kFloat8E5M2FNUZ))
    return std::nullopt;
  return v;
}

std::optional<int64_t> elementAsInt64(const Tensor& t, int64_t i) {
  const void* p = t.data();
  if (p == nullptr || i < 0 || i >= t.elementCount()) return std::nullopt;
  switch (t.type()) {
    case DataType::kInt8:
      return static_cast<const int8_t*>(p)[i];
    case DataType::kInt16:
      return static_cast<const int16_t*>(p)[i];
    case DataType::kInt32:
      return static_cast<const int32_t*>(p)[i];
    case DataType::kInt64:
      return static_cast<const int64_t*>(p)[i];
    case DataType::kUInt8:
      return static_cast<const uint8_t*>(p)[i];
    case DataType::kUInt16:
      return static_cast<const uint16_t*>(p)[i];
    case DataType::kUInt32:
      return static_cast<const uint32_t*>(p)[i];
    case DataType::kUInt64: {
      const uint64_t v = static_cast<const uint64_t*>(p)[i];
      if (v > static_cast<uint64_t>(kInt64Max)) return std::nullopt;
      return static_cast<int64_t>(v);
    }
    case DataType::kBool:
      return static_cast<const uint8_t*>(p)[i] != 0 ? 1 : 0;
    default:
      break;
  }
  auto d = elementValue(t, i);
  // 2^63 is the first double past int64's range.
  if (!d || !std::isfinite(*d) || std::fabs(*d) >= 9.2233720368547758e18) return std::nullopt;
  return static_cast<int64_t>(std::trunc(*d));
}

}  // namespace lowp::ir::ops
