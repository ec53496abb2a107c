// Shape rules of the tensor ops, shared by their inference (ir/ops/tensor.cpp) and their reference kernels
// (kernels/reference/tensor.cpp): the kernels recompute output shapes and index plans from concrete shapes
// and values with these same functions, so the two cannot disagree.
//
// Every function accepts partly known shapes (unknown rank, unknown or symbolic dims) and leaves unknown what
// it cannot derive. Errors carry no node name (callers add it): kInvalidArgument for inconsistent inputs,
// kUnsupported for valid cases lowp does not implement.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ir/shape.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::ir::ops {

/// The ops whose output holds the bytes of input 0 in their order under another shape.
inline constexpr std::array<std::string_view, 5> kSameBytesOps = {"Flatten", "Reshape", "Squeeze",
                                                                  "Unsqueeze", "Identity"};

/// Reshape: `target` may hold 0 (copy the input dim, unless allowZero) and one -1 (inferred).
Result<Shape> reshapeShape(const Shape& in, const std::vector<int64_t>& target, bool allowZero);

/// Flatten to 2-D around `axis` in [-rank, rank].
Result<Shape> flattenShape(const Shape& in, int64_t axis);

/// The permutation of Transpose: `perm` checked against `rank`, or the reversed axes when `perm` is absent.
Result<std::vector<int64_t>> transposePerm(int64_t rank, const std::optional<std::vector<int64_t>>& perm);
Shape transposeShape(const Shape& in, const std::vector<int64_t>& perm);

/// Axes normalised to [0, rank) and sorted; error on an axis out of range or given twice.
Result<std::vector<int64_t>> normalizeAxisList(const std::vector<int64_t>& axes, int64_t rank,
                                               const char* what = "axis");

/// Squeeze the listed axes, or every dim of size 1 when `axes` is absent.
Result<Shape> squeezeShape(const Shape& in, const std::optional<std::vector<int64_t>>& axes);
/// Unsqueeze: `axes` index the output.
Result<Shape> unsqueezeShape(const Shape& in, const std::vector<int64_t>& axes);

/// Concatenation along `axis` (not yet normalised) of shapes of one rank.
Result<Shape> concatShape(const std::vector<Shape>& ins, int64_t axis);

/// Sizes of the `numOutputs` parts Split cuts a dim of size `dim` into: `split` when given, else equal parts
/// (`allowUneven`: opset 18's num_outputs, where the last part may be smaller).
Result<std::vector<Dim>> splitSizes(const Dim& dim, const std::optional<std::vector<int64_t>>& split,
                                    int64_t numOutputs, bool allowUneven);

/// How Slice reads one data axis: element `start + i * step` for i in [0, count).
struct SliceAxis {
  int64_t start = 0;
  int64_t step = 1;
  int64_t count = 0;
};
/// The output shape and, for every axis whose size is known, how it is read.
struct SlicePlan {
  Shape shape;
  std::vector<SliceAxis> axes;
};
Result<SlicePlan> slicePlan(const Shape& in, const std::vector<int64_t>& starts,
                            const std::vector<int64_t>& ends, const std::optional<std::vector<int64_t>>& axes,
                            const std::optional<std::vector<int64_t>>& steps);

/// Gather along `axis` (not normalised): data[:axis] + indices + data[axis+1:].
Result<Shape> gatherShape(const Shape& data, const Shape& indices, int64_t axis);
/// GatherElements: data and indices of one rank; the output has the indices' shape.
Result<Shape> gatherElementsShape(const Shape& data, const Shape& indices, int64_t axis);
/// GatherND with `batchDims` leading batch dims: indices[:-1] + data[batchDims + indices[-1]:].
Result<Shape> gatherNDShape(const Shape& data, const Shape& indices, int64_t batchDims);
/// ScatterElements: data, indices and updates of one rank, indices and updates of one shape.
Status checkScatterElements(const Shape& data, const Shape& indices, const Shape& updates, int64_t axis);
/// ScatterND: updates must have the shape indices[:-1] + data[indices[-1]:].
Status checkScatterND(const Shape& data, const Shape& indices, const Shape& updates);

/// Pad amounts for every axis: begins (rank entries) then ends, from `pads` over `axes` (all axes if absent).
Result<std::vector<int64_t>> padAmounts(int64_t rank, const std::vector<int64_t>& pads,
                                        const std::optional<std::vector<int64_t>>& axes);
Result<Shape> padShape(const Shape& in, const std::vector<int64_t>& amounts);

Result<Shape> tileShape(const Shape& in, const std::vector<int64_t>& repeats);
/// Expand: the broadcast of the input with `target`.
Result<Shape> expandShape(const Shape& in, const std::vector<int64_t>& target);
/// A shape from a 1-D tensor of sizes (ConstantOfShape); every size must be >= 0.
Result<Shape> shapeFromSizes(const std::vector<int64_t>& sizes);

/// The [start, end) range of dims the Shape op returns, with ONNX's clamping.
std::pair<int64_t, int64_t> shapeOpRange(int64_t rank, std::optional<int64_t> start,
                                         std::optional<int64_t> end);

/// OneHot: the indices' shape with `depth` inserted at `axis` in [-rank-1, rank].
Result<Shape> oneHotShape(const Shape& indices, const Dim& depth, int64_t axis);

Result<Shape> spaceToDepthShape(const Shape& in, int64_t blockSize);
Result<Shape> depthToSpaceShape(const Shape& in, int64_t blockSize);

/// Number of elements Range produces: max(ceil((limit - start) / delta), 0). Integers are computed exactly;
/// for floats the caller subtracts in the element type (as ONNX Runtime does) and passes `limit - start`.
Result<int64_t> rangeCountInt(int64_t start, int64_t limit, int64_t delta);
Result<int64_t> rangeCountFloat(double difference, double delta);
/// Range's element count from its three scalar inputs (of one numeric type).
Result<int64_t> rangeCount(const Tensor& start, const Tensor& limit, const Tensor& delta);

/// Element `i` of a numeric, bool or fp8 tensor as a double; nullopt for other types.
std::optional<double> elementValue(const Tensor& t, int64_t i);
/// Element `i` as an integer: integers and bool exactly, floats truncated toward zero; nullopt for other
/// types and for floats that are not finite or do not fit.
std::optional<int64_t> elementAsInt64(const Tensor& t, int64_t i);

}  // namespace lowp::ir::ops
