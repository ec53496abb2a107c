// The CUDA kernels of kernels/cuda/logic.cpp against the CPU reference kernels, bit for bit (Pow within
// CUDA's ulps): comparisons of every type with ties and NaN, And / Or / Xor / Not, IsNaN / IsInf, integer
// arithmetic at the ends of each type's range (wrapping, lowest / -1), Mod both ways, Pow, Where of every
// element size; each under same shapes, scalars and two-sided broadcasts. Integer Div and Mod take only
// constant divisors without a zero.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "kernels/cuda/kernel_util.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

struct Shapes {
  std::vector<int64_t> a, b;
};
const Shapes kShapes[] = {
    {{2, 3, 40}, {2, 3, 40}},      // same shapes: one merged dim
    {{4, 1, 6}, {1, 5, 1}},        // both broadcast
    {{7, 9}, {}},                  // a scalar
    {{2, 1, 3, 1, 5}, {3, 4, 1}},  // size-1 dims among others, both sides broadcast
    {{0, 3}, {3}},                 // empty
};

const DataType kNumeric[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt8,
                             DataType::kUInt8,   DataType::kInt32,   DataType::kInt64};

std::string prefixOf(DataType t) {
  return std::string(kernels::cuda::shortTypeName(t));
}

int64_t countOf(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

struct Values {
  bool nonZero = false;  ///< a divisor's
  bool finite = false;   ///< no NaN or infinity
};

// Values of `type`: small integers (so that operands tie often), the type's ends, and for floats NaN,
// infinities and fractions.
Tensor valuesOf(std::mt19937& rng, DataType type, const std::vector<int64_t>& shape, Values options = {}) {
  const bool isFloat = ir::isFloat(type);
  const bool isUnsigned = type == DataType::kUInt8;
  std::vector<double> special;
  if (isFloat && options.finite) {
    special = {0.5, -2.25, 0.0, 7.75};
  } else if (isFloat) {
    special = {std::nan(""), INFINITY, -INFINITY, 0.5, -2.25, 0.0};
  } else if (type == DataType::kInt8) {
    special = {-128, 127, -1};
  } else if (type == DataType::kUInt8) {
    special = {255, 128};
  } else if (type == DataType::kInt32) {
    special = {-2147483648.0, 2147483647.0, -1, 65537};
  } else {
    special = {-9.223372036854775808e18, 9.2233720368547748e18, -1, 4294967297.0};
  }
  std::uniform_int_distribution<int> small(isUnsigned ? 0 : -4, 4);
  std::uniform_int_distribution<int> pick(0, 5);
  std::vector<double> values(static_cast<size_t>(countOf(shape)));
  for (double& v : values) {
    const int p = pick(rng);
    v = p == 0 ? special[static_cast<size_t>(small(rng) + 4) % special.size()] : small(rng);
    if (options.nonZero && v == 0) v = isUnsigned ? 3 : -3;
  }
  return makeTensor(type, shape, values);
}

Tensor booleans(std::mt19937& rng, const std::vector<int64_t>& shape) {
  std::bernoulli_distribution coin(0.5);
  std::vector<double> values(static_cast<size_t>(countOf(shape)));
  for (double& v : values) v = coin(rng) ? 1 : 0;
  return makeTensor(DataType::kBool, shape, values);
}

TEST(CudaLogic, ComparisonsMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(71);
  const char* ops[] = {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"};
  std::vector<DataType> types(std::begin(kNumeric), std::end(kNumeric));
  types.push_back(DataType::kBool);
  for (const char* op : ops) {
    for (DataType t : types) {
      if (t == DataType::kBool && std::string(op) != "Equal") continue;
      for (const Shapes& s : kShapes) {
        SCOPED_TRACE(std::string(op) + " " + prefixOf(t) + " " + ir::formatSizes(s.a) + " " +
                     ir::formatSizes(s.b));
        const bool b = t == DataType::kBool;
        std::string name = std::string(op);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        expectMatchesReference({.kernel = prefixOf(t) + "-" + name + "-cuda",
                                .opType = op,
                                .opset = 19,
                                .inputs = {b ? booleans(rng, s.a) : valuesOf(rng, t, s.a),
                                           b ? booleans(rng, s.b) : valuesOf(rng, t, s.b)},
                                .tolerance = 0.0});
      }
    }
  }
}

TEST(CudaLogic, LogicAndPredicatesMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(72);
  for (const char* op : {"And", "Or", "Xor"}) {
    for (const Shapes& s : kShapes) {
      SCOPED_TRACE(std::string(op) + " " + ir::formatSizes(s.a) + " " + ir::formatSizes(s.b));
      std::string name = op;
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      expectMatchesReference({.kernel = "bool-" + name + "-cuda",
                              .opType = op,
                              .inputs = {booleans(rng, s.a), booleans(rng, s.b)},
                              .tolerance = 0.0});
    }
  }
  expectMatchesReference(
      {.kernel = "bool-not-cuda", .opType = "Not", .inputs = {booleans(rng, {3, 333})}, .tolerance = 0.0});
  for (DataType t : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    const Tensor x = valuesOf(rng, t, {5, 77});
    expectMatchesReference({.kernel = prefixOf(t) + "-isnan-cuda",
                            .opType = "IsNaN",
                            .opset = 20,
                            .inputs = {x},
                            .tolerance = 0.0});
    for (int64_t negative : {0, 1}) {
      for (int64_t positive : {0, 1}) {
        SCOPED_TRACE(prefixOf(t) + " IsInf " + std::to_string(negative) + std::to_string(positive));
        expectMatchesReference(
            {.kernel = prefixOf(t) + "-isinf-cuda",
             .opType = "IsInf",
             .opset = 20,
             .attrs = attrs({{"detect_negative", negative}, {"detect_positive", positive}}),
             .inputs = {x},
             .tolerance = 0.0});
      }
    }
  }
}

TEST(CudaLogic, IntegerArithmeticWrapsAsTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(73);
  for (DataType t : {DataType::kInt8, DataType::kUInt8, DataType::kInt32, DataType::kInt64}) {
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"}) {
      for (const Shapes& s : kShapes) {
        SCOPED_TRACE(std::string(op) + " " + prefixOf(t) + " " + ir::formatSizes(s.a) + " " +
                     ir::formatSizes(s.b));
        const bool divides = std::string(op) == "Div";
        std::string name = op;
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        expectMatchesReference(
            {.kernel = prefixOf(t) + "-" + name + "-cuda",
             .opType = op,
             .opset = 14,
             .inputs = {valuesOf(rng, t, s.a), valuesOf(rng, t, s.b, {.nonZero = divides})},
             .constantSlots = divides ? std::vector<size_t>{1} : std::vector<size_t>{},
             .tolerance = 0.0});
      }
    }
  }
}

TEST(CudaLogic, ModMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(74);
  for (DataType t : kNumeric) {
    for (int64_t fmod : {0, 1}) {
      if (ir::isFloat(t) && fmod == 0) continue;  // ONNX asks fmod=1 of floats
      for (const Shapes& s : kShapes) {
        SCOPED_TRACE(prefixOf(t) + " fmod " + std::to_string(fmod) + " " + ir::formatSizes(s.a) + " " +
                     ir::formatSizes(s.b));
        expectMatchesReference({.kernel = prefixOf(t) + "-mod-cuda",
                                .opType = "Mod",
                                .opset = 13,
                                .attrs = attrs({{"fmod", fmod}}),
                                .inputs = {valuesOf(rng, t, s.a, {.finite = true}),
                                           valuesOf(rng, t, s.b, {.nonZero = true, .finite = true})},
                                .constantSlots = {1},
                                .tolerance = 0.0});
      }
    }
  }
}

// A divisor the build cannot check (not a constant) is not taken; one with a zero is refused.
TEST(CudaLogic, IntegerDivisionTakesOnlyCheckedDivisors) {
  std::mt19937 rng(75);
  const Tensor a = valuesOf(rng, DataType::kInt32, {4, 6});
  const Tensor nonZero = makeTensor(DataType::kInt32, {6}, {1, -1, 2, 3, -7, 5});
  const Tensor withZero = makeTensor(DataType::kInt32, {6}, {1, -1, 0, 3, -7, 5});
  for (const char* op : {"Div", "Mod"}) {
    SCOPED_TRACE(op);
    std::string name = op;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const kernels::KernelDef* k = kernelNamed("i32-" + name + "-cuda");
    ASSERT_NE(k, nullptr);
    const NodeUnderTest input(op, "", 14, {}, {a, nonZero}, {});
    ASSERT_TRUE(input.status().isOk());
    EXPECT_FALSE(k->supports(input.node(), input.inputShapes()));
    const NodeUnderTest constant(op, "", 14, {}, {a, nonZero}, {1});
    ASSERT_TRUE(constant.status().isOk());
    EXPECT_TRUE(k->supports(constant.node(), constant.inputShapes()));
    const NodeUnderTest zero(op, "", 14, {}, {a, withZero}, {1});
    ASSERT_TRUE(zero.status().isOk());
    EXPECT_FALSE(k->supports(zero.node(), zero.inputShapes()));
    if (gpu() != nullptr) {
      const Result<Tensor> y = runOnGpu(*k, zero.node(), {a, withZero}, DataType::kInt32, {4, 6});
      ASSERT_FALSE(y.isOk());
      EXPECT_NE(y.status().message().find("division by zero"), std::string::npos) << y.status().message();
    }
  }
}

TEST(CudaLogic, PowMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(76);
  struct PowCase {
    DataType base, exponent;
  };
  const PowCase cases[] = {{DataType::kFloat32, DataType::kFloat32}, {DataType::kFloat32, DataType::kInt64},
                           {DataType::kFloat16, DataType::kFloat16}, {DataType::kFloat16, DataType::kFloat32},
                           {DataType::kBFloat16, DataType::kInt32},  {DataType::kInt32, DataType::kInt32},
                           {DataType::kInt64, DataType::kInt64},     {DataType::kInt64, DataType::kInt32}};
  for (const PowCase& c : cases) {
    for (const Shapes& s : kShapes) {
      SCOPED_TRACE(prefixOf(c.base) + " ^ " + prefixOf(c.exponent) + " " + ir::formatSizes(s.a) + " " +
                   ir::formatSizes(s.b));
      const bool floatBase = ir::isFloat(c.base);
      // Positive float bases, finite exponents: powers the reference and CUDA round alike within their ulps.
      std::uniform_real_distribution<double> base(floatBase ? 0.1 : -9.0, floatBase ? 3.0 : 9.0);
      std::vector<double> bases(static_cast<size_t>(countOf(s.a)));
      for (double& v : bases) v = floatBase ? base(rng) : std::trunc(base(rng));
      // Exponents in [-4, 4] for float bases (no overflow to compare); any for integer ones (they wrap).
      std::uniform_real_distribution<double> small(-4.0, 4.0);
      std::vector<double> exponents(static_cast<size_t>(countOf(s.b)));
      for (double& v : exponents) v = ir::isFloat(c.exponent) ? small(rng) : std::trunc(small(rng));
      const Tensor exponent =
          floatBase ? makeTensor(c.exponent, s.b, exponents) : valuesOf(rng, c.exponent, s.b);
      expectMatchesReference({.kernel = prefixOf(c.base) + "-pow-cuda",
                              .opType = "Pow",
                              .opset = 15,
                              .inputs = {makeTensor(c.base, s.a, bases), exponent},
                              .tolerance = c.base == DataType::kFloat32 ? 1e-6 : (floatBase ? 1e-2 : 0.0)});
    }
  }
}

TEST(CudaLogic, WhereSelectsEveryElementSize) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(77);
  struct WhereShapes {
    std::vector<int64_t> cond, x, y;
  };
  const WhereShapes shapes[] = {{{3, 50}, {3, 50}, {3, 50}},
                                {{1, 5, 5}, {2, 1, 5}, {}},  // a causal mask over heads, a scalar fill
                                {{4, 1}, {1, 6}, {4, 6}},
                                {{2, 0}, {2, 1}, {1}}};
  for (DataType t : {DataType::kUInt8, DataType::kFloat16, DataType::kFloat32, DataType::kInt64}) {
    for (const WhereShapes& s : shapes) {
      SCOPED_TRACE(prefixOf(t) + " " + ir::formatSizes(s.cond) + " " + ir::formatSizes(s.x) + " " +
                   ir::formatSizes(s.y));
      expectMatchesReference({.kernel = "x-where-cuda",
                              .opType = "Where",
                              .opset = 16,
                              .inputs = {booleans(rng, s.cond), valuesOf(rng, t, s.x), valuesOf(rng, t, s.y)},
                              .tolerance = 0.0});
    }
  }
}

}  // namespace
}  // namespace lowp::testing
