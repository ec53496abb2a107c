// Where lowp.Attention reads Q, Kt and V and writes Y when the fuse_attention_layout pass has folded the
// view ops around it (Transpose, Reshape, Squeeze, Unsqueeze, Gather of one index) into the node: each
// operand input is then the tensor those ops started from, and an attribute lists the ops as steps, which
// the kernels replay on the concrete shapes to get a strided view of that tensor. A transformer export's
// packed projection [S, B, 3 * E] is read in place as Q, K and V of [B, H, S, D], without the copies that
// Transposes and Gathers would make.
//
// A view keeps, for every logical dim, one or more (size, stride) modes: a Reshape that merges dims whose
// strides do not line up (B and H of [S, B, 3, H, D] into B * H) keeps both modes, so a later Reshape can
// split them again. Only a Reshape that would cut a mode at a size that does not divide it fails.
//
// Attributes of lowp.Attention (all optional; absent: the operand is the input itself, dense):
//   q_view, kt_view, v_view  ints: steps, each [kind, n, n arguments]:
//       1 Transpose  perm (n = rank)
//       2 Reshape    input index of the target shape, allowzero (n = 2)
//       3 Gather     axis, index (n = 2; a scalar index: the axis goes)
//       4 Squeeze    axes (normalised)          5 Unsqueeze  axes (normalised, of the output)
//       6 Expand     input index of the target shape (n = 1): a dim of 1 broadcast to the target's size
//                    reads one element over and over (stride 0), as grouped key/value heads do
//   y_perm   ints: Y is written transposed by this permutation (the Transpose that read it, folded)
//   scale_inputs  ints: input indices of one-element float tensors known while planning, whose product
//            multiplies the scale (a scale the export computes from shapes)
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "ir/attribute.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::ir::ops {

inline constexpr std::string_view kAttentionQView = "q_view";
inline constexpr std::string_view kAttentionKtView = "kt_view";
inline constexpr std::string_view kAttentionVView = "v_view";
inline constexpr std::string_view kAttentionYPerm = "y_perm";
inline constexpr std::string_view kAttentionScaleInputs = "scale_inputs";

/// Whether the node reads any operand through a view or writes Y permuted.
bool hasFoldedLayout(const AttributeMap& attrs);

/// The input indices whose values the layout and the scale need while planning (Reshape and Expand
/// targets, scale inputs).
std::vector<int64_t> attentionInputsNeeded(const AttributeMap& attrs);

/// The view attribute of operand slot 0 (Q), 1 (Kt) or 2 (V).
std::string_view attentionViewAttribute(size_t slot);

enum class ViewStepKind : int64_t {
  kTranspose = 1,
  kReshape = 2,
  kGather = 3,
  kSqueeze = 4,
  kUnsqueeze = 5,
  kExpand = 6
};

/// Appends one step to a program.
void appendViewStep(std::vector<int64_t>& program, ViewStepKind kind, const std::vector<int64_t>& args);

struct ViewMode {
  int64_t size = 1;
  int64_t stride = 0;
};

/// A strided view of a dense tensor: element (i0, i1, ...) is at offset + sum of mode index * stride, where
/// each logical index splits over its dim's modes (outermost first).
struct StridedView {
  std::vector<std::vector<ViewMode>> dims;
  int64_t offset = 0;

  static StridedView dense(const std::vector<int64_t>& shape);
  std::vector<int64_t> sizes() const;
  /// Every mode of every dim, outermost first: the view's elements in order.
  std::vector<ViewMode> modes() const;
  /// Dim d as one (size, stride) pair, when its modes merge into one.
  std::optional<ViewMode> single(size_t d) const;
};

/// `view` with its dims reordered: dim i of the result is dim perm[i] of `view` (a Transpose).
StridedView transposedView(const StridedView& view, const std::vector<int64_t>& perm);

/// The values of the node's inputs known while planning (a Reshape's target), by input index; null when not
/// known.
using KnownInput = std::function<const Tensor*(int64_t input)>;

/// The view a program makes of a dense tensor of `shape`. Errors (no node name): a malformed program, a
/// target that is not known or does not fit, a Reshape no strided view expresses.
Result<StridedView> applyViewSteps(const std::vector<int64_t>& shape, std::span<const int64_t> program,
                                   const KnownInput& known);

/// The views of lowp.Attention's Q, Kt and V (slots 0-2) over the given input shapes, and Y's permutation
/// (empty: none).
struct AttentionLayout {
  StridedView operand[3];
  std::vector<int64_t> yPerm;
};
Result<AttentionLayout> attentionLayout(const AttributeMap& attrs, const std::vector<int64_t> shapes[3],
                                        const KnownInput& known);

/// The product of the scale attribute and the scale inputs' values.
Result<float> attentionScale(const AttributeMap& attrs, const KnownInput& known);

/// Runs fn(begin, end) over [0, n) in chunks of at least `grain`, possibly on several threads (the kernels'
/// ParallelFor).
using ParallelRange =
    std::function<void(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn)>;

/// lowp.Attention's Q, Kt and V as dense tensors (the inputs themselves, or copies gathered through their
/// views), its scale, and Y's permutation: what the host kernels compute from. `inputs` are the node's input
/// tensors in host memory.
/// Kt and V whose innermost leading dim broadcasts (stride 0) where Q's does not, as grouped key/value heads
/// do, are gathered once with that dim of one element: kvGroup query heads then read one key/value head
/// (attentionOperandMismatch in attention.h).
struct DenseAttention {
  Tensor q, kt, v;
  int64_t kvGroup = 1;
  float scale = 1.0f;
  std::vector<int64_t> yPerm;
  ParallelRange parallel;  ///< the threads the operands were gathered on, for writing Y permuted
  Tensor y;                ///< room for Y in its canonical order when it is written permuted
};
/// Fills `dense` for `inputs`. Gathered operands reuse `dense`'s tensors where their type and shape still
/// fit, so a kernel that keeps `dense` between runs allocates (and faults in) no new memory.
Status denseAttention(const AttributeMap& attrs, const std::vector<const Tensor*>& inputs,
                      const ParallelRange& parallel, DenseAttention& dense);

/// `t` when it holds `type` of `shape` already, else a new tensor of them (scratch kept between runs).
Tensor& reuseTensor(Tensor& t, DataType type, const std::vector<int64_t>& shape);

/// `view`'s elements of `base` (any type) into the dense `out` of the view's sizes, copied on the threads of
/// `parallel` if given.
void gatherView(const Tensor& base, const StridedView& view, Tensor& out, const ParallelRange& parallel = {});

/// Writes dense `y` (the canonical [..., Sq, Dv] result) into `out` transposed by `perm`.
void scatterPermuted(const Tensor& y, const std::vector<int64_t>& perm, Tensor& out,
                     const ParallelRange& parallel = {});

}  // namespace lowp::ir::ops
