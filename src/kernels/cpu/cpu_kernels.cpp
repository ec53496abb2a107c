// lowp's vectorised CPU kernels as registry entries: the ISA-independent part (attributes, shapes, threading)
// around the loops of simd_kernels.h.
//
// Kernels (each for fp32, bf16 and fp16 storage; each on AVX-512 and on AVX2):
//   Cast, CastLike          between fp32, bf16 and fp16, bit-exact with the reference (NaN included)
//   unary elementwise       Relu, LeakyRelu, Sigmoid, Tanh, Exp, Erf, Gelu, HardSigmoid, HardSwish, Clip,
//                           Neg, Abs, Sqrt, Reciprocal
//   binary elementwise      Add, Sub, Mul, Div, Max, Min (two inputs): one input of the output's shape, the
//                           other of the same shape, a scalar, or a contiguous block of its dims (last-axis,
//                           per-channel [C,1,1], ...), see ProgramStep
//   Softmax                 axis = last (opset 13+), or any axis under opsets 1-12's 2-D coercion
//   LayerNormalization      scale (and bias) of the normalised shape, stash_type fp32, Y only
//   lowp.ElementwiseChain   every step above, operands broadcast as for the binary ops
// Where static shapes show a case the loops do not cover, supports() says no; where shapes are only known
// at run time, the kernel checks them and runs the op's reference kernel for such a case.
// Elementwise work splits into chunks of 16K elements (32K for casts), rows into chunks of about 16K
// elements. Tests: tests/unit/test_cpu_kernels.cpp, tests/unit/test_elementwise_chain.cpp.
#include "kernels/cpu/cpu_kernels.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ir/ops/elementwise_chain.h"
#include "ir/ops/fused.h"
#include "ir/shape.h"
#include "kernels/cpu/simd_kernels.h"

namespace lowp::kernels::cpu {
namespace {

constexpr int64_t kElementGrain = int64_t{1} << 14;
constexpr int64_t kCastGrain = int64_t{1} << 15;

using TableFn = const IsaKernels& (*)();

std::optional<Storage> storageOf(DataType t) {
  switch (t) {
    case DataType::kFloat32:
      return Storage::kF32;
    case DataType::kBFloat16:
      return Storage::kBf16;
    case DataType::kFloat16:
      return Storage::kF16;
    default:
      return std::nullopt;
  }
}

int64_t elementBytes(Storage s) {
  return s == Storage::kF32 ? 4 : 2;
}

std::string typeName(DataType t) {
  return std::string(ir::dataTypeInfo(t).name);
}

const char* byteAt(const Tensor& t, int64_t element, Storage s) {
  return static_cast<const char*>(t.data()) + element * elementBytes(s);
}
char* byteAt(Tensor& t, int64_t element, Storage s) {
  return static_cast<char*>(t.data()) + element * elementBytes(s);
}

/// Runs the node's reference kernel: the fallback for shapes known only at run time that the loops do not
/// cover.
Status runReference(KernelContext& ctx) {
  std::vector<DataType> in;
  std::vector<DataType> out;
  for (size_t i = 0; i < ctx.inputCount(); ++i)
    in.push_back(ctx.hasInput(i) ? ctx.input(i).type() : DataType::kUndefined);
  for (size_t i = 0; i < ctx.outputCount(); ++i) {
    out.push_back(ctx.hasOutput(i) ? ctx.output(i).type() : DataType::kUndefined);
  }
  const ir::Node& node = ctx.node();
  for (const KernelDef* k : KernelRegistry::global().find(node.domain, node.opType, Backend::kCpu, in, out)) {
    if (k->reference) return k->fn(ctx);
  }
  return ctx.unsupported("no reference kernel to fall back on");
}

// ---- Broadcast views ----

struct View {
  int64_t channels = 1;
  int64_t inner = 1;
};

/// How `operand` reads when broadcast into `full` (see ProgramStep): its dims other than 1 must be one
/// contiguous block of full's dims, equal to them. nullopt otherwise.
std::optional<View> viewOf(const std::vector<int64_t>& operand, const std::vector<int64_t>& full) {
  if (operand.size() > full.size()) return std::nullopt;
  const size_t offset = full.size() - operand.size();
  size_t lo = full.size();
  size_t hi = 0;
  for (size_t d = 0; d < operand.size(); ++d) {
    if (operand[d] == 1) continue;
    if (operand[d] != full[offset + d]) return std::nullopt;
    lo = std::min(lo, offset + d);
    hi = offset + d + 1;
  }
  View v;
  if (lo >= hi) return v;  // one value
  for (size_t d = lo; d < hi; ++d) {
    if (operand[d - offset] != full[d]) return std::nullopt;  // a broadcast dim inside the block
    v.channels *= full[d];
  }
  for (size_t d = hi; d < full.size(); ++d) v.inner *= full[d];
  return v;
}

/// Static sizes of a shape, or nullopt.
std::optional<std::vector<int64_t>> sizesOf(const ir::Shape& s) {
  if (!s.isStatic()) return std::nullopt;
  return s.sizes();
}

// ---- Unary ----

struct Bounds {
  float lo;
  float hi;
};

/// Clip's bounds: inputs 1 and 2 when given (opset 11+), else attributes min / max, else +-Inf.
Result<Bounds> clipBounds(const KernelContext& ctx) {
  Bounds b{-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
  for (size_t slot : {size_t{1}, size_t{2}}) {
    const char* attr = slot == 1 ? "min" : "max";
    float& bound = slot == 1 ? b.lo : b.hi;
    if (ctx.hasInput(slot)) {
      const Tensor& t = ctx.input(slot);
      if (t.elementCount() != 1 || t.type() != ctx.input(0).type()) {
        return ctx.invalid(std::string(attr) + " must be one value of the input's type, got " + t.describe());
      }
      bound = static_cast<float>(elementAsDouble(t, 0));  // exact: fp32, bf16 and fp16 all fit
    } else if (ctx.attrs().has(attr)) {
      bound = ctx.attrs().getFloat(attr, 0.0f);
    }
  }
  return b;
}

/// The step of a unary op with the node's attributes (defaults as in the ONNX spec).
Result<ProgramStep> unaryStep(const KernelContext& ctx, StepOp op) {
  ProgramStep step;
  step.op = op;
  const ir::AttributeMap& a = ctx.attrs();
  switch (op) {
    case StepOp::kLeakyRelu:
      step.alpha = a.getFloat("alpha", 0.01f);
      break;
    case StepOp::kHardSigmoid:
      step.alpha = a.getFloat("alpha", 0.2f);
      step.beta = a.getFloat("beta", 0.5f);
      break;
    case StepOp::kGelu: {
      const std::string approximate = a.getString("approximate", "none");
      if (approximate != "none" && approximate != "tanh") {
        return ctx.invalid("approximate must be \"none\" or \"tanh\", got \"" + approximate + "\"");
      }
      step.alpha = approximate == "tanh" ? 1.0f : 0.0f;
      break;
    }
    case StepOp::kClip: {
      LOWP_ASSIGN_OR_RETURN(Bounds b, clipBounds(ctx));
      step.alpha = b.lo;
      step.beta = b.hi;
      break;
    }
    default:
      break;
  }
  return step;
}

/// Runs a program over every element of X into Y, in parallel chunks.
void runSteps(KernelContext& ctx, const IsaKernels& isa, Storage storage,
              const std::vector<ProgramStep>& steps, const Tensor& x, Tensor& y) {
  const int count = static_cast<int>(steps.size());
  ctx.parallelFor(x.elementCount(), kElementGrain, [&](int64_t begin, int64_t end) {
    isa.runProgram(storage, steps.data(), count, x.data(), y.data(), begin, end);
  });
}

template <TableFn kTable, StepOp kOp>
Status unaryKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const auto storage = storageOf(x.type());
  if (!storage || y.type() != x.type()) return ctx.unsupported("no kernel for type " + typeName(x.type()));
  if (y.elementCount() != x.elementCount()) return ctx.invalid("output size differs from the input's");
  LOWP_ASSIGN_OR_RETURN(ProgramStep step, unaryStep(ctx, kOp));
  runSteps(ctx, kTable(), *storage, {step}, x, y);
  return {};
}

// ---- Binary ----

/// Which input is read at the output's own index (the full one) and how the other broadcasts.
struct BinaryPlan {
  size_t full = 0;
  View view;
};

std::optional<BinaryPlan> planBinary(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                                     const std::vector<int64_t>& out) {
  if (a == out) {
    if (auto v = viewOf(b, out)) return BinaryPlan{0, *v};
  }
  if (b == out) {
    if (auto v = viewOf(a, out)) return BinaryPlan{1, *v};
  }
  return std::nullopt;
}

bool binarySupports(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.size() != 2) return false;
  const auto a = sizesOf(shapes[0]);
  const auto b = sizesOf(shapes[1]);
  if (!a || !b) return true;  // decided at run time
  auto out = ir::broadcastShapes(shapes[0], shapes[1]);
  return out.isOk() && planBinary(*a, *b, out->sizes()).has_value();
}

template <TableFn kTable, StepOp kOp>
Status binaryKernel(KernelContext& ctx) {
  if (ctx.inputCount() != 2 || !ctx.hasInput(0) || !ctx.hasInput(1)) return runReference(ctx);
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Tensor& y = ctx.output(0);
  const auto storage = storageOf(a.type());
  if (!storage || b.type() != a.type() || y.type() != a.type()) {
    return ctx.invalid("inputs have types " + typeName(a.type()) + " and " + typeName(b.type()));
  }
  const auto plan = planBinary(a.shape(), b.shape(), y.shape());
  if (!plan) return runReference(ctx);
  const Tensor& full = plan->full == 0 ? a : b;
  const Tensor& operand = plan->full == 0 ? b : a;
  ProgramStep step;
  step.op = kOp;
  step.operandFirst = plan->full == 1;
  step.operand = operand.data();
  step.channels = plan->view.channels;
  step.inner = plan->view.inner;
  runSteps(ctx, kTable(), *storage, {step}, full, y);
  return {};
}

// ---- Casts ----

template <TableFn kTable>
Status castKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  Tensor& out = ctx.output(0);
  const auto from = storageOf(in.type());
  const auto to = storageOf(out.type());
  if (!from || !to)
    return ctx.unsupported("no cast from " + typeName(in.type()) + " to " + typeName(out.type()));
  if (out.elementCount() != in.elementCount()) return ctx.invalid("output size differs from the input's");
  const IsaKernels& isa = kTable();
  ctx.parallelFor(in.elementCount(), kCastGrain, [&](int64_t begin, int64_t end) {
    isa.cast(*from, byteAt(in, begin, *from), *to, byteAt(out, begin, *to), end - begin);
  });
  return {};
}

// ---- Softmax ----

int64_t product(const std::vector<int64_t>& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end && d < shape.size(); ++d) n *= shape[d];
  return n;
}

int64_t rowGrain(int64_t rowSize) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, rowSize));
}

/// Opset 13+ normalises one axis, which the loops handle when it is the last; opsets 1-12 coerce X to 2-D
/// at the axis, so every row is contiguous.
bool softmaxSupports(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (node.opsetVersion < 13 || shapes.empty() || !shapes[0].rankKnown()) return true;
  auto axis = ir::normalizeAxis(node.attributes.getInt("axis", -1), shapes[0].rank());
  return axis.isOk() && *axis == shapes[0].rank() - 1;
}

template <TableFn kTable>
Status softmaxKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const auto storage = storageOf(x.type());
  if (!storage || y.type() != x.type()) return ctx.unsupported("no kernel for type " + typeName(x.type()));
  const std::vector<int64_t>& shape = x.shape();
  const bool coerce2d = ctx.node().opsetVersion < 13;
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", coerce2d ? 1 : -1), x.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  if (!coerce2d && *axis != x.rank() - 1) return runReference(ctx);
  const int64_t size = product(shape, static_cast<size_t>(*axis), shape.size());
  if (size == 0 || x.elementCount() == 0) return {};
  const int64_t rows = x.elementCount() / size;
  const IsaKernels& isa = kTable();
  ctx.parallelFor(rows, rowGrain(size), [&](int64_t begin, int64_t end) {
    isa.softmaxRows(*storage, x.data(), y.data(), begin, end, size);
  });
  return {};
}

// ---- LayerNormalization ----

/// True when a parameter of shape `p` holds exactly the normalised dims shape[axis:] (leading 1s allowed).
bool fitsRow(const std::vector<int64_t>& p, const std::vector<int64_t>& shape, size_t axis) {
  const size_t rowRank = shape.size() - axis;
  if (p.size() < rowRank) {
    // Fewer dims: the missing leading row dims must be 1.
    for (size_t d = axis; d < shape.size() - p.size(); ++d) {
      if (shape[d] != 1) return false;
    }
  } else {
    for (size_t d = 0; d < p.size() - rowRank; ++d) {
      if (p[d] != 1) return false;
    }
  }
  const size_t n = std::min(p.size(), rowRank);
  for (size_t d = 0; d < n; ++d) {
    if (p[p.size() - n + d] != shape[shape.size() - n + d]) return false;
  }
  return true;
}

bool layerNormSupports(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (node.attributes.getInt("stash_type", 1) != 1) return false;
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (node.outputs[i] != nullptr) return false;
  }
  if (shapes.size() < 2) return false;
  const auto x = sizesOf(shapes[0]);
  if (!x) return true;  // decided at run time
  auto axis = ir::normalizeAxis(node.attributes.getInt("axis", -1), static_cast<int64_t>(x->size()));
  if (!axis) return false;
  for (size_t i = 1; i < shapes.size() && i < 3; ++i) {
    const auto p = sizesOf(shapes[i]);
    if (p && !fitsRow(*p, *x, static_cast<size_t>(*axis))) return false;
  }
  return true;
}

template <TableFn kTable>
Status layerNormKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const auto storage = storageOf(x.type());
  if (!storage || y.type() != x.type()) return ctx.unsupported("no kernel for type " + typeName(x.type()));
  const std::vector<int64_t>& shape = x.shape();
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", -1), x.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  if (!ctx.hasInput(1)) return ctx.invalid("scale is missing");
  const bool hasBias = ctx.hasInput(2);
  bool fits = ctx.attrs().getInt("stash_type", 1) == 1 && ctx.input(1).type() == x.type() &&
              fitsRow(ctx.input(1).shape(), shape, static_cast<size_t>(*axis));
  if (hasBias)
    fits = fits && ctx.input(2).type() == x.type() &&
           fitsRow(ctx.input(2).shape(), shape, static_cast<size_t>(*axis));
  for (size_t i = 1; i < ctx.outputCount(); ++i) fits = fits && !ctx.hasOutput(i);
  if (!fits) return runReference(ctx);
  const int64_t size = product(shape, static_cast<size_t>(*axis), shape.size());
  if (size == 0 || x.elementCount() == 0) return {};
  const int64_t rows = x.elementCount() / size;
  const double epsilon = ctx.attrs().getFloat("epsilon", 1e-5f);
  const IsaKernels& isa = kTable();
  const void* bias = hasBias ? ctx.input(2).data() : nullptr;
  ctx.parallelFor(rows, rowGrain(size), [&](int64_t begin, int64_t end) {
    isa.layerNormRows(*storage, x.data(), ctx.input(1).data(), bias, y.data(), begin, end, size, epsilon);
  });
  return {};
}

// ---- lowp.FusedLayerNorm ----

/// X + Residual of one shape (read through residual_perm) rounded to X's type (as the Add stored it),
/// written into Y row by row and normalised there while the row is in cache; the reference kernel takes a
/// residual that broadcasts and what layerNormKernel would hand to its reference.
template <TableFn kTable>
Status fusedLayerNormKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const auto storage = storageOf(x.type());
  if (!ctx.hasInput(ir::ops::kFusedLayerNormResidual) || !storage || !ctx.hasInput(1) || y.type() != x.type())
    return runReference(ctx);
  std::vector<ir::Shape> shapes;
  for (size_t i = 0; i < 3; ++i) {
    shapes.push_back(ctx.hasInput(i) ? ir::Shape::fromSizes(ctx.input(i).shape()) : ir::Shape::unknownRank());
  }
  const Tensor& residual = ctx.input(ir::ops::kFusedLayerNormResidual);
  if (!layerNormSupports(ctx.node(), shapes) || residual.type() != x.type()) return runReference(ctx);
  for (size_t i = 1; i < 3; ++i) {
    if (ctx.hasInput(i) && ctx.input(i).type() != x.type()) return runReference(ctx);
  }
  const std::vector<int64_t>& shape = x.shape();
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", -1), x.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  const int64_t size = product(shape, static_cast<size_t>(*axis), shape.size());
  // Each row of the sum adds one contiguous row of the residual (read through residual_perm), or the
  // residual broadcasts: the reference kernel.
  const auto strides = ir::ops::fusedLayerNormResidualStrides(
      residual.shape(), ctx.attrs().getInts(ir::ops::kFusedLayerNormResidualPerm), shape);
  if (!strides || residual.elementCount() != x.elementCount() ||
      !ir::ops::rowsAreContiguous(*strides, shape, static_cast<size_t>(*axis)))
    return runReference(ctx);
  if (size == 0 || x.elementCount() == 0) return {};
  const int64_t rows = x.elementCount() / size;
  const double epsilon = ctx.attrs().getFloat("epsilon", 1e-5f);
  const IsaKernels& isa = kTable();
  const auto bytes = static_cast<int64_t>(ir::dataTypeInfo(x.type()).storageBytes);
  const void* bias = ctx.hasInput(2) ? ctx.input(2).data() : nullptr;
  ctx.parallelFor(rows, rowGrain(size), [&](int64_t begin, int64_t end) {
    std::vector<float> a(static_cast<size_t>(*storage == Storage::kF32 ? 0 : 2 * size));
    for (int64_t r = begin; r < end; ++r) {
      const int64_t at = r * size * bytes;
      char* out = static_cast<char*>(y.data()) + at;
      if (*storage == Storage::kF32) {
        const float* p = x.data<float>() + r * size;
        const float* q =
            residual.data<float>() + ir::ops::rowOffset(*strides, shape, static_cast<size_t>(*axis), r);
        float* o = reinterpret_cast<float*>(out);
        for (int64_t k = 0; k < size; ++k) o[k] = p[k] + q[k];
      } else {
        float* p = a.data();
        float* q = a.data() + size;
        isa.cast(*storage, static_cast<const char*>(x.data()) + at, Storage::kF32, p, size);
        isa.cast(*storage,
                 static_cast<const char*>(residual.data()) +
                     ir::ops::rowOffset(*strides, shape, static_cast<size_t>(*axis), r) * bytes,
                 Storage::kF32, q, size);
        for (int64_t k = 0; k < size; ++k) p[k] += q[k];
        isa.cast(Storage::kF32, p, *storage, out, size);
      }
      // In place: each row's statistics are taken before any of it is written.
      isa.layerNormRows(*storage, y.data(), ctx.input(1).data(), bias, y.data(), r, r + 1, size, epsilon);
    }
  });
  return {};
}

// ---- lowp.ElementwiseChain ----

std::optional<StepOp> stepOpOf(std::string_view op) {
  static constexpr std::pair<std::string_view, StepOp> kOps[] = {{"Relu", StepOp::kRelu},
                                                                 {"LeakyRelu", StepOp::kLeakyRelu},
                                                                 {"Sigmoid", StepOp::kSigmoid},
                                                                 {"Tanh", StepOp::kTanh},
                                                                 {"Exp", StepOp::kExp},
                                                                 {"Erf", StepOp::kErf},
                                                                 {"Gelu", StepOp::kGelu},
                                                                 {"HardSigmoid", StepOp::kHardSigmoid},
                                                                 {"HardSwish", StepOp::kHardSwish},
                                                                 {"Clip", StepOp::kClip},
                                                                 {"Neg", StepOp::kNeg},
                                                                 {"Abs", StepOp::kAbs},
                                                                 {"Sqrt", StepOp::kSqrt},
                                                                 {"Reciprocal", StepOp::kReciprocal},
                                                                 {"Add", StepOp::kAdd},
                                                                 {"Sub", StepOp::kSub},
                                                                 {"Mul", StepOp::kMul},
                                                                 {"Div", StepOp::kDiv},
                                                                 {"Max", StepOp::kMax},
                                                                 {"Min", StepOp::kMin}};
  for (const auto& [name, step] : kOps) {
    if (name == op) return step;
  }
  return std::nullopt;
}

bool chainSupports(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  auto steps = ir::ops::readChainProgram(node.attributes, shapes.size());
  if (!steps || steps->size() > static_cast<size_t>(kMaxProgramSteps) || shapes.empty()) return false;
  const auto x = sizesOf(shapes[0]);
  if (!x) return true;  // decided at run time
  for (const ir::ops::ChainStep& s : *steps) {
    if (s.operand < 0) continue;
    const auto p = sizesOf(shapes[static_cast<size_t>(s.operand)]);
    if (p && !viewOf(*p, *x)) return false;
  }
  return true;
}

template <TableFn kTable>
Status chainKernel(KernelContext& ctx) {
  auto program = ir::ops::readChainProgram(ctx.attrs(), ctx.inputCount());
  if (!program) return ctx.invalid(program.status().message());
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const auto storage = storageOf(x.type());
  if (!storage || y.type() != x.type()) return ctx.unsupported("no kernel for type " + typeName(x.type()));
  if (y.elementCount() != x.elementCount()) return ctx.invalid("output size differs from X's");
  if (program->size() > static_cast<size_t>(kMaxProgramSteps)) return runReference(ctx);
  std::vector<ProgramStep> steps;
  for (const ir::ops::ChainStep& s : *program) {
    ProgramStep step;
    step.op = *stepOpOf(s.op);  // readChainProgram admits only ops stepOpOf knows
    step.alpha = s.alpha;
    step.beta = s.beta;
    step.operandFirst = s.operandFirst;
    if (s.operand >= 0) {
      if (!ctx.hasInput(static_cast<size_t>(s.operand))) {
        return ctx.invalid("operand " + std::to_string(s.operand) + " is missing");
      }
      const Tensor& operand = ctx.input(static_cast<size_t>(s.operand));
      if (operand.type() != x.type()) {
        return ctx.invalid("operand " + std::to_string(s.operand) + " has type " + typeName(operand.type()) +
                           ", X " + typeName(x.type()));
      }
      const auto view = viewOf(operand.shape(), x.shape());
      if (!view) return runReference(ctx);
      step.operand = operand.data();
      step.channels = view->channels;
      step.inner = view->inner;
    }
    steps.push_back(step);
  }
  runSteps(ctx, kTable(), *storage, steps, x, y);
  return {};
}

// ---- Registration ----

/// Kernel names live as long as the registry.
std::string_view intern(std::string name) {
  static std::deque<std::string> names;
  names.push_back(std::move(name));
  return names.back();
}

struct OpEntry {
  std::string_view opType;
  std::string_view name;
  KernelFn fn;
  SupportsFn supports;
};

template <TableFn kTable>
void registerIsa(KernelRegistry& registry, CpuFeature feature, std::string_view isa) {
  const OpEntry ops[] = {
      {"Relu", "relu", &unaryKernel<kTable, StepOp::kRelu>, nullptr},
      {"LeakyRelu", "leakyrelu", &unaryKernel<kTable, StepOp::kLeakyRelu>, nullptr},
      {"Sigmoid", "sigmoid", &unaryKernel<kTable, StepOp::kSigmoid>, nullptr},
      {"Tanh", "tanh", &unaryKernel<kTable, StepOp::kTanh>, nullptr},
      {"Exp", "exp", &unaryKernel<kTable, StepOp::kExp>, nullptr},
      {"Erf", "erf", &unaryKernel<kTable, StepOp::kErf>, nullptr},
      {"Gelu", "gelu", &unaryKernel<kTable, StepOp::kGelu>, nullptr},
      {"HardSigmoid", "hardsigmoid", &unaryKernel<kTable, StepOp::kHardSigmoid>, nullptr},
      {"HardSwish", "hardswish", &unaryKernel<kTable, StepOp::kHardSwish>, nullptr},
      {"Clip", "clip", &unaryKernel<kTable, StepOp::kClip>, nullptr},
      {"Neg", "neg", &unaryKernel<kTable, StepOp::kNeg>, nullptr},
      {"Abs", "abs", &unaryKernel<kTable, StepOp::kAbs>, nullptr},
      {"Sqrt", "sqrt", &unaryKernel<kTable, StepOp::kSqrt>, nullptr},
      {"Reciprocal", "reciprocal", &unaryKernel<kTable, StepOp::kReciprocal>, nullptr},
      {"Add", "add", &binaryKernel<kTable, StepOp::kAdd>, &binarySupports},
      {"Sub", "sub", &binaryKernel<kTable, StepOp::kSub>, &binarySupports},
      {"Mul", "mul", &binaryKernel<kTable, StepOp::kMul>, &binarySupports},
      {"Div", "div", &binaryKernel<kTable, StepOp::kDiv>, &binarySupports},
      {"Max", "max", &binaryKernel<kTable, StepOp::kMax>, &binarySupports},
      {"Min", "min", &binaryKernel<kTable, StepOp::kMin>, &binarySupports},
      {"Softmax", "softmax", &softmaxKernel<kTable>, &softmaxSupports},
      {"LayerNormalization", "layernorm", &layerNormKernel<kTable>, &layerNormSupports},
  };
  const std::pair<DataType, std::string_view> types[] = {
      {DataType::kFloat32, "f32"}, {DataType::kBFloat16, "bf16"}, {DataType::kFloat16, "f16"}};
  auto name = [&](std::string_view dtype, std::string_view op) {
    return intern(std::string(dtype) + "-" + std::string(op) + "-" + std::string(isa));
  };
  for (const auto& [type, dtype] : types) {
    for (const OpEntry& op : ops) {
      registry.add({.opType = op.opType,
                    .name = name(dtype, op.name),
                    .inputTypes = {TypeSet{type}},
                    .outputTypes = {TypeSet{type}},
                    .fn = op.fn,
                    .feature = feature,
                    .supports = op.supports,
                    .reference = false});
    }
    registry.add({.opType = ir::ops::kFusedLayerNormOp,
                  .name = name(dtype, "fusedlayernorm"),
                  .inputTypes = {TypeSet{type}},
                  .outputTypes = {TypeSet{type}},
                  .fn = &fusedLayerNormKernel<kTable>,
                  .feature = feature,
                  .domain = ir::ops::kLowpDomain,
                  .supports = &layerNormSupports,
                  .reference = false});
    registry.add({.opType = ir::ops::kElementwiseChainOp,
                  .name = name(dtype, "elementwisechain"),
                  .inputTypes = {TypeSet{type}},
                  .outputTypes = {TypeSet{type}},
                  .fn = &chainKernel<kTable>,
                  .feature = feature,
                  .domain = ir::ops::kElementwiseChainDomain,
                  .supports = &chainSupports,
                  .reference = false});
    for (const auto& [to, toName] : types) {
      if (to == type) continue;
      const std::string cast = std::string(dtype) + "to" + std::string(toName);
      registry.add({.opType = "Cast",
                    .name = name(cast, "cast"),
                    .inputTypes = {TypeSet{type}},
                    .outputTypes = {TypeSet{to}},
                    .fn = &castKernel<kTable>,
                    .feature = feature,
                    .reference = false});
      registry.add({.opType = "CastLike",
                    .name = name(cast, "castlike"),
                    .inputTypes = {TypeSet{type}, TypeSet{to}},
                    .outputTypes = {TypeSet{to}},
                    .fn = &castKernel<kTable>,
                    .feature = feature,
                    .reference = false});
    }
  }
}

}  // namespace

void registerCpuKernels(KernelRegistry& registry) {
  registerIsa<&avx512Kernels>(registry, CpuFeature::kAvx512, "avx512");
  registerIsa<&avx2Kernels>(registry, CpuFeature::kAvx2, "avx2");
  registerAttentionKernels(registry);
  registerCopyKernels(registry);
  registerResizeKernels(registry);
  registerQuantizeKernels(registry);
  registerReformatKernels(registry);
}

}  // namespace lowp::kernels::cpu
