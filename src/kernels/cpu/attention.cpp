// {f32,bf16,f16}-attention-{avx512,avx2}: lowp.Attention (ir/ops/attention.h) on the CPU, around the
// attentionRows loops of simd_kernels.h.
//
// Work: tasks of kRowBlock query rows of one (batch, head), split over ctx.parallelFor; a task computes the
// scores of 8 rows at a time (4 on AVX2) into a scratch of 8 rows (16 KiB at Sk = 512: it stays in L1),
// applies scale, mask and softmax there, and multiplies by V at once, so no score ever goes to memory.
// Layout: dense row-major tensors (grouped key/value heads: kvGroup consecutive heads read one Kt and V,
// DenseAttention in attention_layout.h). Kt and V are used in place when fp32 with Sk and Dv multiples of 16;
// otherwise (and for bf16/fp16, widened exactly to fp32) each task copies its head's Kt and V into
// zero-padded fp32 buffers. bf16/fp16 Y is computed in fp32 and rounded once (nearest even). Accumulation:
// fp32 with FMA over D and over Sk; the softmax's exponentials flush below 1.2e-38 to 0 and sum in fp32 per
// lane, the lanes in double (the reference sums without FMA and in double, so results differ from it by
// rounding: about 1e-7 relative in fp32). bf16 and fp16 are storage only (widened to fp32 per task), so
// where the CPU has AVX512-BF16 this kernel gains little from bf16 over fp32, unlike oneDNN's bf16 matmuls.
// Masks: any that broadcasts into the scores with its last dim Sk (or none); a mask whose last dim
// broadcasts (size 1 beside Sk > 1) runs the reference kernel.
// Tests: tests/unit/test_attention.cpp (both ISAs against the reference kernel, tails and masks).
#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/ops/attention.h"
#include "ir/ops/attention_layout.h"
#include "ir/ops/fused.h"
#include "ir/shape.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/simd_kernels.h"
#include "kernels/reference/attention.h"

namespace lowp::kernels::cpu {
namespace {

using TableFn = const IsaKernels& (*)();

/// Query rows per task: enough work to amortise a task's copies of Kt and V, small enough that one head of
/// a batch-1 model still splits over several threads.
constexpr int64_t kRowBlock = 64;

int64_t padded(int64_t n) {
  return (n + kAttentionPadding - 1) / kAttentionPadding * kAttentionPadding;
}

Storage storageOf(DataType t) {
  return t == DataType::kFloat32 ? Storage::kF32
                                 : (t == DataType::kBFloat16 ? Storage::kBf16 : Storage::kF16);
}

int64_t bytesOf(Storage s) {
  return s == Storage::kF32 ? 4 : 2;
}

const char* at(const Tensor& t, int64_t element, Storage s) {
  return static_cast<const char*>(t.data()) + element * bytesOf(s);
}

/// The mask's element offsets: per (batch, head) index h the start of its rows, then the row stride (0 when
/// it broadcasts over the query rows). nullopt when the last dim broadcasts (not covered by the loops).
struct MaskPlan {
  std::vector<int64_t> headOffset;
  int64_t rowStride = 0;
};

std::optional<MaskPlan> planMask(const std::vector<int64_t>& mask, const std::vector<int64_t>& scores) {
  const size_t rank = scores.size();
  if (mask.size() > rank) return std::nullopt;
  std::vector<int64_t> m(rank - mask.size(), 1);
  m.insert(m.end(), mask.begin(), mask.end());
  for (size_t d = 0; d < rank; ++d) {
    if (m[d] != 1 && m[d] != scores[d]) return std::nullopt;
  }
  if (m[rank - 1] != scores[rank - 1] && scores[rank - 1] > 1) return std::nullopt;
  // Row-major strides of the mask, 0 where it broadcasts.
  std::vector<int64_t> stride(rank, 0);
  int64_t s = 1;
  for (size_t d = rank; d-- > 0;) {
    stride[d] = m[d] == 1 ? 0 : s;
    s *= m[d];
  }
  MaskPlan plan;
  plan.rowStride = stride[rank - 2];
  int64_t heads = 1;
  for (size_t d = 0; d + 2 < rank; ++d) heads *= scores[d];
  plan.headOffset.resize(static_cast<size_t>(heads));
  for (int64_t h = 0; h < heads; ++h) {
    int64_t rest = h;
    int64_t offset = 0;
    for (size_t d = rank - 2; d-- > 0;) {
      offset += rest % scores[d] * stride[d];
      rest /= scores[d];
    }
    plan.headOffset[static_cast<size_t>(h)] = offset;
  }
  return plan;
}

struct Dims {
  int64_t heads = 1;
  int64_t sq = 0;
  int64_t d = 0;
  int64_t sk = 0;
  int64_t dv = 0;
};

/// The sizes of operands that attentionOperandMismatch accepts.
Dims dimsOf(const std::vector<int64_t>& q, const std::vector<int64_t>& kt, const std::vector<int64_t>& v) {
  const size_t r = q.size();
  Dims dims;
  for (size_t i = 0; i + 2 < r; ++i) dims.heads *= q[i];
  dims.sq = q[r - 2];
  dims.d = q[r - 1];
  dims.sk = kt[r - 1];
  dims.dv = v[r - 1];
  return dims;
}

/// Runs the node's reference kernel (a mask the loops do not cover).
Status runReference(KernelContext& ctx) {
  for (const KernelDef& k : KernelRegistry::global().all()) {
    if (k.reference && k.opType == ir::ops::kAttentionOp && k.domain == ir::ops::kLowpDomain)
      return k.fn(ctx);
  }
  return ctx.unsupported("no reference kernel to fall back on");
}

template <TableFn kTable>
Status attentionKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(ir::ops::DenseAttention * dense, ref::denseAttentionOf(ctx));
  const Tensor& q = dense->q;
  const Tensor& kt = dense->kt;
  const Tensor& v = dense->v;
  Tensor& out = ctx.output(0);
  // A permuted Y is computed in its canonical order, then written transposed.
  std::vector<int64_t> canonical(q.shape().begin(), q.shape().end() - (q.shape().empty() ? 0 : 1));
  if (!v.shape().empty()) canonical.push_back(v.shape().back());
  Tensor& y = dense->yPerm.empty() ? out : ir::ops::reuseTensor(dense->y, out.type(), canonical);
  const int64_t kvGroup = dense->kvGroup;
  if (auto mismatch = ir::ops::attentionOperandMismatch(q.shape(), kt.shape(), v.shape(), kvGroup))
    return ctx.invalid(*mismatch);
  const Dims n = dimsOf(q.shape(), kt.shape(), v.shape());
  const DataType type = q.type();
  if (kt.type() != type || v.type() != type || y.type() != type) {
    return ctx.invalid("Q, Kt, V and Y must have one type");
  }
  const Storage storage = storageOf(type);
  if (y.elementCount() == 0) return {};
  if (n.sk == 0) return runReference(ctx);  // softmax of an empty row: the reference's NaN convention

  const bool hasMask = ctx.hasInput(ir::ops::kAttentionMask);
  std::optional<MaskPlan> mask;
  if (hasMask) {
    const Tensor& m = ctx.input(ir::ops::kAttentionMask);
    if (m.type() != type) return ctx.invalid("the mask's type differs from Q's");
    std::vector<int64_t> scores(q.shape().begin(), q.shape().end() - 1);
    scores.push_back(n.sk);
    mask = planMask(m.shape(), scores);
    if (!mask) return runReference(ctx);
  }

  const float scale = dense->scale;
  const bool zeroMaskedRows = ir::ops::attentionZeroesMaskedRows(ctx.attrs());
  const float softcap = ir::ops::attentionSoftcap(ctx.attrs());
  const bool causal = ir::ops::attentionIsCausal(ctx.attrs());
  const IsaKernels& isa = kTable();
  const bool f32 = storage == Storage::kF32;
  const int64_t ldk = padded(n.sk);
  const int64_t ldv = padded(n.dv);
  const bool copyKt = !f32 || ldk != n.sk;
  const bool copyV = !f32 || ldv != n.dv;
  const int64_t rowBlocks = (n.sq + kRowBlock - 1) / kRowBlock;

  ctx.parallelFor(n.heads * rowBlocks, 1, [&](int64_t begin, int64_t end) {
    const int64_t rows = std::min(kRowBlock, n.sq);
    std::vector<float> scratch(static_cast<size_t>(kAttentionRowTile * ldk));
    std::vector<float> ktBuffer(copyKt ? static_cast<size_t>(n.d * ldk) : 0);
    std::vector<float> vBuffer(copyV ? static_cast<size_t>(n.sk * ldv) : 0);
    std::vector<float> qBuffer(f32 ? 0 : static_cast<size_t>(rows * n.d));
    std::vector<float> yBuffer(f32 ? 0 : static_cast<size_t>(rows * n.dv));
    const bool maskRows = hasMask && !f32;
    std::vector<float> maskBuffer(maskRows ? static_cast<size_t>(rows * n.sk) : 0);
    int64_t loadedHead = -1;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t h = task / rowBlocks;
      const int64_t kvHead = h / kvGroup;
      const int64_t row0 = task % rowBlocks * kRowBlock;
      const int64_t count = std::min(kRowBlock, n.sq - row0);
      if (kvHead != loadedHead) {
        // Kt and V of this head as zero-padded fp32 rows.
        for (int64_t k = 0; copyKt && k < n.d; ++k) {
          float* dst = ktBuffer.data() + k * ldk;
          isa.cast(storage, at(kt, (kvHead * n.d + k) * n.sk, storage), Storage::kF32, dst, n.sk);
          std::fill(dst + n.sk, dst + ldk, 0.0f);
        }
        for (int64_t j = 0; copyV && j < n.sk; ++j) {
          float* dst = vBuffer.data() + j * ldv;
          isa.cast(storage, at(v, (kvHead * n.sk + j) * n.dv, storage), Storage::kF32, dst, n.dv);
          std::fill(dst + n.dv, dst + ldv, 0.0f);
        }
        loadedHead = kvHead;
      }
      AttentionHead head;
      head.kt = copyKt ? ktBuffer.data() : kt.data<float>() + kvHead * n.d * n.sk;
      head.v = copyV ? vBuffer.data() : v.data<float>() + kvHead * n.sk * n.dv;
      head.sk = n.sk;
      head.d = n.d;
      head.dv = n.dv;
      head.ldk = ldk;
      head.ldv = ldv;
      head.ldy = n.dv;
      head.scale = scale;
      head.zeroMaskedRows = zeroMaskedRows;
      head.softcap = softcap;
      head.causal = causal;
      head.causalKeys = row0 + n.sk - n.sq + 1;
      const int64_t qStart = (h * n.sq + row0) * n.d;
      const int64_t yStart = (h * n.sq + row0) * n.dv;
      if (f32) {
        head.q = q.data<float>() + qStart;
        head.y = y.data<float>() + yStart;
      } else {
        isa.cast(storage, at(q, qStart, storage), Storage::kF32, qBuffer.data(), count * n.d);
        head.q = qBuffer.data();
        head.y = yBuffer.data();
      }
      if (hasMask) {
        const Tensor& m = ctx.input(ir::ops::kAttentionMask);
        const int64_t maskStart = mask->headOffset[static_cast<size_t>(h)] + row0 * mask->rowStride;
        head.maskRowStride = mask->rowStride;
        if (f32) {
          head.mask = m.data<float>() + maskStart;
        } else {
          const int64_t maskRows = mask->rowStride == 0 ? 1 : count;
          for (int64_t i = 0; i < maskRows; ++i) {
            isa.cast(storage, at(m, maskStart + i * mask->rowStride, storage), Storage::kF32,
                     maskBuffer.data() + i * n.sk, n.sk);
          }
          head.mask = maskBuffer.data();
          head.maskRowStride = mask->rowStride == 0 ? 0 : n.sk;
        }
      }
      isa.attentionRows(head, 0, count, scratch.data());
      if (!f32) {
        isa.cast(Storage::kF32, yBuffer.data(), storage,
                 static_cast<char*>(y.data()) + yStart * bytesOf(storage), count * n.dv);
      }
    }
  });
  if (!dense->yPerm.empty()) ir::ops::scatterPermuted(y, dense->yPerm, out, dense->parallel);
  return {};
}

/// Static shapes the loops cannot take: a mask whose last dim broadcasts.
bool attentionSupports(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (ir::ops::hasFoldedLayout(node.attributes)) return true;  // the inputs' shapes are not the operands'
  if (shapes.size() < 4 || !shapes[3].isStatic() || !shapes[0].isStatic() || !shapes[1].isStatic())
    return true;
  std::vector<int64_t> scores = shapes[0].sizes();
  scores.back() = shapes[1].sizes().back();
  return planMask(shapes[3].sizes(), scores).has_value();
}

template <TableFn kTable>
void registerIsa(KernelRegistry& registry, CpuFeature feature, std::string_view isa) {
  const std::pair<DataType, std::string_view> types[] = {{DataType::kFloat32, "f32-attention-"},
                                                         {DataType::kBFloat16, "bf16-attention-"},
                                                         {DataType::kFloat16, "f16-attention-"}};
  static std::deque<std::string> names;  // KernelDef names are views: they must outlive the registry
  for (const auto& [type, prefix] : types) {
    names.push_back(std::string(prefix) + std::string(isa));
    registry.add({.opType = ir::ops::kAttentionOp,
                  .name = names.back(),
                  // Q, Kt, V and the mask; then Reshape targets and scale factors (attention_layout.h).
                  .inputTypes = {TypeSet{type}, TypeSet{type}, TypeSet{type}, TypeSet{type}, TypeSet::any()},
                  .outputTypes = {TypeSet{type}},
                  .fn = &attentionKernel<kTable>,
                  .feature = feature,
                  .domain = ir::ops::kLowpDomain,
                  .supports = &attentionSupports,
                  .reference = false});
  }
}

}  // namespace

void registerAttentionKernels(KernelRegistry& registry) {
  registerIsa<&avx512Kernels>(registry, CpuFeature::kAvx512, "avx512");
  registerIsa<&avx2Kernels>(registry, CpuFeature::kAvx2, "avx2");
}

}  // namespace lowp::kernels::cpu
