// Strided views of lowp.Attention's operands (attention_layout.h).
#include "ir/ops/attention_layout.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "ir/data_type.h"
#include "ir/ops/reduction_axes.h"
#include "ir/ops/tensor_shapes.h"

namespace lowp::ir::ops {
namespace {

Status malformed(const std::string& what) {
  return Status(StatusCode::kInvalidArgument, "malformed attention view: " + what);
}

/// Regroups the view's modes into dims of `target` sizes (same element count).
Result<StridedView> reshapeView(const StridedView& view, const std::vector<int64_t>& target) {
  StridedView out;
  out.offset = view.offset;
  int64_t count = 1;
  for (int64_t t : target) count *= t;
  if (count == 0) {  // nothing is read: any strides do
    out = StridedView::dense(target);
    out.offset = view.offset;
    return out;
  }
  std::vector<ViewMode> modes;
  for (const ViewMode& m : view.modes()) {
    if (m.size != 1) modes.push_back(m);
  }
  size_t next = 0;
  for (int64_t t : target) {
    std::vector<ViewMode> dim;
    int64_t have = 1;
    while (have < t) {
      if (next == modes.size()) return malformed("a Reshape target larger than its input");
      const ViewMode m = modes[next];
      if (have * m.size <= t) {  // the whole mode joins this dim
        dim.push_back(m);
        have *= m.size;
        ++next;
        continue;
      }
      // The mode's outer part completes this dim; its inner part stays for the next.
      const int64_t want = t / have;
      if (t % have != 0 || m.size % want != 0) {
        return Status(StatusCode::kUnsupported,
                      "a Reshape to " + formatSizes(target) + " cuts a strided dim no view can express");
      }
      const int64_t inner = m.size / want;
      dim.push_back({want, m.stride * inner});
      modes[next] = {inner, m.stride};
      have = t;
    }
    if (dim.empty()) dim.push_back({1, 0});
    out.dims.push_back(std::move(dim));
  }
  if (next != modes.size()) return malformed("a Reshape target smaller than its input");
  return out;
}

/// The view broadcast with `target` (ONNX's Expand, aligned from the right): a dim of 1 the target widens
/// repeats its element (stride 0), and dims the target adds in front do the same.
Result<StridedView> expandedView(const StridedView& view, const std::vector<int64_t>& target) {
  const std::vector<int64_t> sizes = view.sizes();
  const size_t rank = std::max(sizes.size(), target.size());
  StridedView out;
  out.offset = view.offset;
  for (size_t d = 0; d < rank; ++d) {
    const bool fromView = d + sizes.size() >= rank;
    const bool fromTarget = d + target.size() >= rank;
    const int64_t have = fromView ? sizes[d + sizes.size() - rank] : 1;
    const int64_t want = fromTarget ? target[d + target.size() - rank] : 1;
    if (want == have || want == 1) {
      out.dims.push_back(fromView ? view.dims[d + sizes.size() - rank] : std::vector<ViewMode>{{1, 0}});
    } else if (have == 1) {
      out.dims.push_back({{want, 0}});
    } else {
      return Status(StatusCode::kInvalidArgument,
                    "Expand of " + formatSizes(sizes) + " to " + formatSizes(target) + " does not broadcast");
    }
  }
  return out;
}

Result<std::vector<int64_t>> knownInts(const KnownInput& known, int64_t input) {
  const Tensor* t = known ? known(input) : nullptr;
  if (t == nullptr || t->data() == nullptr) {
    return Status(StatusCode::kUnsupported, "the target of a folded Reshape or Expand (input " +
                                                std::to_string(input) + ") is not known");
  }
  auto ints = tensorInts(*t);
  if (!ints) return malformed("a Reshape or Expand target of type " + t->describe());
  return *ints;
}

}  // namespace

std::string_view attentionViewAttribute(size_t slot) {
  switch (slot) {
    case 0:
      return kAttentionQView;
    case 1:
      return kAttentionKtView;
    default:
      return kAttentionVView;
  }
}

bool hasFoldedLayout(const AttributeMap& attrs) {
  return attrs.has(kAttentionQView) || attrs.has(kAttentionKtView) || attrs.has(kAttentionVView) ||
         attrs.has(kAttentionYPerm);
}

std::vector<int64_t> attentionInputsNeeded(const AttributeMap& attrs) {
  std::vector<int64_t> needed = attrs.getInts(kAttentionScaleInputs);
  for (size_t slot = 0; slot < 3; ++slot) {
    const std::vector<int64_t> program = attrs.getInts(attentionViewAttribute(slot));
    for (size_t at = 0; at + 1 < program.size();
         at += 2 + static_cast<size_t>(std::max<int64_t>(program[at + 1], 0))) {
      const auto kind = static_cast<ViewStepKind>(program[at]);
      if ((kind == ViewStepKind::kReshape || kind == ViewStepKind::kExpand) && at + 2 < program.size())
        needed.push_back(program[at + 2]);
    }
  }
  return needed;
}

void appendViewStep(std::vector<int64_t>& program, ViewStepKind kind, const std::vector<int64_t>& args) {
  program.push_back(static_cast<int64_t>(kind));
  program.push_back(static_cast<int64_t>(args.size()));
  program.insert(program.end(), args.begin(), args.end());
}

StridedView StridedView::dense(const std::vector<int64_t>& shape) {
  StridedView v;
  v.dims.resize(shape.size());
  int64_t stride = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    v.dims[d] = {{shape[d], stride}};
    stride *= shape[d];
  }
  return v;
}

std::vector<int64_t> StridedView::sizes() const {
  std::vector<int64_t> s;
  for (const auto& dim : dims) {
    int64_t n = 1;
    for (const ViewMode& m : dim) n *= m.size;
    s.push_back(n);
  }
  return s;
}

StridedView transposedView(const StridedView& view, const std::vector<int64_t>& perm) {
  StridedView t;
  t.offset = view.offset;
  for (int64_t p : perm) t.dims.push_back(view.dims[static_cast<size_t>(p)]);
  return t;
}

std::vector<ViewMode> StridedView::modes() const {
  std::vector<ViewMode> all;
  for (const auto& dim : dims) all.insert(all.end(), dim.begin(), dim.end());
  return all;
}

std::optional<ViewMode> StridedView::single(size_t d) const {
  ViewMode merged{1, 0};
  for (const ViewMode& m : dims[d]) {
    if (m.size == 1) continue;
    if (merged.size == 1) {
      merged = m;
    } else if (merged.stride == m.stride * m.size) {
      merged = {merged.size * m.size, m.stride};
    } else {
      return std::nullopt;
    }
  }
  if (merged.size == 1) merged.stride = 1;
  return merged;
}

Result<StridedView> applyViewSteps(const std::vector<int64_t>& shape, std::span<const int64_t> program,
                                   const KnownInput& known) {
  StridedView view = StridedView::dense(shape);
  size_t at = 0;
  while (at < program.size()) {
    if (at + 2 > program.size()) return malformed("a step without its argument count");
    const auto kind = static_cast<ViewStepKind>(program[at]);
    const int64_t n = program[at + 1];
    if (n < 0 || at + 2 + static_cast<size_t>(n) > program.size()) return malformed("a step past the end");
    const std::vector<int64_t> args(program.begin() + static_cast<std::ptrdiff_t>(at + 2),
                                    program.begin() + static_cast<std::ptrdiff_t>(at + 2 + n));
    at += 2 + static_cast<size_t>(n);
    const std::vector<int64_t> sizes = view.sizes();
    const auto rank = static_cast<int64_t>(sizes.size());
    switch (kind) {
      case ViewStepKind::kTranspose: {
        LOWP_ASSIGN_OR_RETURN(const std::vector<int64_t> perm, transposePerm(rank, args));
        view = transposedView(view, perm);
        break;
      }
      case ViewStepKind::kReshape: {
        if (n != 2) return malformed("a Reshape step of " + std::to_string(n) + " arguments");
        LOWP_ASSIGN_OR_RETURN(const std::vector<int64_t> target, knownInts(known, args[0]));
        LOWP_ASSIGN_OR_RETURN(const Shape out, reshapeShape(Shape::fromSizes(sizes), target, args[1] != 0));
        if (!out.isStatic()) return malformed("a Reshape target that leaves a dim unknown");
        LOWP_ASSIGN_OR_RETURN(view, reshapeView(view, out.sizes()));
        break;
      }
      case ViewStepKind::kGather: {
        if (n != 2) return malformed("a Gather step of " + std::to_string(n) + " arguments");
        const auto axis = normalizeAxis(args[0], rank);
        if (!axis) return malformed("a Gather axis out of range");
        const int64_t size = sizes[static_cast<size_t>(*axis)];
        const int64_t index = args[1] < 0 ? args[1] + size : args[1];
        if (index < 0 || index >= size) {
          return Status(
              StatusCode::kInvalidArgument,
              "index " + std::to_string(args[1]) + " is out of range for a dim of " + std::to_string(size));
        }
        // The index splits over the dim's modes, innermost fastest.
        const auto& dim = view.dims[static_cast<size_t>(*axis)];
        int64_t rest = index;
        for (size_t m = dim.size(); m-- > 0;) {
          view.offset += rest % dim[m].size * dim[m].stride;
          rest /= dim[m].size;
        }
        view.dims.erase(view.dims.begin() + *axis);
        break;
      }
      case ViewStepKind::kSqueeze:
      case ViewStepKind::kUnsqueeze: {
        const bool squeeze = kind == ViewStepKind::kSqueeze;
        const int64_t outRank = squeeze ? rank - n : rank + n;
        LOWP_ASSIGN_OR_RETURN(const std::vector<int64_t> axes,
                              normalizeAxisList(args, squeeze ? rank : outRank, "axes"));
        // Only dims of size 1 come or go: the others keep their modes.
        StridedView s;
        s.offset = view.offset;
        size_t from = 0;
        for (int64_t d = 0; squeeze && d < rank; ++d) {
          const bool gone = std::count(axes.begin(), axes.end(), d) > 0;
          if (gone && sizes[static_cast<size_t>(d)] != 1) {
            return Status(StatusCode::kInvalidArgument,
                          "Squeeze of a dim of size " + std::to_string(sizes[static_cast<size_t>(d)]));
          }
          if (!gone) s.dims.push_back(view.dims[static_cast<size_t>(d)]);
        }
        for (int64_t d = 0; !squeeze && d < outRank; ++d) {
          if (std::count(axes.begin(), axes.end(), d) > 0) {
            s.dims.push_back({{1, 0}});
          } else {
            s.dims.push_back(view.dims[from++]);
          }
        }
        view = std::move(s);
        break;
      }
      case ViewStepKind::kExpand: {
        if (n != 1) return malformed("an Expand step of " + std::to_string(n) + " arguments");
        LOWP_ASSIGN_OR_RETURN(const std::vector<int64_t> target, knownInts(known, args[0]));
        LOWP_ASSIGN_OR_RETURN(view, expandedView(view, target));
        break;
      }
      default:
        return malformed("an unknown step kind " + std::to_string(static_cast<int64_t>(kind)));
    }
  }
  return view;
}

Result<AttentionLayout> attentionLayout(const AttributeMap& attrs, const std::vector<int64_t> shapes[3],
                                        const KnownInput& known) {
  AttentionLayout layout;
  for (size_t slot = 0; slot < 3; ++slot) {
    const std::vector<int64_t> program = attrs.getInts(attentionViewAttribute(slot));
    auto view = applyViewSteps(shapes[slot], program, known);
    if (!view) {
      return Status(view.status().code(), std::string(slot == 0   ? "Q"
                                                      : slot == 1 ? "Kt"
                                                                  : "V") +
                                              ": " + view.status().message());
    }
    layout.operand[slot] = std::move(view).value();
  }
  layout.yPerm = attrs.getInts(kAttentionYPerm);
  if (!layout.yPerm.empty()) {
    const auto rank = static_cast<int64_t>(layout.operand[0].dims.size());
    auto perm = transposePerm(rank, layout.yPerm);
    if (!perm) return Status(perm.status().code(), "y_perm: " + perm.status().message());
  }
  return layout;
}

Result<float> attentionScale(const AttributeMap& attrs, const KnownInput& known) {
  float scale = attrs.getFloat("scale", 1.0f);
  for (int64_t input : attrs.getInts(kAttentionScaleInputs)) {
    const Tensor* t = known ? known(input) : nullptr;
    if (t == nullptr || t->data() == nullptr || t->elementCount() != 1) {
      return Status(StatusCode::kUnsupported,
                    "scale input " + std::to_string(input) + " is not a known value of one element");
    }
    const DataType type = t->type();
    if (type != DataType::kFloat32 && type != DataType::kFloat64 && type != DataType::kFloat16 &&
        type != DataType::kBFloat16) {
      return Status(StatusCode::kInvalidArgument,
                    "scale input " + std::to_string(input) + " is " + t->describe() + ", not a float");
    }
    scale *= static_cast<float>(elementAsDouble(*t, 0));
  }
  return scale;
}

Tensor& reuseTensor(Tensor& t, DataType type, const std::vector<int64_t>& shape) {
  if (t.type() != type || t.shape() != shape || t.data() == nullptr) t = Tensor(type, shape);
  return t;
}

Status denseAttention(const AttributeMap& attrs, const std::vector<const Tensor*>& inputs,
                      const ParallelRange& parallel, DenseAttention& dense) {
  const KnownInput known = [&](int64_t i) -> const Tensor* {
    return i >= 0 && static_cast<size_t>(i) < inputs.size() ? inputs[static_cast<size_t>(i)] : nullptr;
  };
  dense.parallel = parallel;
  LOWP_ASSIGN_OR_RETURN(dense.scale, attentionScale(attrs, known));
  Tensor* operands[3] = {&dense.q, &dense.kt, &dense.v};
  if (!hasFoldedLayout(attrs)) {
    for (size_t slot = 0; slot < 3; ++slot) {
      const Tensor& t = *inputs[slot];
      *operands[slot] = Tensor::view(t.type(), t.shape(), const_cast<void*>(t.data()));
    }
    dense.yPerm.clear();
    dense.kvGroup = 1;
    return {};
  }
  const std::vector<int64_t> shapes[3] = {inputs[0]->shape(), inputs[1]->shape(), inputs[2]->shape()};
  LOWP_ASSIGN_OR_RETURN(AttentionLayout layout, attentionLayout(attrs, shapes, known));
  dense.kvGroup = 1;
  const size_t rank = layout.operand[0].dims.size();
  if (rank >= 3 && layout.operand[1].dims.size() == rank && layout.operand[2].dims.size() == rank) {
    const size_t lead = rank - 3;
    const auto q = layout.operand[0].single(lead);
    const auto kt = layout.operand[1].single(lead);
    const auto v = layout.operand[2].single(lead);
    if (q && kt && v && q->stride != 0 && q->size > 1 && kt->size == q->size && v->size == q->size &&
        kt->stride == 0 && v->stride == 0) {
      dense.kvGroup = q->size;
      layout.operand[1].dims[lead] = {{1, 0}};
      layout.operand[2].dims[lead] = {{1, 0}};
    }
  }
  for (size_t slot = 0; slot < 3; ++slot) {
    const StridedView& view = layout.operand[slot];
    gatherView(*inputs[slot], view, reuseTensor(*operands[slot], inputs[slot]->type(), view.sizes()),
               parallel);
  }
  dense.yPerm = layout.yPerm;
  return {};
}

namespace {

/// dst[i * dstStride] = src[i * srcStride] for i in [0, n), elements of `bytes` bytes.
void copyStrided(std::byte* dst, int64_t dstStride, const std::byte* src, int64_t srcStride, int64_t n,
                 size_t bytes) {
  auto copy = [&]<typename E>() {
    auto* d = reinterpret_cast<E*>(dst);
    const auto* s = reinterpret_cast<const E*>(src);
    for (int64_t i = 0; i < n; ++i) d[i * dstStride] = s[i * srcStride];
  };
  switch (bytes) {
    case 1:
      copy.template operator()<uint8_t>();
      break;
    case 2:
      copy.template operator()<uint16_t>();
      break;
    case 4:
      copy.template operator()<uint32_t>();
      break;
    case 8:
      copy.template operator()<uint64_t>();
      break;
    default:
      for (int64_t i = 0; i < n; ++i) {
        std::memcpy(dst + static_cast<size_t>(i * dstStride) * bytes,
                    src + static_cast<size_t>(i * srcStride) * bytes, bytes);
      }
  }
}

}  // namespace

void gatherView(const Tensor& base, const StridedView& view, Tensor& out, const ParallelRange& parallel) {
  const auto bytes = static_cast<size_t>(dataTypeInfo(base.type()).storageBytes);
  const std::vector<ViewMode> modes = view.modes();
  const int64_t count = out.elementCount();
  if (count == 0) return;
  const auto* from = static_cast<const std::byte*>(base.data());
  auto* to = static_cast<std::byte*>(out.data());
  if (modes.empty()) {
    std::memcpy(to, from + static_cast<size_t>(view.offset) * bytes, bytes);
    return;
  }
  // The output is dense in the modes' order. The innermost loop runs along the mode the source reads
  // contiguously (its stride 1), else along the last mode: reads stay sequential when the view
  // transposes, and the writes, strided then, stay within one small block of the output.
  std::vector<int64_t> outStride(modes.size());
  int64_t step = 1;
  for (size_t m = modes.size(); m-- > 0;) {
    outStride[m] = step;
    step *= modes[m].size;
  }
  size_t inner = modes.size() - 1;
  if (modes[inner].stride != 1) {
    for (size_t m = 0; m < modes.size(); ++m) {
      if (modes[m].stride == 1 && modes[m].size > 1) inner = m;
    }
  }
  const int64_t run = modes[inner].size;
  const int64_t runs = count / run;
  auto copyRuns = [&](int64_t first, int64_t last) {
    // The odometer of the other modes at run `first`, innermost of them fastest.
    std::vector<int64_t> index(modes.size(), 0);
    int64_t rest = first;
    for (size_t m = modes.size(); m-- > 0;) {
      if (m == inner) continue;
      index[m] = rest % modes[m].size;
      rest /= modes[m].size;
    }
    for (int64_t r = first; r < last; ++r) {
      int64_t source = view.offset;
      int64_t target = 0;
      for (size_t m = 0; m < modes.size(); ++m) {
        source += index[m] * modes[m].stride;
        target += index[m] * outStride[m];
      }
      copyStrided(to + static_cast<size_t>(target) * bytes, outStride[inner],
                  from + static_cast<size_t>(source) * bytes, modes[inner].stride, run, bytes);
      for (size_t m = modes.size(); m-- > 0;) {
        if (m == inner) continue;
        if (++index[m] < modes[m].size) break;
        index[m] = 0;
      }
    }
  };
  if (parallel) {
    parallel(runs, std::max<int64_t>(1, 4096 / run), copyRuns);
  } else {
    copyRuns(0, runs);
  }
}

void scatterPermuted(const Tensor& y, const std::vector<int64_t>& perm, Tensor& out,
                     const ParallelRange& parallel) {
  gatherView(y, transposedView(StridedView::dense(y.shape()), perm), out, parallel);
}

}  // namespace lowp::ir::ops
