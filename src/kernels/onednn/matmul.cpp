// {f32,bf16}-matmul-onednn, {f32,bf16}-fusedmatmul-onednn, f32-gemm-onednn: ONNX MatMul, lowp's FusedMatMul
// (ir/ops/fused.h) and ONNX Gemm through oneDNN's matmul primitive.
//
// MatMul: Y[..., M, N] = A[..., M, K] * B[..., K, N] with NumPy batch broadcasting (a batch dim of 1 on
// either side broadcasts); a 1-D A is read as [1, K] and a 1-D B as [K, 1], as ONNX (and numpy) define.
// Operands are padded with leading 1s to one rank, at most 12 (oneDNN's limit; the kernel declines more).
// When B has no batch dims, A's batch folds into its rows: one [rows, K] x [K, N] product.
// FusedMatMul: the same product, then + bias[N] (oneDNN's bias argument, broadcast over rows) and the
// activation (an eltwise post-op), before the one rounding to Y's type.
// Gemm: Y[M, N] = alpha * op(A) * op(B) + beta * C, with op() the transpose when transA / transB is set and C
// broadcast to [M, N]. Y is first filled with beta * C, then the primitive writes alpha * (A * B) (an output
// scale) plus Y's old value (a sum post-op), so the order of the terms is explicit.
// Types: fp32; MatMul and FusedMatMul also bf16 A, B, Y with a bf16 or fp32 bias (fp32 accumulation).
// Layouts: all plain row-major; a transposed operand is described by swapped strides, never copied.
// Threads: the rows of Y (MatMul: when B has no batch dims, A's batch folds into the rows) are split over
// lowp's pool, each chunk a single-threaded primitive (see runOnCallingThreadOnly in common.h), or, for fewer
// than 4 rows, its columns in blocks of 64; a MatMul whose B has batch dims runs one batched primitive on
// the calling thread.
// The primitives live in the node's state slot and are re-created when input shapes change.
// Covered by tests/unit/test_onednn.cpp (OneDnnMatMul.*, OneDnnFusedMatMul.*, OneDnnGemm.*), against
// any-matmul-ref, any-fusedmatmul-ref and any-gemm-ref.
#include <algorithm>
#include <cstddef>
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

// A dense row-major memory descriptor of `dims`.
memory::desc plainDesc(const memory::dims& dims, memory::data_type type) {
  memory::dims strides(dims.size(), 1);
  for (size_t d = dims.size(); d-- > 1;) strides[d - 1] = strides[d] * dims[d];
  return {dims, type, strides};
}

// True when input i of the node is a constant of the graph (its value never changes between runs).
bool isConstant(const KernelContext& ctx, size_t i) {
  const ir::Value* v = ctx.node().input(i);
  return v != nullptr && v->constant.has_value();
}

// One matmul primitive and the descriptors of its operands.
struct Product {
  dnnl::matmul matmul;
  memory::desc a;
  memory::desc b;
  memory::desc bias;  ///< Empty without a bias.
  memory::desc y;
  memory::desc scratchpad;
  bool readsPackedB = false;  ///< B is read from RowSplit::packed (the primitive's own layout).

  void create(const dnnl::primitive_attr& baseAttr) {
    dnnl::primitive_attr attr = baseAttr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, bias, y), attr, cpuEngine());
    matmul = dnnl::matmul(pd);
    scratchpad = pd.scratchpad_desc();
    b = pd.weights_desc();  // resolves format_tag::any to the layout the primitive chose
  }

  // Runs on raw buffers (oneDNN takes non-const handles; it only reads A, B and the bias).
  void run(const void* aData, const void* bData, const void* biasData, void* yData) const {
    enum Slot { kA, kB, kY, kBias };  // threadMemory's slots
    dnnl::stream& stream = threadStream();
    executePrimitive(
        matmul, stream,
        {{DNNL_ARG_SRC, &threadMemory(kA, a, const_cast<void*>(aData))},
         {DNNL_ARG_WEIGHTS, &threadMemory(kB, b, const_cast<void*>(bData))},
         {DNNL_ARG_BIAS,
          biasData != nullptr ? &threadMemory(kBias, bias, const_cast<void*>(biasData)) : nullptr},
         {DNNL_ARG_DST, &threadMemory(kY, y, yData)},
         {DNNL_ARG_SCRATCHPAD, &threadBuffer(2, scratchpad)}});
    stream.wait();
  }
};

// Y[rows, n] = op(A)[rows, k] * op(B)[k, n] (+ bias, post-ops), its rows split over lowp's pool: each chunk
// runs a single-threaded primitive for its number of rows (at most two sizes per split), made on first use.
// op(A) rows are A's rows, or A's columns (transA) read through strides with leading dimension m.
struct RowSplit {
  int64_t m = 0;
  int64_t k = 0;
  int64_t n = 0;
  bool transA = false;
  bool transB = false;
  memory::data_type type = memory::data_type::f32;
  memory::data_type biasType = memory::data_type::undef;  ///< undef: no bias.
  dnnl::primitive_attr attr;

  /// B is a constant of the graph (weights): it is reordered once into the layout the primitive for all m
  /// rows picks, and every chunk's primitive reads it there. A plain B would be re-laid out by oneDNN on
  /// every call, in every chunk (measured: most of a [128, 256] x [256, 1024] product's time).
  bool packB = false;
  memory::desc packedDesc;  ///< Empty until the first product picks it.
  memory packed;
  bool packedReady = false;

  std::mutex mutex;  ///< Guards byRows and the packing: chunks on several threads add primitives.
  std::map<int64_t, Product> byRows;

  memory::desc plainB() const {
    return memory::desc({k, n}, type, transB ? memory::dims{1, k} : memory::dims{n, 1});
  }

  Product forRows(int64_t rows) {
    const std::lock_guard<std::mutex> lock(mutex);
    auto it = byRows.find(rows);
    if (it != byRows.end()) return it->second;
    Product p;
    p.a = memory::desc({rows, k}, type, transA ? memory::dims{1, m} : memory::dims{k, 1});
    p.y = plainDesc({rows, n}, type);
    if (biasType != memory::data_type::undef) p.bias = plainDesc({1, n}, biasType);
    p.b = plainB();
    if (packB) {
      p.b = packedDesc.is_zero() ? memory::desc({k, n}, type, memory::format_tag::any) : packedDesc;
      try {
        p.create(attr);
        p.readsPackedB = true;
        if (packedDesc.is_zero()) packedDesc = p.b;
      } catch (const dnnl::error&) {
        p.b = plainB();  // no implementation for this row count reads the packed layout
      }
    }
    if (!p.readsPackedB) p.create(attr);
    return byRows.emplace(rows, p).first->second;
  }

  // Reorders the constant B into packedDesc once, before any chunk reads it.
  void pack(const std::byte* b) {
    forRows(m);  // the layout is the one the primitive for all rows picks
    const std::lock_guard<std::mutex> lock(mutex);
    if (packedReady || packedDesc.is_zero()) return;
    dnnl::engine& engine = cpuEngine();
    packed = memory(packedDesc, engine);
    memory source(plainB(), engine, const_cast<std::byte*>(b));
    dnnl::stream& stream = threadStream();
    dnnl::reorder(source, packed).execute(stream, source, packed);
    stream.wait();
    packedReady = true;
  }

  /// Y[:, c0:c0 + cols] = op(A) * op(B)[:, c0:c0 + cols] (+ bias[c0:...], post-ops) on the plain B, made on
  /// first use; run with the operands' pointers moved to column c0.
  std::map<int64_t, Product> byColumns;
  Product forColumns(int64_t cols) {
    const std::lock_guard<std::mutex> lock(mutex);
    auto it = byColumns.find(cols);
    if (it != byColumns.end()) return it->second;
    Product p;
    p.a = memory::desc({m, k}, type, transA ? memory::dims{1, m} : memory::dims{k, 1});
    p.b = memory::desc({k, cols}, type, transB ? memory::dims{1, k} : memory::dims{n, 1});
    p.y = memory::desc({m, cols}, type, memory::dims{n, 1});
    if (biasType != memory::data_type::undef) p.bias = plainDesc({1, cols}, biasType);
    p.create(attr);
    return byColumns.emplace(cols, p).first->second;
  }

  // Runs the product on raw buffers of `elementBytes` per element.
  Status run(const KernelContext& ctx, const std::byte* a, const std::byte* b, const void* bias, std::byte* y,
             int64_t elementBytes) {
    // A few rows (a matrix-vector product at batch 1) are one chunk: the columns are split instead, in
    // blocks of 64, each chunk reading its columns of the plain B (a packed B's blocks do not slice). One
    // thread alone streamed ResNet-50's 8 MB classifier at half the bandwidth of two.
    constexpr int64_t kColumnBlock = 64;
    if (m < 4 && n >= 2 * kColumnBlock && m * n * k >= (int64_t{1} << 17)) {
      const int64_t biasBytes = biasType == memory::data_type::f32 ? 4 : 2;
      const int64_t blocks = (n + kColumnBlock - 1) / kColumnBlock;
      return parallelOneDnn(ctx, blocks, 1, [&](int64_t begin, int64_t end) {
        const int64_t c0 = begin * kColumnBlock;
        const int64_t c1 = std::min(end * kColumnBlock, n);
        const Product p = forColumns(c1 - c0);
        p.run(a, b + (transB ? c0 * k : c0) * elementBytes,
              bias != nullptr ? static_cast<const std::byte*>(bias) + c0 * biasBytes : nullptr,
              y + c0 * elementBytes);
      });
    }
    if (packB && !packedReady) pack(b);
    // Chunks of at least ~64k multiply-adds, so small products stay on one thread.
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, n * k));
    return parallelOneDnn(ctx, m, grain, [&](int64_t begin, int64_t end) {
      const Product p = forRows(end - begin);
      const std::byte* aRows = a + (transA ? begin : begin * k) * elementBytes;
      const void* bData = p.readsPackedB ? packed.get_data_handle() : b;
      p.run(aRows, bData, bias, y + begin * n * elementBytes);
    });
  }
};

// ---- MatMul, FusedMatMul ---------------------------------------------------------------------------------

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

struct MatMulKey {
  std::vector<int64_t> aShape;
  std::vector<int64_t> bShape;
  DataType type = DataType::kFloat32;
  DataType biasType = DataType::kUndefined;
  bool operator==(const MatMulKey&) const = default;
};

// A node's plan: a row split (B without batch dims: A's batch folds into its rows) or one batched primitive
// on the calling thread.
struct MatMulState {
  MatMulKey key;
  std::shared_ptr<RowSplit> rows;
  Product batched;
};

template <bool kFused>
Status runMatMul(KernelContext& ctx) {
  auto dims = matMulDims(ctx);
  if (!dims) return dims.status();
  Tensor& y = ctx.output(0);
  ir::ops::ActivationSpec act;
  const Tensor* bias = kFused && ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  if constexpr (kFused) {
    auto spec = ir::ops::readActivation(ctx.attrs());
    if (!spec) return ctx.invalid(spec.status().message());
    act = *spec;
    dnnl::post_ops probe;
    if (!appendActivation(probe, act)) return ctx.unsupported("oneDNN has no post-op for this activation");
    if (bias != nullptr && bias->elementCount() != dims->y.back()) {
      return ctx.invalid("bias " + bias->describe() + " is not one value per column of the output " +
                         y.describe());
    }
  }
  if (y.elementCount() == 0) return {};
  if (ctx.input(0).elementCount() == 0 || ctx.input(1).elementCount() == 0) {
    if (y.type() != DataType::kFloat32 || bias != nullptr || act.kind != ir::ops::FusedActivation::kNone)
      return ctx.unsupported("an empty product in " + y.describe());
    std::fill(y.data<float>(), y.data<float>() + y.elementCount(), 0.0f);  // K = 0: empty sums
    return {};
  }
  const MatMulKey key{ctx.input(0).shape(), ctx.input(1).shape(), y.type(),
                      bias != nullptr ? bias->type() : DataType::kUndefined};
  runOnCallingThreadOnly();
  auto state = std::static_pointer_cast<MatMulState>(ctx.state());
  if (!state || !(state->key == key)) {
    state = std::make_shared<MatMulState>();
    state->key = key;
    const size_t rank = dims->a.size();
    const auto dt = toDnnlType(key.type);
    dnnl::primitive_attr attr;
    dnnl::post_ops ops;
    appendActivation(ops, act);
    attr.set_post_ops(ops);
    const bool bHasBatch = std::any_of(dims->b.begin(), dims->b.end() - 2, [](int64_t d) { return d != 1; });
    if (!bHasBatch) {
      state->rows = std::make_shared<RowSplit>();
      RowSplit& r = *state->rows;
      r.m = ctx.input(0).elementCount() / dims->a[rank - 1];
      r.k = dims->a[rank - 1];
      r.n = dims->b[rank - 1];
      r.type = dt;
      if (bias != nullptr) r.biasType = toDnnlType(bias->type());
      r.packB = isConstant(ctx, 1);
      r.attr = attr;
    } else {
      Product& p = state->batched;
      p.a = plainDesc(dims->a, dt);
      p.b = plainDesc(dims->b, dt);
      p.y = plainDesc(dims->y, dt);
      if (bias != nullptr) {
        memory::dims biasDims(rank, 1);
        biasDims.back() = dims->y.back();
        p.bias = plainDesc(biasDims, toDnnlType(bias->type()));
      }
      p.create(attr);
    }
    ctx.state() = state;
  }
  const void* biasData = bias != nullptr ? bias->data() : nullptr;
  if (state->rows) {
    return state->rows->run(ctx, static_cast<const std::byte*>(ctx.input(0).data()),
                            static_cast<const std::byte*>(ctx.input(1).data()), biasData,
                            static_cast<std::byte*>(y.data()), ir::dataTypeInfo(y.type()).storageBytes);
  }
  state->batched.run(ctx.input(0).data(), ctx.input(1).data(), biasData, y.data());
  return {};
}

template <bool kFused>
Status matMulKernel(KernelContext& ctx) {
  try {
    return runMatMul<kFused>(ctx);
  } catch (const dnnl::error& e) {
    return oneDnnError(ctx, e);
  }
}

bool supportsMatMul(const ir::Node& /*node*/, const std::vector<ir::Shape>& shapes) {
  if (shapes.size() < 2 || !rankKnownNoZeroDim(shapes[0]) || !rankKnownNoZeroDim(shapes[1])) return false;
  const int64_t rank = std::max<int64_t>({shapes[0].rank(), shapes[1].rank(), 2});
  return shapes[0].rank() >= 1 && shapes[1].rank() >= 1 && rank <= static_cast<int64_t>(kMaxRank);
}

bool supportsFusedMatMul(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.size() > 2 && node.input(2) != nullptr && !rankKnownNoZeroDim(shapes[2])) return false;
  return supportsMatMul(node, shapes) && activationSupported(node);
}

// ---- Gemm ------------------------------------------------------------------------------------------------

struct GemmState {
  std::vector<int64_t> aShape;
  std::vector<int64_t> bShape;
  bool addC = false;
  std::shared_ptr<RowSplit> rows;
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
      state->addC != (tc != nullptr)) {
    state = std::make_shared<GemmState>();
    state->aShape = ta.shape();
    state->bShape = tb.shape();
    state->addC = tc != nullptr;
    state->rows = std::make_shared<RowSplit>();
    RowSplit& r = *state->rows;
    r.m = m;
    r.k = k;
    r.n = n;
    r.transA = transA;
    r.transB = transB;
    r.packB = isConstant(ctx, 1);
    if (alpha != 1.0f) r.attr.set_output_scales(0, {alpha});
    if (state->addC) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      r.attr.set_post_ops(ops);
    }
    ctx.state() = state;
  }
  return state->rows->run(ctx, static_cast<const std::byte*>(ta.data()),
                          static_cast<const std::byte*>(tb.data()), nullptr, reinterpret_cast<std::byte*>(y),
                          sizeof(float));
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
  const TypeSet f32 = {DataType::kFloat32};
  const TypeSet bf16 = {DataType::kBFloat16};
  registry.add({.opType = "MatMul",
                .name = "f32-matmul-onednn",
                .inputTypes = {f32},
                .outputTypes = {f32},
                .fn = matMulKernel<false>,
                .supports = supportsMatMul,
                .reference = false});
  registry.add({.opType = "FusedMatMul",
                .name = "f32-fusedmatmul-onednn",
                .inputTypes = {f32},
                .outputTypes = {f32},
                .fn = matMulKernel<true>,
                .domain = ir::ops::kLowpDomain,
                .supports = supportsFusedMatMul,
                .reference = false});
  registry.add({.opType = "MatMul",
                .name = "bf16-matmul-onednn",
                .inputTypes = {bf16},
                .outputTypes = {bf16},
                .fn = matMulKernel<false>,
                .feature = CpuFeature::kAvx512,
                .supports = supportsMatMul,
                .reference = false});
  registry.add({.opType = "FusedMatMul",
                .name = "bf16-fusedmatmul-onednn",
                .inputTypes = {bf16, bf16, {DataType::kBFloat16, DataType::kFloat32}},
                .outputTypes = {bf16},
                .fn = matMulKernel<true>,
                .feature = CpuFeature::kAvx512,
                .domain = ir::ops::kLowpDomain,
                .supports = supportsFusedMatMul,
                .reference = false});
  registry.add({.opType = "Gemm",
                .name = "f32-gemm-onednn",
                .inputTypes = {f32},
                .outputTypes = {f32},
                .fn = gemmKernel,
                .supports = supportsGemm,
                .reference = false});
}

}  // namespace lowp::kernels::onednn
