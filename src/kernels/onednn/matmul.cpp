// f32-matmul-onednn and f32-gemm-onednn: ONNX MatMul and Gemm in fp32 through oneDNN's matmul primitive.
//
// MatMul: Y[..., M, N] = A[..., M, K] * B[..., K, N] with NumPy batch broadcasting (a batch dim of 1 on
// either side broadcasts); a 1-D A is read as [1, K] and a 1-D B as [K, 1], as ONNX (and numpy) define.
// Operands are padded with leading 1s to one rank, at most 12 (oneDNN's limit; the kernel declines more).
// Gemm: Y[M, N] = alpha * op(A) * op(B) + beta * C, with op() the transpose when transA / transB is set and C
// broadcast to [M, N]. Y is first filled with beta * C, then the primitive writes alpha * (A * B) (an output
// scale) plus Y's old value (a sum post-op), so the order of the terms is explicit.
// Layouts: all plain row-major; a transposed operand is described by swapped strides, never copied.
// Threads: the rows of Y (MatMul: when B has no batch dims, A's batch folds into the rows) are split over
// lowp's pool, each chunk a single-threaded primitive (see runOnCallingThreadOnly in common.h); a MatMul
// whose B has batch dims runs one batched primitive on the calling thread.
// Accumulator: fp32. The primitives live in the node's state slot and are re-created when input shapes
// change. Covered by tests/unit/test_onednn.cpp (OneDnnMatMul.*, OneDnnGemm.*), against any-matmul-ref and
// any-gemm-ref.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/onednn/common.h"

namespace lowp::kernels::onednn {
namespace {

using dnnl::memory;

constexpr size_t kMaxRank = 12;  // DNNL_MAX_NDIMS

// A dense row-major f32 memory descriptor of `dims`.
memory::desc plainDesc(const memory::dims& dims) {
  memory::dims strides(dims.size(), 1);
  for (size_t d = dims.size(); d-- > 1;) strides[d - 1] = strides[d] * dims[d];
  return {dims, memory::data_type::f32, strides};
}

// Y[rows, n] = alpha * op(A)[rows, k] * op(B)[k, n] (+ Y's old value when addC), its rows split over lowp's
// pool: each chunk runs a single-threaded primitive for its number of rows (at most two sizes per split).
// op(A) rows are A's rows, or A's columns (transA) read through strides with leading dimension m.
struct RowsPlan {
  int64_t m = 0;
  int64_t k = 0;
  int64_t n = 0;
  bool transA = false;
  bool transB = false;
  float alpha = 1.0f;
  bool addC = false;

  struct Primitive {
    dnnl::matmul matmul;
    memory::desc a;
    memory::desc b;
    memory::desc y;
    memory::desc scratchpad;
  };
  std::mutex mutex;  ///< Guards byRows: chunks on several threads look up and add primitives.
  std::map<int64_t, Primitive> byRows;

  Primitive forRows(int64_t rows) {
    const std::lock_guard<std::mutex> lock(mutex);
    auto it = byRows.find(rows);
    if (it != byRows.end()) return it->second;
    const auto f32 = memory::data_type::f32;
    Primitive p;
    p.a = memory::desc({rows, k}, f32, transA ? memory::dims{1, m} : memory::dims{k, 1});
    p.b = memory::desc({k, n}, f32, transB ? memory::dims{1, k} : memory::dims{n, 1});
    p.y = plainDesc({rows, n});
    dnnl::primitive_attr attr = concurrentAttr();
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    if (addC) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p.a, p.b, p.y), attr, cpuEngine());
    p.matmul = dnnl::matmul(pd);
    p.scratchpad = pd.scratchpad_desc();
    return byRows.emplace(rows, p).first->second;
  }

  // Runs the product on raw buffers (oneDNN takes non-const handles; it only reads A and B).
  Status run(const KernelContext& ctx, const float* a, const float* b, float* y) {
    // Chunks of at least ~64k multiply-adds, so small products stay on one thread.
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, n * k));
    return parallelOneDnn(ctx, m, grain, [&](int64_t begin, int64_t end) {
      const Primitive p = forRows(end - begin);
      const float* aRows = transA ? a + begin : a + begin * k;
      dnnl::engine& engine = cpuEngine();
      dnnl::stream& stream = threadStream();
      p.matmul.execute(stream, {{DNNL_ARG_SRC, memory(p.a, engine, const_cast<float*>(aRows))},
                                {DNNL_ARG_WEIGHTS, memory(p.b, engine, const_cast<float*>(b))},
                                {DNNL_ARG_DST, memory(p.y, engine, y + begin * n)},
                                {DNNL_ARG_SCRATCHPAD, threadScratchpad(p.scratchpad)}});
      stream.wait();
    });
  }
};

// ---- MatMul ----------------------------------------------------------------------------------------------

// The operands as oneDNN sees them: same rank, batch dims equal or 1, vectors made matrices.
struct MatMulDims {
  memory::dims a;
  memory::dims b;
  memory::dims y;
};

Result<MatMulDims> matMulDims(const KernelContext& ctx) {
  MatMulDims d{toDims(ctx.input(0).shape()), toDims(ctx.input(1).shape()), {}};
  if (d.a.empty() || d.b.empty()) return ctx.invalid("MatMul operands must not be scalars");
  if (d.a.size() == 1) d.a.insert(d.a.begin(), 1);
  if (d.b.size() == 1) d.b.push_back(1);
  const size_t rank = std::max(d.a.size(), d.b.size());
  d.a.insert(d.a.begin(), rank - d.a.size(), 1);
  d.b.insert(d.b.begin(), rank - d.b.size(), 1);
  bool ok = d.a[rank - 1] == d.b[rank - 2];
  for (size_t i = 0; i + 2 < rank; ++i) {
    ok = ok && (d.a[i] == d.b[i] || d.a[i] == 1 || d.b[i] == 1);
    d.y.push_back(std::max(d.a[i], d.b[i]));
  }
  if (!ok) {
    return ctx.invalid("A " + ir::formatSizes(ctx.input(0).shape()) + " and B " +
                       ir::formatSizes(ctx.input(1).shape()) + " do not multiply");
  }
  if (rank > kMaxRank) return ctx.unsupported("MatMul of rank above 12 in oneDNN");
  d.y.push_back(d.a[rank - 2]);
  d.y.push_back(d.b[rank - 1]);
  return d;
}

// A MatMul node's state: the plan for its current input shapes, either a row split (B without batch dims:
// A's batch folds into its rows) or one batched primitive on the calling thread.
struct MatMulState {
  std::vector<int64_t> aShape;
  std::vector<int64_t> bShape;
  std::shared_ptr<RowsPlan> rows;
  dnnl::matmul batched;
  memory::desc aDesc;
  memory::desc bDesc;
  memory::desc yDesc;
};

Status runMatMul(KernelContext& ctx) {
  auto dims = matMulDims(ctx);
  if (!dims) return dims.status();
  Tensor& y = ctx.output(0);
  if (y.elementCount() == 0) return {};
  if (ctx.input(0).elementCount() == 0 || ctx.input(1).elementCount() == 0) {
    std::fill(y.data<float>(), y.data<float>() + y.elementCount(), 0.0f);  // K = 0: empty sums
    return {};
  }
  runOnCallingThreadOnly();
  auto state = std::static_pointer_cast<MatMulState>(ctx.state());
  if (!state || state->aShape != ctx.input(0).shape() || state->bShape != ctx.input(1).shape()) {
    state = std::make_shared<MatMulState>();
    state->aShape = ctx.input(0).shape();
    state->bShape = ctx.input(1).shape();
    const size_t rank = dims->a.size();
    const bool bHasBatch = std::any_of(dims->b.begin(), dims->b.end() - 2, [](int64_t d) { return d != 1; });
    if (!bHasBatch) {
      state->rows = std::make_shared<RowsPlan>();
      state->rows->m = ctx.input(0).elementCount() / dims->a[rank - 1];
      state->rows->k = dims->a[rank - 1];
      state->rows->n = dims->b[rank - 1];
    } else {
      state->aDesc = plainDesc(dims->a);
      state->bDesc = plainDesc(dims->b);
      state->yDesc = plainDesc(dims->y);
      const dnnl::matmul::desc desc(state->aDesc, state->bDesc, state->yDesc);
      state->batched = dnnl::matmul(dnnl::matmul::primitive_desc(desc, cpuEngine()));
    }
    ctx.state() = state;
  }
  const float* a = ctx.input(0).data<float>();
  const float* b = ctx.input(1).data<float>();
  if (state->rows) return state->rows->run(ctx, a, b, y.data<float>());
  dnnl::engine& engine = cpuEngine();
  dnnl::stream& stream = threadStream();
  state->batched.execute(stream, {{DNNL_ARG_SRC, memory(state->aDesc, engine, const_cast<float*>(a))},
                                  {DNNL_ARG_WEIGHTS, memory(state->bDesc, engine, const_cast<float*>(b))},
                                  {DNNL_ARG_DST, memory(state->yDesc, engine, y.data<float>())}});
  stream.wait();
  return {};
}

Status matMulKernel(KernelContext& ctx) {
  try {
    return runMatMul(ctx);
  } catch (const dnnl::error& e) {
    return oneDnnError(ctx, e);
  }
}

bool supportsMatMul(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.size() != 2 || !rankKnownNoZeroDim(shapes[0]) || !rankKnownNoZeroDim(shapes[1])) return false;
  const int64_t rank = std::max<int64_t>({shapes[0].rank(), shapes[1].rank(), 2});
  return shapes[0].rank() >= 1 && shapes[1].rank() >= 1 && rank <= static_cast<int64_t>(kMaxRank);
}

// ---- Gemm ------------------------------------------------------------------------------------------------

// A Gemm node's state: the row-split plan for its current shapes and whether C is added.
struct GemmState {
  std::vector<int64_t> aShape;
  std::vector<int64_t> bShape;
  std::shared_ptr<RowsPlan> rows;
};

// y[i, j] = beta * C[i, j], C broadcast to [m, n] (rank 0, 1 or 2, dims 1 or matching).
void fillWithScaledC(const Tensor& c, float beta, int64_t m, int64_t n, float* y) {
  const std::vector<int64_t>& cs = c.shape();
  const int64_t colStride = !cs.empty() && cs.back() != 1 ? 1 : 0;
  const int64_t rowStride = cs.size() == 2 && cs[0] != 1 ? cs[1] : 0;
  const float* cp = c.data<float>();
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) y[i * n + j] = beta * cp[i * rowStride + j * colStride];
  }
}

Status runGemm(KernelContext& ctx) {
  const Tensor& ta = ctx.input(0);
  const Tensor& tb = ctx.input(1);
  if (ta.rank() != 2 || tb.rank() != 2) return ctx.invalid("Gemm operands must be matrices");
  const bool transA = ctx.attrs().getInt("transA", 0) != 0;
  const bool transB = ctx.attrs().getInt("transB", 0) != 0;
  const int64_t m = ta.shape()[transA ? 1 : 0];
  const int64_t k = ta.shape()[transA ? 0 : 1];
  const int64_t n = tb.shape()[transB ? 0 : 1];
  if (tb.shape()[transB ? 1 : 0] != k) {
    return ctx.invalid("A " + ir::formatSizes(ta.shape()) + " and B " + ir::formatSizes(tb.shape()) +
                       " do not multiply");
  }
  const float alpha = ctx.attrs().getFloat("alpha", 1.0f);
  const float beta = ctx.attrs().getFloat("beta", 1.0f);
  const Tensor* tc = ctx.hasInput(2) && beta != 0.0f ? &ctx.input(2) : nullptr;
  if (tc != nullptr) {
    const std::vector<int64_t>& cs = tc->shape();
    bool ok = cs.size() <= 2;
    for (size_t i = 0; ok && i < cs.size(); ++i) ok = cs[i] == 1 || cs[i] == (i + 1 == cs.size() ? n : m);
    if (!ok)
      return ctx.invalid("C " + ir::formatSizes(cs) + " does not broadcast to " + ir::formatSizes({m, n}));
  }
  float* y = ctx.output(0).data<float>();
  if (m == 0 || n == 0) return {};
  if (tc != nullptr) {
    fillWithScaledC(*tc, beta, m, n, y);
  } else {
    std::fill(y, y + m * n, 0.0f);
  }
  if (k == 0) return {};

  runOnCallingThreadOnly();
  auto state = std::static_pointer_cast<GemmState>(ctx.state());
  if (!state || state->aShape != ta.shape() || state->bShape != tb.shape() ||
      state->rows->addC != (tc != nullptr)) {
    state = std::make_shared<GemmState>();
    state->aShape = ta.shape();
    state->bShape = tb.shape();
    state->rows = std::make_shared<RowsPlan>();
    state->rows->m = m;
    state->rows->k = k;
    state->rows->n = n;
    state->rows->transA = transA;
    state->rows->transB = transB;
    state->rows->alpha = alpha;
    state->rows->addC = tc != nullptr;
    ctx.state() = state;
  }
  return state->rows->run(ctx, ta.data<float>(), tb.data<float>(), y);
}

Status gemmKernel(KernelContext& ctx) {
  try {
    return runGemm(ctx);
  } catch (const dnnl::error& e) {
    return oneDnnError(ctx, e);
  }
}

bool supportsGemm(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.size() < 2 || !rankKnownNoZeroDim(shapes[0]) || !rankKnownNoZeroDim(shapes[1])) return false;
  if (shapes[0].rank() != 2 || shapes[1].rank() != 2) return false;
  return shapes.size() < 3 || node.input(2) == nullptr || (shapes[2].rankKnown() && shapes[2].rank() <= 2);
}

}  // namespace

void registerMatMulKernels(KernelRegistry& registry) {
  registry.add({.opType = "MatMul",
                .name = "f32-matmul-onednn",
                .inputTypes = {TypeSet{DataType::kFloat32}},
                .outputTypes = {TypeSet{DataType::kFloat32}},
                .fn = matMulKernel,
                .supports = supportsMatMul,
                .reference = false});
  registry.add({.opType = "Gemm",
                .name = "f32-gemm-onednn",
                .inputTypes = {TypeSet{DataType::kFloat32}},
                .outputTypes = {TypeSet{DataType::kFloat32}},
                .fn = gemmKernel,
                .supports = supportsGemm,
                .reference = false});
}

}  // namespace lowp::kernels::onednn
