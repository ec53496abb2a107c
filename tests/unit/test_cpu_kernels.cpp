// lowp's vectorised CPU kernels (src/kernels/cpu/) against the reference kernels: casts bit for bit over
// every bf16/fp16 pattern and special fp32 values, every elementwise op on wide-range data with NaN, +-Inf
// and denormals, the broadcast patterns of the binary ops, Softmax and LayerNormalization, each for fp32,
// bf16 and fp16 and on both ISAs (the AVX2 kernels run on AVX-512 machines too; a test skips where the CPU
// lacks the ISA). Sizes are not multiples of the vector width, and the work is split at odd offsets.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/numeric.h"
#include "ir/ops/tensor_shapes.h"
#include "kernels/cpu/simd_kernels.h"
#include "kernels/kernel.h"
#include "op_runner.h"
#include "runtime/cpu_features.h"

namespace lowp::testing {
namespace {

using kernels::CpuFeature;
using kernels::KernelContext;
using kernels::KernelDef;
using kernels::KernelRegistry;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct Isa {
  const char* name;
  CpuFeature feature;
  const kernels::cpu::IsaKernels& (*table)();
};
const Isa kIsas[] = {{"avx512", CpuFeature::kAvx512, &kernels::cpu::avx512Kernels},
                     {"avx2", CpuFeature::kAvx2, &kernels::cpu::avx2Kernels}};

const DataType kTypes[] = {DataType::kFloat32, DataType::kBFloat16, DataType::kFloat16};

std::string dtypeName(DataType t) {
  return t == DataType::kFloat32 ? "f32" : t == DataType::kBFloat16 ? "bf16" : "f16";
}

// Splits work into chunks of grain + 5 elements, so chunk boundaries fall at odd offsets.
const kernels::ParallelFor kOddChunks = [](int64_t n, int64_t grain,
                                           const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t step = grain + 5;
  for (int64_t begin = 0; begin < n; begin += step) fn(begin, std::min(n, begin + step));
};

const KernelDef* kernelNamed(const std::string& name) {
  for (const KernelDef& k : KernelRegistry::global().all()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

const KernelDef* referenceFor(const ir::Node& node, const std::vector<DataType>& in, DataType out) {
  for (const KernelDef* k :
       KernelRegistry::global().find(node.domain, node.opType, kernels::Backend::kCpu, in, {out})) {
    if (k->reference) return k;
  }
  return nullptr;
}

ir::Node makeNode(const std::string& op, ir::AttributeMap attributes = {}, int64_t opset = 21) {
  ir::Node node;
  node.name = op + "_test";
  node.opType = op;
  node.opsetVersion = opset;
  node.attributes = std::move(attributes);
  return node;
}

// The shapes of `inputs`, as supports() takes them.
std::vector<ir::Shape> shapesOf(const std::vector<Tensor>& inputs) {
  std::vector<ir::Shape> shapes;
  shapes.reserve(inputs.size());
  for (const Tensor& t : inputs) shapes.push_back(ir::Shape::fromSizes(t.shape()));
  return shapes;
}

// Runs `kernel` on the node and inputs; the output has `type` and `shape`.
Tensor runKernel(const KernelDef& kernel, const ir::Node& node, const std::vector<Tensor>& inputs,
                 DataType type, const std::vector<int64_t>& shape) {
  std::vector<const Tensor*> in;
  in.reserve(inputs.size());
  for (const Tensor& t : inputs) in.push_back(t.type() == DataType::kUndefined ? nullptr : &t);
  Tensor out(type, shape);
  KernelContext ctx(node, in, {&out}, kOddChunks,
                    [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
  Status s = kernel.fn(ctx);
  EXPECT_TRUE(s.isOk()) << kernel.name << ": " << s.toString();
  return out;
}

Tensor runReference(const ir::Node& node, const std::vector<Tensor>& inputs, DataType type,
                    const std::vector<int64_t>& shape) {
  std::vector<DataType> in;
  in.reserve(inputs.size());
  for (const Tensor& t : inputs) in.push_back(t.type());
  const KernelDef* ref = referenceFor(node, in, type);
  EXPECT_NE(ref, nullptr) << node.opType;
  if (ref == nullptr) return {};
  return runKernel(*ref, node, inputs, type, shape);
}

// Distance in units in the last place between two floats of the same sign region (ordered bit patterns).
int64_t ulpDistance(float a, float b) {
  auto ordered = [](float f) {
    const auto bits = static_cast<int64_t>(std::bit_cast<int32_t>(f));
    return bits < 0 ? int64_t{std::numeric_limits<int32_t>::min()} - bits : bits;
  };
  return std::llabs(ordered(a) - ordered(b));
}

float toFloatAt(const Tensor& t, int64_t i) {
  return static_cast<float>(elementAsDouble(t, i));
}

// Wide-range test values: ordinary, tiny and huge magnitudes of both signs, denormals, +-0, +-Inf, NaN.
std::vector<double> wideValues(int64_t n, unsigned seed, double ordinaryRange = 10.0) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(-ordinaryRange, ordinaryRange);
  std::uniform_real_distribution<double> exponent(-44.0, 38.0);
  std::vector<double> v = {0.0,    -0.0,  kInf,    -kInf,          kNaN,         -kNaN,         1e-45,
                           -1e-45, 1e-40, -3e-39,  1.17549435e-38, 3.4028235e38, -3.4028235e38, 88.7,
                           89.0,   -87.3, -103.9,  -104.5,         0.5,          -0.5,          1.0,
                           -1.0,   0.55,  -0.55,   3.92,           -3.92,        9.0,           -9.0,
                           1e-4,   -1e-4, 60000.0, 70000.0,        -7e4};
  while (static_cast<int64_t>(v.size()) < n) {
    const double sign = rng() % 2 ? 1.0 : -1.0;
    v.push_back(rng() % 3 == 0 ? sign * std::pow(10.0, exponent(rng)) : uniform(rng));
  }
  v.resize(static_cast<size_t>(n));
  return v;
}

// ---- Casts ----

// Every fp32 value the tests cast: every bf16 and fp16 pattern widened, their rounding ties and neighbours,
// NaN payloads (quiet and signaling) and random bit patterns.
std::vector<uint32_t> castBitPatterns() {
  std::vector<uint32_t> bits;
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint32_t b = h << 16;
    bits.insert(bits.end(), {b, b | 0x8000u, b | 0x7fffu, b | 0x8001u, b | 0x1u});
    const uint32_t f = std::bit_cast<uint32_t>(ir::float16ToFloat(static_cast<uint16_t>(h)));
    bits.insert(bits.end(), {f, f + 0x1000u, f + 0xfffu, f + 0x1001u});
  }
  bits.insert(bits.end(), {0x7f800001u, 0xff800001u, 0x7fbfffffu, 0x7fc00000u, 0xffc12345u, 0x477ff000u,
                           0x477fefffu, 0x33000000u, 0x33000001u, 0x337fffffu});
  std::mt19937 rng(7);
  for (int i = 0; i < 100000; ++i) bits.push_back(static_cast<uint32_t>(rng()));
  bits.push_back(0x3f800000u);  // odd total count: the last vector is partial
  return bits;
}

TEST(CpuCast, Fp32ToBf16AndFp16BitExactOnEveryIsa) {
  const std::vector<uint32_t> bits = castBitPatterns();
  const int64_t n = static_cast<int64_t>(bits.size());
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    std::vector<uint16_t> bf(bits.size());
    std::vector<uint16_t> hf(bits.size());
    isa.table().cast(kernels::cpu::Storage::kF32, bits.data(), kernels::cpu::Storage::kBf16, bf.data(), n);
    isa.table().cast(kernels::cpu::Storage::kF32, bits.data(), kernels::cpu::Storage::kF16, hf.data(), n);
    int64_t bfMismatches = 0;
    int64_t hfMismatches = 0;
    for (size_t i = 0; i < bits.size(); ++i) {
      const float f = std::bit_cast<float>(bits[i]);
      if (bf[i] != ir::floatToBFloat16(f) && bfMismatches++ < 5) {
        ADD_FAILURE() << isa.name << " bf16 of 0x" << std::hex << bits[i] << ": " << bf[i] << " vs "
                      << ir::floatToBFloat16(f);
      }
      if (hf[i] != ir::floatToFloat16(f) && hfMismatches++ < 5) {
        ADD_FAILURE() << isa.name << " fp16 of 0x" << std::hex << bits[i] << ": " << hf[i] << " vs "
                      << ir::floatToFloat16(f);
      }
    }
    EXPECT_EQ(bfMismatches, 0) << isa.name;
    EXPECT_EQ(hfMismatches, 0) << isa.name;
  }
}

TEST(CpuCast, EveryBf16AndFp16PatternWidensAndCrossConvertsExactly) {
  std::vector<uint16_t> all(65536 + 3);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  const auto n = static_cast<int64_t>(all.size());
  using kernels::cpu::Storage;
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    std::vector<uint32_t> fromBf(all.size());
    std::vector<uint32_t> fromHf(all.size());
    std::vector<uint16_t> bfToHf(all.size());
    std::vector<uint16_t> hfToBf(all.size());
    isa.table().cast(Storage::kBf16, all.data(), Storage::kF32, fromBf.data(), n);
    isa.table().cast(Storage::kF16, all.data(), Storage::kF32, fromHf.data(), n);
    isa.table().cast(Storage::kBf16, all.data(), Storage::kF16, bfToHf.data(), n);
    isa.table().cast(Storage::kF16, all.data(), Storage::kBf16, hfToBf.data(), n);
    int64_t mismatches = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      const float b = ir::bfloat16ToFloat(all[i]);
      const float h = ir::float16ToFloat(all[i]);
      const bool ok = fromBf[i] == std::bit_cast<uint32_t>(b) && fromHf[i] == std::bit_cast<uint32_t>(h) &&
                      bfToHf[i] == ir::floatToFloat16(b) && hfToBf[i] == ir::floatToBFloat16(h);
      if (!ok && mismatches++ < 5) ADD_FAILURE() << isa.name << " pattern 0x" << std::hex << all[i];
    }
    EXPECT_EQ(mismatches, 0) << isa.name;
  }
}

TEST(CpuCast, RegisteredKernelsMatchTheReferenceCast) {
  const std::vector<double> values = wideValues(40000 + 13, 3);
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (DataType from : kTypes) {
      for (DataType to : kTypes) {
        if (from == to) continue;
        const std::string name = dtypeName(from) + "to" + dtypeName(to) + "-cast-" + isa.name;
        const KernelDef* k = kernelNamed(name);
        ASSERT_NE(k, nullptr) << name;
        const ir::Node node = makeNode("Cast");  // the kernels read the output's type
        const std::vector<Tensor> in = {makeTensor(from, {static_cast<int64_t>(values.size())}, values)};
        const Tensor got = runKernel(*k, node, in, to, in[0].shape());
        const Tensor want = runReference(node, in, to, in[0].shape());
        EXPECT_EQ(std::memcmp(got.data(), want.data(), static_cast<size_t>(got.byteSize())), 0) << name;
      }
    }
  }
}

// ---- Unary ops ----

struct UnaryCase {
  std::string op;
  std::string name;
  ir::AttributeMap attributes;
  int64_t maxUlp;  ///< fp32 error bound against the reference; 0: bit-exact
};

std::vector<UnaryCase> unaryCases() {
  return {{"Relu", "relu", {}, 0},
          {"LeakyRelu", "leakyrelu", attrs({{"alpha", 0.1f}}), 0},
          {"Sigmoid", "sigmoid", {}, 3},
          {"Tanh", "tanh", {}, 3},
          {"Exp", "exp", {}, 2},
          {"Erf", "erf", {}, 2},
          {"HardSigmoid", "hardsigmoid", attrs({{"alpha", 0.3f}, {"beta", 0.4f}}), 0},
          {"HardSwish", "hardswish", {}, 0},
          {"Clip", "clip", attrs({{"min", -0.5f}, {"max", 2.0f}}), 0},
          {"Neg", "neg", {}, 0},
          {"Abs", "abs", {}, 0},
          {"Sqrt", "sqrt", {}, 0},
          {"Reciprocal", "reciprocal", {}, 0}};
}

// Compares got with want element by element: NaN where the reference has NaN, and otherwise within maxUlp
// of the stored type (fp32), or one unit of the storage type for bf16/fp16 (a few fp32 ulps may round
// either way). Returns the largest fp32 ulp distance seen.
int64_t expectClose(const Tensor& got, const Tensor& want, const Tensor& in, int64_t maxUlp,
                    const std::string& what) {
  EXPECT_EQ(got.type(), want.type());
  int64_t worst = 0;
  int failures = 0;
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    const float g = toFloatAt(got, i);
    const float w = toFloatAt(want, i);
    if (std::isnan(w) || std::isnan(g)) {
      if (std::isnan(w) != std::isnan(g) && failures++ < 5) {
        ADD_FAILURE() << what << " element " << i << " of x=" << toFloatAt(in, i) << ": " << g << " vs " << w;
      }
      continue;
    }
    int64_t d = ulpDistance(g, w);
    if (got.type() != DataType::kFloat32) d = d == 0 ? 0 : (d <= (int64_t{1} << 16) ? 1 : d);
    worst = std::max(worst, d);
    const int64_t bound = got.type() == DataType::kFloat32 ? maxUlp : (maxUlp == 0 ? 0 : 1);
    if (d > bound && failures++ < 5) {
      ADD_FAILURE() << what << " element " << i << " of x=" << toFloatAt(in, i) << ": " << g << " vs " << w
                    << " (" << d << " ulp)";
    }
  }
  return worst;
}

TEST(CpuUnary, EveryOpMatchesTheReferenceOnWideRangeData) {
  const std::vector<double> values = wideValues(20000 + 7, 5);
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (DataType type : kTypes) {
      const std::vector<Tensor> in = {makeTensor(type, {static_cast<int64_t>(values.size())}, values)};
      for (const UnaryCase& c : unaryCases()) {
        const std::string name = dtypeName(type) + "-" + c.name + "-" + isa.name;
        const KernelDef* k = kernelNamed(name);
        ASSERT_NE(k, nullptr) << name;
        const ir::Node node = makeNode(c.op, c.attributes, c.op == "Clip" ? 6 : 21);
        const Tensor got = runKernel(*k, node, in, type, in[0].shape());
        const Tensor want = runReference(node, in, type, in[0].shape());
        const int64_t worst = expectClose(got, want, in[0], c.maxUlp, name);
        if (type == DataType::kFloat32 && c.maxUlp > 0)
          std::printf("  %-22s max %lld ulp\n", name.c_str(), static_cast<long long>(worst));
      }
    }
  }
}

// The approximations against libm (as the reference computes them) over a stride through every fp32 bit
// pattern: every binade, denormals, Inf and NaN included.
TEST(CpuUnary, ApproximationsHoldTheirBoundsOverAllFloats) {
  std::vector<float> x;
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 509)
    x.push_back(std::bit_cast<float>(static_cast<uint32_t>(bits)));
  x.push_back(kInf);
  x.push_back(-kInf);
  struct Approximation {
    kernels::cpu::StepOp op;
    const char* name;
    float (*exact)(float);
    int64_t maxUlp;
  };
  const Approximation cases[] = {
      {kernels::cpu::StepOp::kExp, "exp", [](float v) { return std::exp(v); }, 2},
      {kernels::cpu::StepOp::kTanh, "tanh", [](float v) { return std::tanh(v); }, 3},
      {kernels::cpu::StepOp::kErf, "erf", [](float v) { return std::erf(v); }, 2},
      {kernels::cpu::StepOp::kSigmoid, "sigmoid",
       [](float v) { return v >= 0 ? 1 / (1 + std::exp(-v)) : std::exp(v) / (1 + std::exp(v)); }, 3}};
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (const Approximation& c : cases) {
      kernels::cpu::ProgramStep step;
      step.op = c.op;
      std::vector<float> y(x.size());
      isa.table().runProgram(kernels::cpu::Storage::kF32, &step, 1, x.data(), y.data(), 0,
                             static_cast<int64_t>(x.size()));
      int64_t worst = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        const float want = c.exact(x[i]);
        if (std::isnan(want) || std::isnan(y[i])) {
          EXPECT_EQ(std::isnan(want), std::isnan(y[i])) << c.name << "(" << x[i] << ")";
          continue;
        }
        const int64_t d = ulpDistance(y[i], want);
        if (d > c.maxUlp)
          ADD_FAILURE() << isa.name << " " << c.name << "(" << x[i] << ") = " << y[i] << ", libm " << want;
        worst = std::max(worst, d);
      }
      std::printf("  %s %-8s max %lld ulp over %zu values\n", isa.name, c.name, static_cast<long long>(worst),
                  x.size());
    }
  }
}

// Clip's bounds as inputs (opset 11+), one of them omitted.
TEST(CpuUnary, ClipReadsBoundInputs) {
  const std::vector<double> values = wideValues(1000 + 3, 9);
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    const KernelDef* k = kernelNamed(std::string("f32-clip-") + isa.name);
    ASSERT_NE(k, nullptr);
    const ir::Node node = makeNode("Clip");
    const std::vector<Tensor> in = {makeTensor(DataType::kFloat32, {1003}, values), Tensor(),
                                    makeTensor(DataType::kFloat32, {}, {0.25})};
    const Tensor got = runKernel(*k, node, in, DataType::kFloat32, {1003});
    const Tensor want = runReference(node, in, DataType::kFloat32, {1003});
    expectClose(got, want, in[0], 0, "clip");
  }
}

// Gelu against a double-precision truth (erfc for the negative tail), both approximations.
TEST(CpuUnary, GeluIsAccurateAgainstDoublePrecision) {
  std::vector<double> values;
  for (double x = -12.0; x <= 12.0; x += 0.00731) values.push_back(x);
  values.insert(values.end(), {kInf, -kInf, kNaN, 0.0, -0.0, 1e-30, -1e-30, 1e20, -1e20});
  const auto n = static_cast<int64_t>(values.size());
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (const bool tanhForm : {false, true}) {
      const KernelDef* k = kernelNamed(std::string("f32-gelu-") + isa.name);
      ASSERT_NE(k, nullptr);
      const ir::Node node =
          makeNode("Gelu", attrs({{"approximate", std::string(tanhForm ? "tanh" : "none")}}));
      const std::vector<Tensor> in = {makeTensor(DataType::kFloat32, {n}, values)};
      const Tensor got = runKernel(*k, node, in, DataType::kFloat32, {n});
      const Tensor want = runReference(node, in, DataType::kFloat32, {n});
      double worst = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const double x = toFloatAt(in[0], i);
        const double g = toFloatAt(got, i);
        if (std::isnan(x) || std::isinf(x)) {
          // Infinities follow the reference's formula: +Inf -> +Inf, -Inf -> NaN (-Inf * 0).
          const double w = toFloatAt(want, i);
          EXPECT_TRUE(std::isnan(w) ? std::isnan(g) : g == w) << x << ": " << g << " vs " << w;
          continue;
        }
        double truth;
        if (tanhForm) {
          const double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
          truth = x / (1.0 + std::exp(-2.0 * u));
        } else {
          truth = 0.5 * x * std::erfc(-x / std::sqrt(2.0));
        }
        if (std::fabs(truth) < 1e-30)
          continue;  // below fp32's normal range the relative error is meaningless
        const double rel = std::fabs(g - truth) / std::fabs(truth);
        worst = std::max(worst, rel);
        // The tanh form's tail inherits the rounding of 2u, amplified by exp: about 1 ulp times |2u|.
        const double twoU = 2.0 * std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
        const double bound = tanhForm ? 2e-6 + 2.5e-7 * std::fabs(twoU) : 2e-6;
        EXPECT_LE(rel, bound) << (tanhForm ? "tanh" : "erf") << " x=" << x << ": " << g << " vs " << truth;
      }
      std::printf("  f32-gelu-%s (%s) max relative error %.2e\n", isa.name, tanhForm ? "tanh" : "erf", worst);
      // Against the reference: close wherever the reference does not cancel (|x| below 3).
      for (int64_t i = 0; i < n; ++i) {
        const double x = toFloatAt(in[0], i);
        if (!(std::fabs(x) < 3.0)) continue;
        const double w = toFloatAt(want, i);
        EXPECT_NEAR(toFloatAt(got, i), w, 2e-6 * std::fabs(w) + 6e-8 * std::fabs(x)) << x;
      }
    }
  }
}

// ---- Binary ops ----

struct BroadcastCase {
  std::vector<int64_t> a;
  std::vector<int64_t> b;
  bool covered;  ///< whether the loops handle it (otherwise the kernel runs the reference)
};

TEST(CpuBinary, EveryOpAndBroadcastPatternMatchesTheReferenceExactly) {
  const std::vector<BroadcastCase> cases = {
      {{3, 5, 37}, {3, 5, 37}, true},       // same shape
      {{3, 5, 37}, {}, true},               // scalar
      {{1}, {2, 300}, true},                // scalar first
      {{4, 33, 7}, {7}, true},              // last axis
      {{2, 5, 9, 11}, {1, 5, 1, 1}, true},  // per channel
      {{5, 1}, {3, 5, 37}, true},           // a block of dims, first
      {{3, 5, 37}, {3, 1, 37}, false},      // broadcast inside: the reference runs
      {{3, 1}, {1, 4}, false},              // both broadcast
  };
  const char* ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min"};
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (DataType type : kTypes) {
      for (const BroadcastCase& c : cases) {
        const std::vector<int64_t> out =
            ir::broadcastShapes(ir::Shape::fromSizes(c.a), ir::Shape::fromSizes(c.b))->sizes();
        const std::vector<Tensor> in = {makeTensor(type, c.a, wideValues(count(c.a), 21)),
                                        makeTensor(type, c.b, wideValues(count(c.b), 22, 3.0))};
        for (const char* op : ops) {
          std::string lower = op;
          for (char& ch : lower) ch = static_cast<char>(std::tolower(ch));
          const std::string name = dtypeName(type) + "-" + lower + "-" + isa.name;
          const KernelDef* k = kernelNamed(name);
          ASSERT_NE(k, nullptr) << name;
          const ir::Node node = makeNode(op);
          EXPECT_EQ(k->supports(node, {ir::Shape::fromSizes(c.a), ir::Shape::fromSizes(c.b)}), c.covered)
              << name;
          const Tensor got = runKernel(*k, node, in, type, out);
          const Tensor want = runReference(node, in, type, out);
          expectClose(got, want, in[0], 0, name + " " + ir::formatSizes(c.a) + " x " + ir::formatSizes(c.b));
        }
      }
    }
  }
}

// ---- Softmax ----

TEST(CpuSoftmax, MatchesTheReferenceIncludingInfinitiesAndNaN) {
  struct Case {
    std::vector<int64_t> shape;
    int64_t axis;
    int64_t opset;
  };
  const std::vector<Case> cases = {{{7, 37}, -1, 13},    {{3, 1000}, 1, 13},  {{5, 16}, -1, 13},
                                   {{2, 3, 19}, -1, 13}, {{2, 3, 19}, 1, 11}, {{4, 1}, -1, 13}};
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (DataType type : kTypes) {
      const KernelDef* k = kernelNamed(dtypeName(type) + "-softmax-" + isa.name);
      ASSERT_NE(k, nullptr);
      for (const Case& c : cases) {
        std::mt19937 rng(31);
        std::uniform_real_distribution<double> dist(-20.0, 20.0);
        std::vector<double> v(static_cast<size_t>(count(c.shape)));
        for (double& x : v) x = dist(rng);
        if (v.size() > 40) {
          v[3] = kInf;  // row 0: NaN everywhere
          v[40] = -kInf;
          v[41] = kNaN;
        }
        const std::vector<Tensor> in = {makeTensor(type, c.shape, v)};
        const ir::Node node = makeNode("Softmax", attrs({{"axis", c.axis}}), c.opset);
        const Tensor got = runKernel(*k, node, in, type, c.shape);
        const Tensor want = runReference(node, in, type, c.shape);
        expectClose(got, want, in[0], 4, k->name.data() + std::string(" ") + ir::formatSizes(c.shape));
      }
    }
  }
}

TEST(CpuSoftmax, SupportsOnlyTheLastAxisUnderOpset13) {
  const KernelDef* k = kernelNamed("f32-softmax-avx2");
  ASSERT_NE(k, nullptr);
  const std::vector<ir::Shape> shape = {ir::Shape::fromSizes({2, 3, 4})};
  EXPECT_TRUE(k->supports(makeNode("Softmax", attrs({{"axis", int64_t{-1}}}), 13), shape));
  EXPECT_FALSE(k->supports(makeNode("Softmax", attrs({{"axis", int64_t{1}}}), 13), shape));
  EXPECT_TRUE(k->supports(makeNode("Softmax", attrs({{"axis", int64_t{1}}}), 11), shape));
}

// ---- LayerNormalization ----

TEST(CpuLayerNorm, MatchesTheReferenceWithAndWithoutBias) {
  struct Case {
    std::vector<int64_t> shape;
    int64_t axis;
    std::vector<int64_t> scaleShape;
    bool bias;
  };
  const std::vector<Case> cases = {{{4, 771}, -1, {771}, true},
                                   {{2, 3, 17}, 1, {3, 17}, true},
                                   {{6, 5}, -1, {1, 5}, false},
                                   {{3, 64}, -1, {64}, true}};
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (DataType type : kTypes) {
      const KernelDef* k = kernelNamed(dtypeName(type) + "-layernorm-" + isa.name);
      ASSERT_NE(k, nullptr);
      for (const Case& c : cases) {
        std::mt19937 rng(41);
        std::normal_distribution<double> dist(0.0, 1.0);
        std::vector<double> x(static_cast<size_t>(count(c.shape)));
        for (double& v : x) v = 100.0 + 3.0 * dist(rng);  // a large mean tests the two-pass variance
        std::vector<double> s(static_cast<size_t>(count(c.scaleShape)));
        for (double& v : s) v = dist(rng);
        std::vector<Tensor> in = {makeTensor(type, c.shape, x), makeTensor(type, c.scaleShape, s)};
        if (c.bias) in.push_back(makeTensor(type, c.scaleShape, s));
        const ir::Node node = makeNode("LayerNormalization", attrs({{"axis", c.axis}, {"epsilon", 1e-5f}}));
        const std::vector<ir::Shape> shapes = shapesOf(in);
        EXPECT_TRUE(k->supports(node, shapes));
        const Tensor got = runKernel(*k, node, in, type, c.shape);
        const Tensor want = runReference(node, in, type, c.shape);
        expectClose(got, want, in[0], 2, k->name.data() + std::string(" ") + ir::formatSizes(c.shape));
      }
    }
  }
}

// lowp.FusedLayerNorm: X + Residual rounded to the type, then the LayerNormalization above, row by row in
// place; a residual that broadcasts runs the reference.
TEST(CpuLayerNorm, FusedResidualMatchesTheReference) {
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (DataType type : kTypes) {
      const KernelDef* k = kernelNamed(dtypeName(type) + "-fusedlayernorm-" + isa.name);
      ASSERT_NE(k, nullptr);
      for (const std::vector<int64_t>& residualShape :
           {std::vector<int64_t>{6, 771}, std::vector<int64_t>{771}}) {
        std::mt19937 rng(43);
        std::normal_distribution<double> dist(0.0, 1.0);
        auto values = [&](int64_t n, double mean) {
          std::vector<double> v(static_cast<size_t>(n));
          for (double& e : v) e = mean + dist(rng);
          return v;
        };
        const std::vector<Tensor> in = {makeTensor(type, {6, 771}, values(6 * 771, 50.0)),
                                        makeTensor(type, {771}, values(771, 0.0)),
                                        makeTensor(type, {771}, values(771, 0.0)),
                                        makeTensor(type, residualShape, values(count(residualShape), 0.0))};
        ir::Node node = makeNode("FusedLayerNorm", attrs({{"epsilon", 1e-5f}}), 1);
        node.domain = "lowp";
        EXPECT_TRUE(k->supports(node, shapesOf(in)));
        const Tensor got = runKernel(*k, node, in, type, {6, 771});
        const Tensor want = runReference(node, in, type, {6, 771});
        expectClose(got, want, in[0], 2,
                    k->name.data() + std::string(" residual ") + ir::formatSizes(residualShape));
      }
    }
  }
}

// The residual read through residual_perm (rows of [3, 2, E] taken in the order of [2, 3, E]): the fast
// kernels take each row where the permutation puts it, as the reference does.
TEST(CpuLayerNorm, FusedResidualReadThroughAPermutationMatchesTheReference) {
  std::mt19937 rng(47);
  std::normal_distribution<double> dist(0.0, 1.0);
  auto values = [&](int64_t n) {
    std::vector<double> v(static_cast<size_t>(n));
    for (double& e : v) e = dist(rng);
    return v;
  };
  for (const Isa& isa : kIsas) {
    if (!runtime::cpuSupports(isa.feature)) continue;
    for (DataType type : kTypes) {
      const KernelDef* k = kernelNamed(dtypeName(type) + "-fusedlayernorm-" + isa.name);
      ASSERT_NE(k, nullptr);
      const std::vector<Tensor> in = {makeTensor(type, {2, 3, 96}, values(576)),
                                      makeTensor(type, {96}, values(96)), makeTensor(type, {96}, values(96)),
                                      makeTensor(type, {3, 2, 96}, values(576))};
      ir::Node node = makeNode(
          "FusedLayerNorm", attrs({{"epsilon", 1e-5f}, {"residual_perm", std::vector<int64_t>{1, 0, 2}}}), 1);
      node.domain = "lowp";
      const Tensor got = runKernel(*k, node, in, type, {2, 3, 96});
      const Tensor want = runReference(node, in, type, {2, 3, 96});
      expectClose(got, want, in[0], 2, std::string(k->name) + " residual_perm");
      // The reference itself: X + the residual transposed, normalised without the attribute.
      std::vector<double> r;
      const std::vector<double> stored = testing::values(in[3]);
      for (int64_t b = 0; b < 2; ++b) {
        for (int64_t s = 0; s < 3; ++s) {
          for (int64_t e = 0; e < 96; ++e) r.push_back(stored[static_cast<size_t>((s * 2 + b) * 96 + e)]);
        }
      }
      ir::Node plain = makeNode("FusedLayerNorm", attrs({{"epsilon", 1e-5f}}), 1);
      plain.domain = "lowp";
      const Tensor direct =
          runReference(plain, {in[0], in[1], in[2], makeTensor(type, {2, 3, 96}, r)}, type, {2, 3, 96});
      EXPECT_EQ(testing::values(want), testing::values(direct)) << dtypeName(type);
    }
  }
}

TEST(CpuLayerNorm, SaysNoToBroadcastScalesAndStatisticOutputs) {
  const KernelDef* k = kernelNamed("f32-layernorm-avx2");
  ASSERT_NE(k, nullptr);
  const ir::Node node = makeNode("LayerNormalization");
  EXPECT_FALSE(k->supports(node, {ir::Shape::fromSizes({4, 8}), ir::Shape::fromSizes({1})}));
  EXPECT_TRUE(k->supports(node, {ir::Shape::fromSizes({4, 8}), ir::Shape::fromSizes({8})}));
  ir::Node withMean = makeNode("LayerNormalization");
  ir::Value y;
  ir::Value mean;
  withMean.outputs = {&y, &mean};
  EXPECT_FALSE(k->supports(withMean, {ir::Shape::fromSizes({4, 8}), ir::Shape::fromSizes({8})}));
}

// The engine picks these kernels where they apply: one op through the whole path, threads included.
TEST(CpuKernels, RunThroughTheEngine) {
  const std::vector<double> values = wideValues(50000 + 1, 13, 5.0);
  const Tensor x = makeTensor(DataType::kBFloat16, {50001}, values);
  OpRun run{.opType = "Sigmoid", .inputs = {x}};
  auto out = runOp(run);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  const Tensor want = runReference(makeNode("Sigmoid"), {x}, DataType::kBFloat16, {50001});
  expectClose((*out)[0], want, x, 3, "engine bf16 sigmoid");
}

}  // namespace
}  // namespace lowp::testing

namespace lowp::testing {
namespace {

// ---- Transpose as row copies ----

TEST(CpuTranspose, RowCopyMatchesTheReferenceWhereTheLastAxisStays) {
  const KernelDef* k = kernelNamed("any-transpose-rowcopy");
  ASSERT_NE(k, nullptr);
  struct Case {
    std::vector<int64_t> shape;
    std::vector<int64_t> perm;
  };
  const std::vector<Case> cases = {{{2, 5, 3, 7}, {0, 2, 1, 3}},  // attention head split / merge
                                   {{4, 3, 6}, {1, 0, 2}},
                                   {{2, 3, 4, 5, 3}, {3, 0, 2, 1, 4}},
                                   {{7, 1}, {0, 1}}};
  for (const Case& c : cases) {
    for (DataType type : {DataType::kFloat32, DataType::kBFloat16, DataType::kInt64, DataType::kUInt8}) {
      int64_t n = 1;
      for (int64_t d : c.shape) n *= d;
      std::vector<double> values(static_cast<size_t>(n));
      for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i % 251);
      const std::vector<Tensor> in = {makeTensor(type, c.shape, values)};
      const ir::Node node = makeNode("Transpose", attrs({{"perm", c.perm}}));
      ASSERT_TRUE(k->supports(node, {ir::Shape::fromSizes(c.shape)}));
      std::vector<int64_t> outShape;
      for (int64_t axis : c.perm) outShape.push_back(c.shape[static_cast<size_t>(axis)]);
      const Tensor got = runKernel(*k, node, in, type, outShape);
      const Tensor want = runReference(node, in, type, outShape);
      EXPECT_EQ(std::memcmp(got.data(), want.data(), static_cast<size_t>(got.byteSize())), 0)
          << ir::formatSizes(c.shape);
    }
  }
  // A permutation that moves the last axis is the tiled kernel's, as is the default (reversed) one.
  EXPECT_FALSE(k->supports(makeNode("Transpose", attrs({{"perm", std::vector<int64_t>{0, 2, 1}}})),
                           {ir::Shape::fromSizes({2, 3, 4})}));
  EXPECT_FALSE(k->supports(makeNode("Transpose"), {ir::Shape::fromSizes({2, 3})}));
}

// Integers that say where they came from: value i at input element i (mod 251 for the byte types).
Tensor countingTensor(DataType type, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> values(static_cast<size_t>(n));
  const int64_t wrap = dataTypeSize(type) == 1 ? 251 : 60000;
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(static_cast<int64_t>(i) % wrap);
  return makeTensor(type, shape, values);
}

TEST(CpuTranspose, TiledMatchesTheReferenceWhereTheLastAxisMoves) {
  const KernelDef* k = kernelNamed("any-transpose-tiled");
  ASSERT_NE(k, nullptr);
  struct Case {
    std::vector<int64_t> shape;
    std::vector<int64_t> perm;  // empty: ONNX's default, the reversed axes
  };
  const std::vector<Case> cases = {{{128, 8, 32}, {1, 2, 0}},  // attention's K transposed
                                   {{37, 19}, {}},             // partial tiles both ways
                                   {{2, 3, 17, 5}, {0, 3, 1, 2}},
                                   {{3, 33, 2, 16}, {3, 1, 0, 2}},
                                   {{1, 1}, {1, 0}}};
  for (const Case& c : cases) {
    for (DataType type : {DataType::kFloat32, DataType::kFloat16, DataType::kInt64, DataType::kInt8}) {
      const std::vector<Tensor> in = {countingTensor(type, c.shape)};
      std::vector<int64_t> perm = c.perm;
      if (perm.empty()) {
        for (int64_t d = static_cast<int64_t>(c.shape.size()) - 1; d >= 0; --d) perm.push_back(d);
      }
      const ir::Node node =
          c.perm.empty() ? makeNode("Transpose") : makeNode("Transpose", attrs({{"perm", perm}}));
      ASSERT_TRUE(k->supports(node, {ir::Shape::fromSizes(c.shape)})) << ir::formatSizes(c.shape);
      std::vector<int64_t> outShape(perm.size());
      for (size_t d = 0; d < perm.size(); ++d) outShape[d] = c.shape[static_cast<size_t>(perm[d])];
      const Tensor got = runKernel(*k, node, in, type, outShape);
      const Tensor want = runReference(node, in, type, outShape);
      EXPECT_EQ(std::memcmp(got.data(), want.data(), static_cast<size_t>(got.byteSize())), 0)
          << ir::formatSizes(c.shape) << " " << dataTypeName(type);
    }
  }
  EXPECT_FALSE(k->supports(makeNode("Transpose", attrs({{"perm", std::vector<int64_t>{1, 0, 2}}})),
                           {ir::Shape::fromSizes({2, 3, 4})}));
}

Tensor int64s(const std::vector<int64_t>& values) {
  Tensor t(DataType::kInt64, {static_cast<int64_t>(values.size())});
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t;
}

TEST(CpuSlice, RowCopyMatchesTheReference) {
  const KernelDef* k = kernelNamed("any-slice-rowcopy");
  ASSERT_NE(k, nullptr);
  struct Case {
    std::vector<int64_t> shape;
    std::vector<int64_t> starts, ends, axes, steps;  // axes / steps empty: absent
  };
  const std::vector<Case> cases = {
      {{128, 1, 768}, {256}, {512}, {2}, {}},                      // attention's K out of QKV
      {{6, 7, 9}, {1, -1, 8}, {5, 0, 0}, {0, 1, 2}, {2, -2, -3}},  // negative steps, last axis strided
      {{4, 10}, {-3, 2}, {100, 9}, {}, {}},                        // clamped ends, default axes
      {{5, 6, 4}, {1}, {5}, {1}, {3}},                             // a middle axis only
      {{3, 8}, {0}, {8}, {1}, {-1}}};                              // reversed rows
  for (const Case& c : cases) {
    for (DataType type : {DataType::kFloat32, DataType::kBFloat16, DataType::kInt64, DataType::kUInt8}) {
      std::vector<Tensor> in = {countingTensor(type, c.shape), int64s(c.starts), int64s(c.ends)};
      if (!c.axes.empty() || !c.steps.empty()) {
        std::vector<int64_t> axes = c.axes;
        if (axes.empty()) {
          for (size_t d = 0; d < c.starts.size(); ++d) axes.push_back(static_cast<int64_t>(d));
        }
        in.push_back(int64s(axes));
      }
      if (!c.steps.empty()) in.push_back(int64s(c.steps));
      const ir::Node node = makeNode("Slice");
      auto plan = ir::ops::slicePlan(ir::Shape::fromSizes(c.shape), c.starts, c.ends,
                                     c.axes.empty() ? std::nullopt : std::optional(c.axes),
                                     c.steps.empty() ? std::nullopt : std::optional(c.steps));
      ASSERT_TRUE(plan.isOk()) << plan.status().toString();
      const std::vector<int64_t> outShape = plan->shape.sizes();
      const Tensor got = runKernel(*k, node, in, type, outShape);
      const Tensor want = runReference(node, in, type, outShape);
      ASSERT_EQ(got.shape(), want.shape());
      EXPECT_EQ(std::memcmp(got.data(), want.data(), static_cast<size_t>(got.byteSize())), 0)
          << ir::formatSizes(c.shape) << " " << dataTypeName(type);
    }
  }
}

}  // namespace
}  // namespace lowp::testing
