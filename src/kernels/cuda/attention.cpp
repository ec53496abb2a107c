// lowp.Attention on the GPU (device code in attention.cu):
//   {f16,bf16}-attention-flash-cuda   tensor cores in one pass over the keys, the scores in registers
//                                     (attention_flash.cu); D = Dv in {32, 64, 128}, any Sk
//   {f16,bf16}-attention-wmma-cuda    tensor cores, fp32 accumulation; D and Dv in {32, 64, 128}, Sk <= 512
//   {f16,bf16}-attention-cudnn-e<N>   cuDNN's fused attention (the graph API's SDPA operation, through
//                                     cudnn_graph.h), the N-th engine configuration its heuristic offers
//                                     (N < 4); no mask, softcap or causal; rows of D and Dv contiguous and
//                                     16-byte aligned, the leading dims merging into cuDNN's [batch, heads]
//                                     (grouped key/value heads as its grouped-query form)
//   {f32,f16,bf16}-attention-cuda     CUDA cores in fp32, any sizes with D + Dv <= 2048 (so fp32 engines and
//                                     the head sizes the tensor-core kernel declines have a kernel)
//   {f32,f16,bf16}-attention-cublaslt the unfused arithmetic in one layer: S = scale * Q . Kt and
//                                     Y = P . V as strided batches of cuBLASLt products (fp32
//                                     accumulation; fp32 with plain fp32 arithmetic), P = softmax(S) by
//                                     softmax.cu between them; S and P are stored in the tensors' type, as
//                                     the MatMul, Softmax, MatMul the layer was fused from would store
//                                     them, at the end of the CUDA workspace (cuBLASLt gets the rest). No
//                                     mask, softcap or causal; declined where S and P do not fit in the
//                                     workspace.
// The mask may broadcast along any dim (strides of 0). The fused kernels read operands through the views
// of attention_layout.h and write Y permuted; the composed one takes dense operands only.
// Tests: tests/gpu/test_attention.cpp.
#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/ops/attention.h"
#include "ir/ops/attention_layout.h"
#include "ir/ops/fused.h"
#include "kernels/cuda/cublaslt_plan.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/cudnn_graph.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

/// How many of the engine configurations cuDNN offers for an attention are tactics ("-e<N>").
constexpr int kSdpaEngineTactics = 4;

/// Strides of one operand from its view: each dim must be one (size, stride) pair.
std::optional<AttentionStrides> stridesOf(const ir::ops::StridedView& view) {
  AttentionStrides o;
  const size_t r = view.dims.size();
  std::vector<int64_t> stride(r);
  for (size_t d = 0; d < r; ++d) {
    const auto mode = view.single(d);
    if (!mode) return std::nullopt;
    stride[d] = mode->stride;
  }
  for (size_t d = 0; d + 2 < r; ++d) o.lead[d] = stride[d];
  o.row = stride[r - 2];
  o.col = stride[r - 1];
  return o;
}

/// The sizes and strides of a node's Q, Kt, V, Y (and mask) as the launchers read them, and the offsets of
/// Q, Kt and V in their inputs (in elements); an error when they do not fit.
struct AttentionOperands {
  AttentionShape shape;
  int64_t offset[3] = {};
};

Result<AttentionOperands> operandsOf(const KernelContext& ctx) {
  for (size_t i = 0; i < 3; ++i) {
    if (!ctx.hasInput(i)) return ctx.invalid("input " + std::to_string(i) + " is missing");
  }
  const ir::ops::KnownInput known = [&](int64_t i) {
    return i >= 0 ? ctx.hostInput(static_cast<size_t>(i)) : nullptr;
  };
  AttentionOperands operands;
  AttentionShape& s = operands.shape;
  const std::vector<int64_t> bases[3] = {ctx.input(ir::ops::kAttentionQ).shape(),
                                         ctx.input(ir::ops::kAttentionKt).shape(),
                                         ctx.input(ir::ops::kAttentionV).shape()};
  auto layout = ir::ops::attentionLayout(ctx.attrs(), bases, known);
  if (!layout) return forNode(ctx, layout.status());
  std::vector<int64_t> sizes[3];
  for (size_t slot = 0; slot < 3; ++slot) {
    sizes[slot] = layout->operand[slot].sizes();
    operands.offset[slot] = layout->operand[slot].offset;
  }
  const std::vector<int64_t>& q = sizes[0];
  const std::vector<int64_t>& kt = sizes[1];
  const std::vector<int64_t>& v = sizes[2];
  if (auto mismatch = ir::ops::attentionOperandMismatch(q, kt, v)) return ctx.invalid(*mismatch);
  const size_t r = q.size();
  if (r - 2 > static_cast<size_t>(kMaxBroadcastRank)) {
    return ctx.unsupported("more than " + std::to_string(kMaxBroadcastRank) + " batch dims");
  }
  AttentionStrides* strides[3] = {&s.q, &s.kt, &s.v};
  for (size_t slot = 0; slot < 3; ++slot) {
    const auto o = stridesOf(layout->operand[slot]);
    if (!o) return ctx.unsupported("an operand view whose dims are not one stride each");
    *strides[slot] = *o;
  }
  s.heads = 1;
  s.leadRank = static_cast<int>(r - 2);
  for (size_t i = 0; i + 2 < r; ++i) {
    s.lead[i] = q[i];
    s.heads *= q[i];
  }
  s.sq = q[r - 2];
  s.d = q[r - 1];
  s.sk = kt[r - 1];
  s.dv = v[r - 1];
  auto scale = ir::ops::attentionScale(ctx.attrs(), known);
  if (!scale) return forNode(ctx, scale.status());
  s.scale = *scale;
  s.zeroMaskedRows = ir::ops::attentionZeroesMaskedRows(ctx.attrs());
  s.softcap = ir::ops::attentionSoftcap(ctx.attrs());
  s.causal = ir::ops::attentionIsCausal(ctx.attrs());
  // Y [..., Sq, Dv], written transposed by y_perm into the dense output.
  std::vector<int64_t> canonical(q.begin(), q.end() - 1);
  canonical.push_back(s.dv);
  std::vector<int64_t> perm = layout->yPerm;
  if (perm.empty()) {
    for (size_t d = 0; d < r; ++d) perm.push_back(static_cast<int64_t>(d));
  }
  std::vector<int64_t> yStride(r);
  int64_t step = 1;
  for (size_t k = r; k-- > 0;) {
    yStride[static_cast<size_t>(perm[k])] = step;
    step *= canonical[static_cast<size_t>(perm[k])];
  }
  for (size_t d = 0; d + 2 < r; ++d) s.y.lead[d] = yStride[d];
  s.y.row = yStride[r - 2];
  s.y.col = yStride[r - 1];
  if (ctx.hasInput(ir::ops::kAttentionMask)) {
    const Tensor& mask = ctx.input(ir::ops::kAttentionMask);
    std::vector<int64_t> scores(q.begin(), q.end() - 1);
    scores.push_back(s.sk);
    const std::vector<int64_t>& m = mask.shape();
    bool ok = m.size() <= r;
    std::vector<int64_t> full(r - std::min(r, m.size()), 1);
    full.insert(full.end(), m.begin(), m.end());
    for (size_t d = 0; ok && d < r; ++d) ok = full[d] == 1 || full[d] == scores[d];
    if (!ok) {
      return ctx.invalid("mask " + ir::formatSizes(m) + " does not broadcast into the scores " +
                         ir::formatSizes(scores));
    }
    std::vector<int64_t> stride(r, 0);
    int64_t maskStep = 1;
    for (size_t d = r; d-- > 0;) {
      stride[d] = full[d] == 1 ? 0 : maskStep;
      maskStep *= full[d];
    }
    s.mask = mask.data();
    for (size_t d = 0; d + 2 < r; ++d) s.maskLeadStride[d] = stride[d];
    s.maskRowStride = stride[r - 2];
    s.maskColStride = stride[r - 1];
  }
  return operands;
}

/// Whether rows of `cols` elements at `data` (`leadRank` leading dims of strides `leadStrides`) can move 16
/// bytes at a time: `contiguous` (the stride along the rows' elements) is 1, and every row starts 16-byte
/// aligned.
bool vectorRows(const void* data, const int64_t* leadStrides, int leadRank, int64_t rowStride,
                int64_t contiguous, int64_t cols, size_t elementBytes) {
  const auto elementsPer16 = static_cast<int64_t>(16 / elementBytes);
  bool ok = contiguous == 1 && cols % elementsPer16 == 0 && rowStride % elementsPer16 == 0 &&
            reinterpret_cast<uintptr_t>(data) % 16 == 0;
  for (int d = 0; d < leadRank; ++d) ok = ok && leadStrides[d] % elementsPer16 == 0;
  return ok;
}

/// Query heads that share their keys and values (grouped heads: K and V repeat along the innermost leading
/// dim, stride 0) become rows of one head, so that a kernel reads each key once for the whole group: where
/// a head has one query row (a generated token's), or where the group's rows follow each other in Q, Y
/// and the mask and no causal diagonal depends on the row.
void foldGroupsIntoRows(AttentionShape& s) {
  if (s.leadRank == 0) return;
  const int g = s.leadRank - 1;
  const int64_t groups = s.lead[g];
  if (groups <= 1 || s.kt.lead[g] != 0 || s.v.lead[g] != 0) return;
  if (s.sq == 1) {
    s.q.row = s.q.lead[g];
    s.y.row = s.y.lead[g];
    s.maskRowStride = s.maskLeadStride[g];
    s.causal = false;  // the one row sees every key
  } else if (s.causal || s.q.lead[g] != s.sq * s.q.row || s.y.lead[g] != s.sq * s.y.row ||
             s.maskLeadStride[g] != s.sq * s.maskRowStride) {
    return;
  }
  s.sq *= groups;
  s.heads /= groups;
  s.leadRank = g;
  s.lead[g] = 0;
  for (AttentionStrides* o : {&s.q, &s.kt, &s.v, &s.y}) o->lead[g] = 0;
  s.maskLeadStride[g] = 0;
}

/// Input `slot`'s data from `offset` elements on.
const void* operandData(const KernelContext& ctx, size_t slot, int64_t offset) {
  const Tensor& t = ctx.input(slot);
  return static_cast<const std::byte*>(t.data()) + offset * ir::dataTypeInfo(t.type()).storageBytes;
}

/// Q, Kt and V where the layer reads them in its inputs.
std::array<const void*, 3> operandPointers(const KernelContext& ctx, const AttentionOperands& operands) {
  return {operandData(ctx, ir::ops::kAttentionQ, operands.offset[0]),
          operandData(ctx, ir::ops::kAttentionKt, operands.offset[1]),
          operandData(ctx, ir::ops::kAttentionV, operands.offset[2])};
}

/// Y of no keys: softmax over no keys weighs no rows of V, the reference's sum over an empty range.
Status writeZeros(const KernelContext& ctx, const CudaContext& cuda, Tensor& y) {
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, cudaMemsetAsync(y.data(), 0, static_cast<size_t>(y.byteSize()), cuda.stream));
  return {};
}

Status checkTypes(const KernelContext& ctx, const Tensor& y) {
  for (size_t i = 0; i <= ir::ops::kAttentionMask && i < ctx.inputCount(); ++i) {
    if (ctx.hasInput(i) && ctx.input(i).type() != y.type()) {
      return ctx.invalid("input " + std::to_string(i) + " is " + ctx.input(i).describe() + ", the output " +
                         y.describe());
    }
  }
  return {};
}

/// The fused kernels: on CUDA cores, on tensor cores with the scores in shared memory (wmma), on tensor
/// cores in one pass with the scores in registers (flash).
enum class Fused { kSimt, kWmma, kFlash };

template <Fused kKind>
Status attentionKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, y, "output"));
  LOWP_RETURN_IF_ERROR(checkTypes(ctx, y));
  LOWP_ASSIGN_OR_RETURN(const AttentionOperands operands, operandsOf(ctx));
  const AttentionShape& s = operands.shape;
  if (y.elementCount() == 0) return {};
  if (s.sk == 0) return writeZeros(ctx, *cuda, y);
  const auto [q, kt, v] = operandPointers(ctx, operands);
  AttentionShape vectors = s;
  if constexpr (kKind == Fused::kFlash) foldGroupsIntoRows(vectors);
  const auto bytes = static_cast<size_t>(ir::dataTypeInfo(y.type()).storageBytes);
  const int rank = vectors.leadRank;
  vectors.vectorQ = vectorRows(q, vectors.q.lead, rank, vectors.q.row, vectors.q.col, s.d, bytes);
  vectors.vectorKt = vectorRows(kt, vectors.kt.lead, rank, vectors.kt.col, vectors.kt.row, s.d, bytes);
  vectors.vectorV = vectorRows(v, vectors.v.lead, rank, vectors.v.row, vectors.v.col, s.dv, bytes);
  vectors.vectorY = vectorRows(y.data(), vectors.y.lead, rank, vectors.y.row, vectors.y.col, s.dv, bytes);
  if (vectors.mask != nullptr) {
    vectors.vectorMask = vectorRows(vectors.mask, vectors.maskLeadStride, rank, vectors.maskRowStride,
                                    vectors.maskColStride, s.sk, bytes);
  }
  if constexpr (kKind == Fused::kFlash) {
    if (!attentionFlashHeadSize(s.d) || s.dv != s.d) {
      return ctx.unsupported("the one-pass tensor-core attention takes D = Dv of 32, 64 or 128");
    }
    const AttentionScratch scratch{cuda->workspace, cuda->workspaceBytes, cuda->multiprocessors};
    LOWP_CUDA_RETURN_IF_ERROR_NODE(
        ctx, launchAttentionFlash(type, q, kt, v, y.data(), vectors, scratch, cuda->stream));
  } else if constexpr (kKind == Fused::kWmma) {
    if (!attentionTensorCoreHeadSize(s.d) || !attentionTensorCoreHeadSize(s.dv) ||
        s.sk > kAttentionTensorCoreMaxSk) {
      return ctx.unsupported("the tensor-core attention takes D and Dv of 32, 64 or 128 and Sk up to 512");
    }
    LOWP_CUDA_RETURN_IF_ERROR_NODE(
        ctx, launchAttentionTensorCore(type, q, kt, v, y.data(), vectors, cuda->stream));
  } else {
    if (s.d + s.dv > kAttentionSimtMaxWidth) {
      return ctx.unsupported("D + Dv = " + std::to_string(s.d + s.dv) + " is over " +
                             std::to_string(kAttentionSimtMaxWidth));
    }
    LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchAttentionSimt(type, q, kt, v, y.data(), s, cuda->stream));
  }
  return {};
}

/// cuDNN's fused attention (the graph API's SDPA operation) for one node: the operands as cuDNN's
/// [b, h, s, d] tensors, and the plan of one of the engine configurations cuDNN offers for them.
class SdpaPlan {
 public:
  /// A tensor's dims and strides, [b, h, rows, cols].
  struct Operand {
    std::array<int64_t, 4> dims{};
    std::array<int64_t, 4> strides{};
    bool operator==(const Operand& o) const = default;
  };
  struct Key {
    DataType type = DataType::kUndefined;
    std::array<Operand, 4> operands;  ///< Q, K, V, Y
    size_t workspaceBytes = 0;
    bool operator==(const Key& o) const = default;
  };

  bool fits(const Key& key) const { return key == key_; }

  Status create(const CudaContext& cuda, const Key& key, int engine) {
    using cudnn_graph::makeTensor;
    key_ = key;
    const cudnnDataType_t type = cudnnTypeOf(key.type);
    auto tensor = [&](int64_t id) {
      const Operand& o = key.operands[static_cast<size_t>(id - kQ)];
      return makeTensor(id, type, {o.dims.begin(), o.dims.end()}, {o.strides.begin(), o.strides.end()});
    };
    LOWP_ASSIGN_OR_RETURN(cudnn_graph::Descriptor q, tensor(kQ));
    LOWP_ASSIGN_OR_RETURN(cudnn_graph::Descriptor k, tensor(kK));
    LOWP_ASSIGN_OR_RETURN(cudnn_graph::Descriptor v, tensor(kV));
    LOWP_ASSIGN_OR_RETURN(cudnn_graph::Descriptor y, tensor(kY));
    LOWP_ASSIGN_OR_RETURN(
        cudnn_graph::Descriptor scale,
        makeTensor(kScale, CUDNN_DATA_FLOAT, {1, 1, 1, 1}, {1, 1, 1, 1}, cudnn_graph::TensorKind::kByValue));
    LOWP_ASSIGN_OR_RETURN(cudnn_graph::Descriptor op,
                          cudnn_graph::makeDescriptor(CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR));
    LOWP_RETURN_IF_ERROR(cudnn_graph::setDescriptor(op, CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, q));
    LOWP_RETURN_IF_ERROR(cudnn_graph::setDescriptor(op, CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC, k));
    LOWP_RETURN_IF_ERROR(cudnn_graph::setDescriptor(op, CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, v));
    LOWP_RETURN_IF_ERROR(cudnn_graph::setDescriptor(op, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC, y));
    LOWP_RETURN_IF_ERROR(cudnn_graph::setDescriptor(op, CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC, scale));
    LOWP_RETURN_IF_ERROR(cudnn_graph::finalize(op));
    std::vector<cudnn_graph::Descriptor> ops;
    ops.push_back(std::move(op));
    std::vector<cudnn_graph::Descriptor> kept;
    for (cudnn_graph::Descriptor* d : {&q, &k, &v, &y, &scale}) kept.push_back(std::move(*d));
    return plan_.create(cuda, std::move(ops), std::move(kept), engine, "attention");
  }

  Status execute(const CudaContext& cuda, const void* q, const void* k, const void* v, void* y, float scale) {
    scale_ = scale;  // by value: read when the run is queued (or captured)
    return plan_.execute(cuda, {kQ, kK, kV, kY, kScale},
                         {const_cast<void*>(q), const_cast<void*>(k), const_cast<void*>(v), y, &scale_});
  }

 private:
  enum TensorId : int64_t { kQ = 1, kK, kV, kY, kScale };
  Key key_;
  cudnn_graph::Plan plan_;
  float scale_ = 1.0f;
};

/// cuDNN's [b, h, rows, cols] view of an operand with leading dims `lead` (strides `leadStrides`): the last
/// leading dim is h, the others merge into b where their strides allow (nullopt otherwise). An h that
/// repeats one head (stride 0: K and V of grouped key/value heads, [B, Hkv, G, ...]) becomes h = 1, cuDNN's
/// grouped-query form, every query head of the group reading that head; any other dim that repeats is
/// nullopt. A dim of one element addresses nothing: its stride is the extent of the dims inside it,
/// whatever the view said.
std::optional<SdpaPlan::Operand> sdpaOperand(const AttentionShape& s, const int64_t* leadStrides,
                                             int64_t rows, int64_t cols, int64_t rowStride,
                                             int64_t colStride) {
  SdpaPlan::Operand o;
  o.dims = {1, 1, rows, cols};
  o.strides = {0, 0, rowStride, colStride};
  const int n = s.leadRank;
  for (int d = 0; d + 1 < n; ++d) {
    if (s.lead[d] > 1 && leadStrides[d] == 0) return std::nullopt;
  }
  if (n >= 1) {
    o.dims[1] = leadStrides[n - 1] == 0 ? 1 : s.lead[n - 1];
    o.strides[1] = leadStrides[n - 1];
  }
  for (int d = n - 2; d >= 0; --d) {
    if (s.lead[d] == 1) continue;
    if (o.dims[0] == 1) {
      o.strides[0] = leadStrides[d];
    } else if (leadStrides[d] != o.strides[0] * o.dims[0]) {
      return std::nullopt;
    }
    o.dims[0] *= s.lead[d];
  }
  for (int d = 2; d >= 0; --d) {
    if (o.dims[static_cast<size_t>(d)] == 1)
      o.strides[static_cast<size_t>(d)] =
          o.dims[static_cast<size_t>(d) + 1] * o.strides[static_cast<size_t>(d) + 1];
  }
  return o;
}

/// Whether cuDNN's attention reads `o` at `data`: columns contiguous, rows of a multiple of 16 bytes,
/// every row 16-byte aligned.
bool sdpaAligned(const void* data, const SdpaPlan::Operand& o, size_t elementBytes) {
  const auto elementsPer16 = static_cast<int64_t>(16 / elementBytes);
  bool ok =
      o.strides[3] == 1 && o.dims[3] % elementsPer16 == 0 && reinterpret_cast<uintptr_t>(data) % 16 == 0;
  for (size_t d = 0; d < 3; ++d) ok = ok && o.strides[d] % elementsPer16 == 0;
  return ok;
}

template <int kEngine>
Status cudnnAttentionKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, y, "output"));
  if (type != Elem::kF16 && type != Elem::kBF16) return ctx.unsupported("cuDNN's attention is fp16 or bf16");
  LOWP_RETURN_IF_ERROR(checkTypes(ctx, y));
  LOWP_ASSIGN_OR_RETURN(const AttentionOperands operands, operandsOf(ctx));
  const AttentionShape& s = operands.shape;
  if (s.mask != nullptr) return ctx.unsupported("cuDNN's attention here takes no mask");
  if (s.softcap > 0.0f || s.causal)
    return ctx.unsupported("cuDNN's attention here caps no scores and masks no diagonal");
  if (y.elementCount() == 0) return {};
  if (s.sk == 0) return writeZeros(ctx, *cuda, y);
  const auto [q, kt, v] = operandPointers(ctx, operands);
  SdpaPlan::Key key;
  key.type = y.type();
  key.workspaceBytes = cuda->workspaceBytes;
  // K's rows are Kt's columns.
  const std::optional<SdpaPlan::Operand> views[4] = {sdpaOperand(s, s.q.lead, s.sq, s.d, s.q.row, s.q.col),
                                                     sdpaOperand(s, s.kt.lead, s.sk, s.d, s.kt.col, s.kt.row),
                                                     sdpaOperand(s, s.v.lead, s.sk, s.dv, s.v.row, s.v.col),
                                                     sdpaOperand(s, s.y.lead, s.sq, s.dv, s.y.row, s.y.col)};
  const void* data[4] = {q, kt, v, y.data()};
  const auto bytes = static_cast<size_t>(ir::dataTypeInfo(y.type()).storageBytes);
  for (size_t i = 0; i < 4; ++i) {
    if (!views[i]) return ctx.unsupported("leading dims whose strides do not merge into cuDNN's batch");
    if (!sdpaAligned(data[i], *views[i], bytes))
      return ctx.unsupported("cuDNN's attention reads rows of D contiguous and 16-byte aligned");
    key.operands[i] = *views[i];
  }
  auto plan = std::static_pointer_cast<SdpaPlan>(ctx.state());
  if (!plan || !plan->fits(key)) {
    plan = std::make_shared<SdpaPlan>();
    LOWP_RETURN_IF_ERROR(forNode(ctx, plan->create(*cuda, key, kEngine)));
    ctx.state() = plan;
  }
  return forNode(ctx, plan->execute(*cuda, q, kt, v, y.data(), s.scale));
}

struct ComposedPlans {
  LtPlan scores;  ///< S = scale * Q . Kt
  LtPlan output;  ///< Y = P . V
};

// A strided batch of `heads` row-major products [m, k] x [k, n], every operand dense per head.
GemmProblem headsProblem(int64_t heads, int64_t m, int64_t k, int64_t n, float alpha) {
  GemmProblem p;
  p.m = m;
  p.k = k;
  p.n = n;
  p.batch = heads;
  p.strideA = m * k;
  p.strideB = k * n;
  p.alpha = alpha;
  return p;
}

constexpr int64_t alignTo256(int64_t bytes) {
  return (bytes + 255) / 256 * 256;
}

template <Precision kPrecision>
Status composedAttentionKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  Tensor& y = ctx.output(0);
  if (y.type() != tensorTypeOf(kPrecision))
    return ctx.invalid("output " + y.describe() + " is not " +
                       std::string(dataTypeName(tensorTypeOf(kPrecision))));
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, y, "output"));
  LOWP_RETURN_IF_ERROR(checkTypes(ctx, y));
  if (ir::ops::hasFoldedLayout(ctx.attrs()))
    return ctx.unsupported("the composed attention reads dense operands");
  LOWP_ASSIGN_OR_RETURN(const AttentionOperands operands, operandsOf(ctx));
  const AttentionShape& s = operands.shape;
  if (s.mask != nullptr) return ctx.unsupported("the composed attention takes no mask");
  if (s.softcap > 0.0f || s.causal)
    return ctx.unsupported("the composed attention caps no scores and masks no diagonal");
  if (y.elementCount() == 0) return {};
  if (s.sk == 0 || s.d == 0) return ctx.unsupported("the composed attention takes no empty D or Sk");
  const int64_t matrixBytes = alignTo256(s.heads * s.sq * s.sk * ir::dataTypeInfo(y.type()).storageBytes);
  const int64_t room = static_cast<int64_t>(cuda->workspaceBytes) / 256 * 256 - 2 * matrixBytes;
  if (room < 0)
    return ctx.unsupported("the scores and probabilities (" + std::to_string(2 * matrixBytes) +
                           " bytes) do not fit in the CUDA workspace");
  auto* scores = static_cast<unsigned char*>(cuda->workspace) + room;
  unsigned char* probabilities = scores + matrixBytes;
  const void* q = ctx.input(ir::ops::kAttentionQ).data();
  const void* kt = ctx.input(ir::ops::kAttentionKt).data();
  const void* v = ctx.input(ir::ops::kAttentionV).data();
  const GemmProblem first = headsProblem(s.heads, s.sq, s.d, s.sk, s.scale);
  const GemmProblem second = headsProblem(s.heads, s.sq, s.sk, s.dv, 1.0f);
  const std::array<uint32_t, 4> firstAlign = {alignmentOf(kt), alignmentOf(q), alignmentOf(scores),
                                              alignmentOf(scores)};
  const std::array<uint32_t, 4> secondAlign = {alignmentOf(v), alignmentOf(probabilities),
                                               alignmentOf(y.data()), alignmentOf(y.data())};
  const auto ltBytes = static_cast<size_t>(room);
  auto plans = std::static_pointer_cast<ComposedPlans>(ctx.state());
  if (!plans || !plans->scores.fits(ltTypesOf(kPrecision), first, firstAlign, ltBytes) ||
      !plans->output.fits(ltTypesOf(kPrecision), second, secondAlign, ltBytes)) {
    plans = std::make_shared<ComposedPlans>();
    LOWP_RETURN_IF_ERROR(forNode(ctx, plans->scores.create(cuda->cublasLt, ltTypesOf(kPrecision), first,
                                                           firstAlign, ltBytes, 0, false)));
    LOWP_RETURN_IF_ERROR(forNode(ctx, plans->output.create(cuda->cublasLt, ltTypesOf(kPrecision), second,
                                                           secondAlign, ltBytes, 0, false)));
    ctx.state() = plans;
  }
  LOWP_RETURN_IF_ERROR(forNode(ctx, plans->scores.run(*cuda, q, kt, nullptr, nullptr, scores)));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchSoftmax(SoftmaxKind::kSoftmax, type, scores, probabilities,
                                                    s.heads * s.sq, s.sk, 1, cuda->stream));
  LOWP_RETURN_IF_ERROR(forNode(ctx, plans->output.run(*cuda, probabilities, v, nullptr, nullptr, y.data())));
  return {};
}

bool supportsComposed(const ir::Node& node, const std::vector<ir::Shape>& /*shapes*/) {
  return node.input(ir::ops::kAttentionMask) == nullptr && !ir::ops::hasFoldedLayout(node.attributes);
}

/// The last dim of shape i, when known.
int64_t lastDim(const std::vector<ir::Shape>& shapes, size_t i) {
  if (shapes.size() <= i || !shapes[i].rankKnown() || shapes[i].rank() == 0) return -1;
  return shapes[i][shapes[i].rank() - 1].size;
}

bool supportsTensorCores(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  // The operands' sizes follow from the views only while planning: the kernel checks them then.
  if (ir::ops::hasFoldedLayout(node.attributes)) return true;
  const int64_t d = lastDim(shapes, ir::ops::kAttentionQ);
  const int64_t sk = lastDim(shapes, ir::ops::kAttentionKt);
  const int64_t dv = lastDim(shapes, ir::ops::kAttentionV);
  return attentionTensorCoreHeadSize(d) && attentionTensorCoreHeadSize(dv) && sk >= 0 &&
         sk <= kAttentionTensorCoreMaxSk;
}

bool supportsFlash(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (ir::ops::hasFoldedLayout(node.attributes)) return true;
  const int64_t d = lastDim(shapes, ir::ops::kAttentionQ);
  const int64_t dv = lastDim(shapes, ir::ops::kAttentionV);
  return attentionFlashHeadSize(d) && dv == d;
}

bool supportsCudnn(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (node.input(ir::ops::kAttentionMask) != nullptr) return false;
  if (ir::ops::hasFoldedLayout(node.attributes)) return true;
  const int64_t d = lastDim(shapes, ir::ops::kAttentionQ);
  const int64_t dv = lastDim(shapes, ir::ops::kAttentionV);
  return d > 0 && dv > 0 && d % 8 == 0 && dv % 8 == 0;
}

bool supportsSimt(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (ir::ops::hasFoldedLayout(node.attributes)) return true;
  const int64_t d = lastDim(shapes, ir::ops::kAttentionQ);
  const int64_t dv = lastDim(shapes, ir::ops::kAttentionV);
  return d < 0 || dv < 0 || d + dv <= kAttentionSimtMaxWidth;
}

template <int... kEngines>
void registerCudnnEngines(KernelRegistry& registry, DataType t,
                          std::integer_sequence<int, kEngines...> /*engines*/) {
  const TypeSet types = {t};
  (registry.add(
       {.opType = ir::ops::kAttentionOp,
        .backend = Backend::kCuda,
        .name = keepName(std::string(shortTypeName(t)) + "-attention-cudnn-e" + std::to_string(kEngines)),
        .inputTypes = {types, types, types, types, TypeSet::any()},
        .outputTypes = {types},
        .fn = &cudnnAttentionKernel<kEngines>,
        .domain = ir::ops::kLowpDomain,
        .supports = &supportsCudnn,
        .reference = false}),
   ...);
}

}  // namespace

void registerAttentionKernels(KernelRegistry& registry) {
  for (DataType t : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    const TypeSet types = {t};
    registry.add({.opType = ir::ops::kAttentionOp,
                  .backend = Backend::kCuda,
                  .name = keepName(std::string(shortTypeName(t)) + "-attention-cuda"),
                  .inputTypes = {types, types, types, types, TypeSet::any()},
                  .outputTypes = {types},
                  .fn = &attentionKernel<Fused::kSimt>,
                  .domain = ir::ops::kLowpDomain,
                  .supports = &supportsSimt,
                  .reference = false});
    registry.add({.opType = ir::ops::kAttentionOp,
                  .backend = Backend::kCuda,
                  .name = keepName(std::string(shortTypeName(t)) + "-attention-cublaslt"),
                  .inputTypes = {types, types, types, types, TypeSet::any()},
                  .outputTypes = {types},
                  .fn = t == DataType::kFloat32   ? &composedAttentionKernel<Precision::kF32>
                        : t == DataType::kFloat16 ? &composedAttentionKernel<Precision::kF16>
                                                  : &composedAttentionKernel<Precision::kBf16>,
                  .domain = ir::ops::kLowpDomain,
                  .supports = &supportsComposed,
                  .reference = false});
    if (t == DataType::kFloat32) continue;
    registry.add({.opType = ir::ops::kAttentionOp,
                  .backend = Backend::kCuda,
                  .name = keepName(std::string(shortTypeName(t)) + "-attention-wmma-cuda"),
                  .inputTypes = {types, types, types, types, TypeSet::any()},
                  .outputTypes = {types},
                  .fn = &attentionKernel<Fused::kWmma>,
                  .domain = ir::ops::kLowpDomain,
                  .supports = &supportsTensorCores,
                  .reference = false});
    registry.add({.opType = ir::ops::kAttentionOp,
                  .backend = Backend::kCuda,
                  .name = keepName(std::string(shortTypeName(t)) + "-attention-flash-cuda"),
                  .inputTypes = {types, types, types, types, TypeSet::any()},
                  .outputTypes = {types},
                  .fn = &attentionKernel<Fused::kFlash>,
                  .domain = ir::ops::kLowpDomain,
                  .supports = &supportsFlash,
                  .reference = false});
    registerCudnnEngines(registry, t, std::make_integer_sequence<int, kSdpaEngineTactics>());
  }
}

}  // namespace lowp::kernels::cuda
