// Unit tests of the conversion ops: Cast / CastLike between every stored type (FP8 encodings, saturation,
// truncation, single rounding from double), QuantizeLinear / DequantizeLinear (per-tensor, per-axis, blocked,
// FP8, rounding half to even, saturation, error cases) and DynamicQuantizeLinear, through inference and the
// engine's path (runOp).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/numeric.h"
#include "ir/op_schema.h"
#include "kernels/reference/conversion_numeric.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

using ir::AttributeMap;
using ir::Dim;
using ir::Shape;
using kernels::ref::fp8Decode;
using kernels::ref::fp8Encode;
using kernels::ref::Fp8Format;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

constexpr Fp8Format kE4M3FN = kernels::ref::fp8Format<DataType::kFloat8E4M3FN>();
constexpr Fp8Format kE4M3FNUZ = kernels::ref::fp8Format<DataType::kFloat8E4M3FNUZ>();
constexpr Fp8Format kE5M2 = kernels::ref::fp8Format<DataType::kFloat8E5M2>();
constexpr Fp8Format kE5M2FNUZ = kernels::ref::fp8Format<DataType::kFloat8E5M2FNUZ>();

Result<std::vector<Tensor>> runOpWith(const std::string& op, std::vector<Tensor> inputs, AttributeMap attrs,
                                      int64_t opset, int outputs = 1) {
  OpRun r{.opType = op,
          .attributes = std::move(attrs),
          .inputs = std::move(inputs),
          .outputCount = outputs,
          .opset = opset};
  return runOp(r);
}

Tensor run1(const std::string& op, std::vector<Tensor> inputs, AttributeMap attrs = {}, int64_t opset = 21) {
  auto out = runOpWith(op, std::move(inputs), std::move(attrs), opset);
  EXPECT_TRUE(out.isOk()) << op << ": " << out.status().toString();
  if (!out.isOk() || out->empty()) return {};
  return (*out)[0];
}

Status runError(const std::string& op, std::vector<Tensor> inputs, AttributeMap attrs = {},
                int64_t opset = 21) {
  auto out = runOpWith(op, std::move(inputs), std::move(attrs), opset);
  return out.isOk() ? Status() : out.status();
}

using lowp::testing::attrs;

AttributeMap castTo(DataType t, int64_t saturate = 1) {
  return attrs({{"to", static_cast<int64_t>(t)}, {"saturate", saturate}});
}

Tensor f32(std::vector<int64_t> shape, const std::vector<double>& v) {
  return makeTensor(DataType::kFloat32, std::move(shape), v);
}

Tensor bytesTensor(DataType type, std::vector<int64_t> shape, const std::vector<uint8_t>& bytes) {
  Tensor t(type, std::move(shape));
  std::memcpy(t.data(), bytes.data(), bytes.size());
  return t;
}

std::vector<uint8_t> bytesOf(const Tensor& t) {
  const auto* p = static_cast<const uint8_t*>(t.data());
  return {p, p + t.byteSize()};
}

void expectValues(const Tensor& t, DataType type, const std::vector<int64_t>& shape,
                  const std::vector<double>& expected, double tol = 0.0) {
  EXPECT_EQ(t.type(), type);
  EXPECT_EQ(t.shape(), shape);
  ASSERT_EQ(t.elementCount(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    const double got = elementAsDouble(t, static_cast<int64_t>(i));
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(got)) << "element " << i;
    } else if (std::isinf(expected[i])) {
      EXPECT_EQ(got, expected[i]) << "element " << i;
    } else {
      EXPECT_NEAR(got, expected[i], tol) << "element " << i;
    }
  }
}

Result<std::vector<std::pair<DataType, Shape>>> infer(const std::string& op,
                                                      std::vector<ir::InferInput> inputs,
                                                      AttributeMap attributes = {}, int64_t opset = 21,
                                                      int outputs = 1) {
  ir::Node node;
  node.opType = op;
  node.name = "n";
  node.opsetVersion = opset;
  node.attributes = std::move(attributes);
  std::vector<ir::Value> outs(static_cast<size_t>(outputs));
  for (auto& o : outs) node.outputs.push_back(&o);
  return ir::inferNode(node, std::move(inputs));
}

ir::InferInput input(DataType type, Shape shape) {
  ir::InferInput i;
  i.present = true;
  i.type = type;
  i.shape = std::move(shape);
  return i;
}

// ---- FP8 encoding ----------------------------------------------------------------------------------------

TEST(Fp8Codec, DecodesTheSpecialValuesOfEachFormat) {
  EXPECT_EQ(fp8Decode(0x7e, kE4M3FN), 448.0f);
  EXPECT_TRUE(std::isnan(fp8Decode(0x7f, kE4M3FN)));
  EXPECT_EQ(fp8Decode(0x01, kE4M3FN), std::ldexp(1.0f, -9));
  EXPECT_EQ(fp8Decode(0x7f, kE4M3FNUZ), 240.0f);
  EXPECT_TRUE(std::isnan(fp8Decode(0x80, kE4M3FNUZ)));
  EXPECT_EQ(fp8Decode(0x01, kE4M3FNUZ), std::ldexp(1.0f, -10));
  EXPECT_EQ(fp8Decode(0x7b, kE5M2), 57344.0f);
  EXPECT_EQ(fp8Decode(0x7c, kE5M2), INFINITY);
  EXPECT_EQ(fp8Decode(0xfc, kE5M2), -INFINITY);
  EXPECT_TRUE(std::isnan(fp8Decode(0x7e, kE5M2)));
  EXPECT_EQ(fp8Decode(0x7f, kE5M2FNUZ), 57344.0f);
  EXPECT_TRUE(std::isnan(fp8Decode(0x80, kE5M2FNUZ)));
  EXPECT_EQ(fp8Decode(0x01, kE5M2FNUZ), std::ldexp(1.0f, -17));
}

TEST(Fp8Codec, EveryFiniteCodeRoundTrips) {
  for (Fp8Format f : {kE4M3FN, kE4M3FNUZ, kE5M2, kE5M2FNUZ}) {
    for (int code = 0; code < 256; ++code) {
      const float v = fp8Decode(static_cast<uint8_t>(code), f);
      if (std::isnan(v) || std::isinf(v)) continue;
      if (f.kind == kernels::ref::Fp8Kind::kFnuz && code == 0x80) continue;
      EXPECT_EQ(fp8Encode(v, f, false), code) << "code " << code << " kind " << static_cast<int>(f.kind);
      EXPECT_EQ(fp8Encode(v, f, true), code);
    }
  }
}

TEST(Fp8Codec, RoundsHalfToEvenAndSaturates) {
  // 1 + 1/16 lies halfway between 1 and 1.125 (E4M3): ties go to the even mantissa, 1.
  EXPECT_EQ(fp8Encode(1.0625f, kE4M3FN, true), 0x38);
  EXPECT_EQ(fp8Encode(1.1875f, kE4M3FN, true), 0x3a);  // halfway between 1.125 and 1.25 -> 1.25
  EXPECT_EQ(fp8Encode(464.0f, kE4M3FN, false), 0x7e);  // ties to 448 (even), not the NaN slot
  EXPECT_EQ(fp8Encode(470.0f, kE4M3FN, false), 0x7f);
  EXPECT_EQ(fp8Encode(470.0f, kE4M3FN, true), 0x7e);
  EXPECT_EQ(fp8Encode(-1e9f, kE4M3FN, true), 0xfe);
  EXPECT_EQ(fp8Encode(INFINITY, kE4M3FN, false), 0x7f);
  EXPECT_EQ(fp8Encode(INFINITY, kE5M2, false), 0x7c);
  EXPECT_EQ(fp8Encode(INFINITY, kE5M2, true), 0x7b);
  EXPECT_EQ(fp8Encode(61440.0f, kE5M2, false), 0x7c);  // halfway to 65536 rounds to even: infinity
  EXPECT_EQ(fp8Encode(NAN, kE5M2, true), 0x7e);
  EXPECT_EQ(fp8Encode(1e6f, kE4M3FNUZ, false), 0x80);
  EXPECT_EQ(fp8Encode(-0.0f, kE4M3FNUZ, true), 0x00);  // FNUZ has no negative zero
  EXPECT_EQ(fp8Encode(-0.0f, kE4M3FN, true), 0x80);
  EXPECT_EQ(fp8Encode(std::ldexp(1.0f, -10), kE4M3FN, true), 0x00);  // half the smallest subnormal -> 0
  EXPECT_EQ(fp8Encode(std::ldexp(3.0f, -10), kE4M3FN, true), 0x02);  // 1.5 subnormal ulps -> 2 (even)
}

TEST(Fp8Codec, AgreesWithTheSharedHelpersOnEveryHalfValue) {
  // ir/numeric.h carries the E4M3FN / E5M2 helpers; they agree everywhere but E5M2's NaN byte (see
  // conversion_numeric.h's fp8NaN).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float v = ir::float16ToFloat(static_cast<uint16_t>(h));
    if (std::isnan(v)) continue;
    for (bool saturate : {false, true}) {
      EXPECT_EQ(fp8Encode(v, kE4M3FN, saturate), ir::floatToFloat8(v, 3, 7, false, saturate)) << v;
      EXPECT_EQ(fp8Encode(v, kE5M2, saturate), ir::floatToFloat8(v, 2, 15, true, saturate)) << v;
    }
  }
}

// ---- Cast inference ------------------------------------------------------------------------------------

TEST(CastInfer, ChangesTheTypeAndKeepsSymbolicDims) {
  Shape x({Dim::symbolic("batch"), Dim(3)});
  auto r = infer("Cast", {input(DataType::kFloat32, x)}, castTo(DataType::kFloat8E5M2));
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ((*r)[0].first, DataType::kFloat8E5M2);
  EXPECT_EQ((*r)[0].second, x);
  auto like = infer("CastLike", {input(DataType::kInt8, x), input(DataType::kBFloat16, Shape({Dim(0)}))});
  ASSERT_TRUE(like.isOk());
  EXPECT_EQ((*like)[0].first, DataType::kBFloat16);
  EXPECT_EQ((*like)[0].second, x);
}

TEST(CastInfer, RejectsWhatItCannotStore) {
  const Shape s({Dim(2)});
  EXPECT_EQ(infer("Cast", {input(DataType::kFloat32, s)}, castTo(DataType::kString)).status().code(),
            StatusCode::kUnsupported);
  EXPECT_EQ(infer("Cast", {input(DataType::kFloat32, s)}, castTo(DataType::kInt4)).status().code(),
            StatusCode::kUnsupported);
  auto fp4 = infer("Cast", {input(DataType::kFloat32, s)}, attrs({{"to", int64_t{23}}}));
  EXPECT_EQ(fp4.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(fp4.status().message().find("FLOAT4E2M1"), std::string::npos) << fp4.status().message();
  EXPECT_EQ(infer("Cast", {input(DataType::kString, s)}, castTo(DataType::kFloat32)).status().code(),
            StatusCode::kUnsupported);
  EXPECT_EQ(infer("Cast", {input(DataType::kFloat32, s)}, attrs({{"to", int64_t{99}}})).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(infer("Cast", {input(DataType::kFloat32, s)}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(infer("Cast", {input(DataType::kFloat32, s)}, castTo(DataType::kInt8, 2)).status().code(),
            StatusCode::kInvalidArgument);
}

// ---- Cast kernel ---------------------------------------------------------------------------------------

TEST(Cast, FloatToIntegerTruncatesTowardZeroAndSaturates) {
  Tensor x = f32({7}, {2.7, -2.7, 0.5, -0.5, 300.0, -300.0, kNaN});
  expectValues(run1("Cast", {x}, castTo(DataType::kInt8)), DataType::kInt8, {7}, {2, -2, 0, 0, 127, -128, 0});
  expectValues(run1("Cast", {x}, castTo(DataType::kUInt8)), DataType::kUInt8, {7}, {2, 0, 0, 0, 255, 0, 0});
  Tensor big = makeTensor(DataType::kFloat64, {3}, {1e30, -1e30, 9007199254740993.0});
  expectValues(run1("Cast", {big}, castTo(DataType::kInt64)), DataType::kInt64, {3},
               {9223372036854775807.0, -9223372036854775808.0, 9007199254740992.0});
}

TEST(Cast, IntegersWrapAndBoolsAreZeroOrOne) {
  Tensor x = makeTensor(DataType::kInt32, {4}, {300, -1, 0, 65537});
  expectValues(run1("Cast", {x}, castTo(DataType::kUInt8)), DataType::kUInt8, {4}, {44, 255, 0, 1});
  expectValues(run1("Cast", {x}, castTo(DataType::kBool)), DataType::kBool, {4}, {1, 1, 0, 1});
  Tensor b = makeTensor(DataType::kBool, {2}, {1, 0});
  expectValues(run1("Cast", {b}, castTo(DataType::kFloat16)), DataType::kFloat16, {2}, {1, 0});
  Tensor f = f32({3}, {kNaN, 0.0, -0.0});
  expectValues(run1("Cast", {f}, castTo(DataType::kBool)), DataType::kBool, {3}, {1, 0, 0});
}

TEST(Cast, FloatTypesRoundOnceToNearestEven) {
  // 1 + 2^-11 + 2^-40 is just above the FP16 midpoint between 1 and 1 + 2^-10: rounding through float first
  // would land on the midpoint and then round to 1.
  Tensor d = makeTensor(DataType::kFloat64, {2}, {1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40), 1e6});
  expectValues(run1("Cast", {d}, castTo(DataType::kFloat16)), DataType::kFloat16, {2},
               {1.0 + std::ldexp(1.0, -10), kInf});
  Tensor i = makeTensor(DataType::kInt64, {1}, {16777217});  // 2^24 + 1: between two floats, ties to even
  expectValues(run1("Cast", {i}, castTo(DataType::kFloat32)), DataType::kFloat32, {1}, {16777216});
  Tensor f = f32({2}, {1.00390625, 3.0e38});  // BF16 midpoint ties to even; beyond BF16's range stays finite
  Tensor bf = run1("Cast", {f}, castTo(DataType::kBFloat16));
  expectValues(bf, DataType::kBFloat16, {2}, {1.0, ir::bfloat16ToFloat(ir::floatToBFloat16(3.0e38f))});
  expectValues(run1("Cast", {bf}, castTo(DataType::kFloat64)), DataType::kFloat64, {2},
               {1.0, ir::bfloat16ToFloat(ir::floatToBFloat16(3.0e38f))});
}

TEST(Cast, ToAndFromEveryFp8Format) {
  Tensor x = f32({6}, {0.0, 1.0, -3.5, 1000.0, -kInf, kNaN});
  struct Case {
    DataType type;
    std::vector<uint8_t> saturated;
    std::vector<uint8_t> notSaturated;
  };
  const Case cases[] = {
      {DataType::kFloat8E4M3FN, {0x00, 0x38, 0xc6, 0x7e, 0xfe, 0x7f}, {0x00, 0x38, 0xc6, 0x7f, 0xff, 0x7f}},
      {DataType::kFloat8E4M3FNUZ, {0x00, 0x40, 0xce, 0x7f, 0xff, 0x80}, {0x00, 0x40, 0xce, 0x80, 0x80, 0x80}},
      {DataType::kFloat8E5M2, {0x00, 0x3c, 0xc3, 0x64, 0xfb, 0x7e}, {0x00, 0x3c, 0xc3, 0x64, 0xfc, 0x7e}},
      {DataType::kFloat8E5M2FNUZ, {0x00, 0x40, 0xc7, 0x68, 0xff, 0x80}, {0x00, 0x40, 0xc7, 0x68, 0x80, 0x80}},
  };
  for (const Case& c : cases) {
    Tensor sat = run1("Cast", {x}, castTo(c.type, 1));
    EXPECT_EQ(sat.type(), c.type);
    EXPECT_EQ(bytesOf(sat), c.saturated) << dataTypeName(c.type);
    Tensor raw = run1("Cast", {x}, castTo(c.type, 0));
    EXPECT_EQ(bytesOf(raw), c.notSaturated) << dataTypeName(c.type);
    // Back to float: the finite values return exactly.
    Tensor back = run1("Cast", {sat}, castTo(DataType::kFloat32));
    EXPECT_EQ(elementAsDouble(back, 1), 1.0);
    EXPECT_EQ(elementAsDouble(back, 2), -3.5);
    EXPECT_TRUE(std::isnan(elementAsDouble(back, 5)));
  }
  // FP8 -> FP8 goes through float exactly.
  Tensor e5 = bytesTensor(DataType::kFloat8E5M2, {3}, {0x3c, 0x7b, 0x01});
  EXPECT_EQ(bytesOf(run1("Cast", {e5}, castTo(DataType::kFloat8E4M3FN))),
            (std::vector<uint8_t>{0x38, 0x7e, 0x00}));
}

TEST(Cast, CastLikeTakesTheTypeOfItsSecondInput) {
  Tensor x = f32({2, 2}, {1.5, -1.5, 2.5, 100000.0});
  Tensor like = makeTensor(DataType::kFloat16, {0}, {});
  expectValues(run1("CastLike", {x, like}), DataType::kFloat16, {2, 2}, {1.5, -1.5, 2.5, kInf});
  Tensor fp8Like = bytesTensor(DataType::kFloat8E4M3FN, {1}, {0});
  Tensor y = run1("CastLike", {x, fp8Like}, attrs({{"saturate", int64_t{0}}}));
  EXPECT_EQ(bytesOf(y), (std::vector<uint8_t>{0x3c, 0xbc, 0x42, 0x7f}));
}

TEST(Cast, ZeroSizedAndLargeTensors) {
  Tensor empty = makeTensor(DataType::kFloat32, {0, 3}, {});
  expectValues(run1("Cast", {empty}, castTo(DataType::kInt16)), DataType::kInt16, {0, 3}, {});
  std::vector<double> v(100000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 1000) - 500.25;
  Tensor big = run1("Cast", {f32({100000}, v)}, castTo(DataType::kInt32));
  ASSERT_EQ(big.elementCount(), 100000);
  for (int64_t i = 0; i < big.elementCount(); i += 997) EXPECT_EQ(elementAsDouble(big, i), std::trunc(v[i]));
}

// ---- QuantizeLinear ------------------------------------------------------------------------------------

TEST(QuantizeLinear, PerTensorRoundsHalfToEvenAndSaturates) {
  Tensor x = f32({8}, {0, 1, 3, 5, -5, 1000, -1000, 2.9});
  Tensor scale = f32({}, {2});
  Tensor zp = makeTensor(DataType::kUInt8, {}, {128});
  // 1/2 = 0.5 -> 0, 3/2 = 1.5 -> 2, 5/2 = 2.5 -> 2, -5/2 = -2.5 -> -2.
  expectValues(run1("QuantizeLinear", {x, scale, zp}), DataType::kUInt8, {8},
               {128, 128, 130, 130, 126, 255, 0, 129});
  // No zero point: uint8 with zero point 0.
  expectValues(run1("QuantizeLinear", {x, scale}), DataType::kUInt8, {8}, {0, 0, 2, 2, 0, 255, 0, 1});
  Tensor zp8 = makeTensor(DataType::kInt8, {}, {-1});
  expectValues(run1("QuantizeLinear", {x, scale, zp8}), DataType::kInt8, {8},
               {-1, -1, 1, 1, -3, 127, -128, 0});
}

TEST(QuantizeLinear, PerAxisAndBlocked) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor scales = f32({3}, {1, 2, 4});
  Tensor zps = makeTensor(DataType::kInt16, {3}, {0, 10, -10});
  expectValues(run1("QuantizeLinear", {x, scales, zps}, attrs({{"axis", int64_t{1}}})), DataType::kInt16,
               {2, 3}, {1, 11, -9, 4, 12, -8});
  Tensor rowScales = f32({2}, {1, 0.5});
  expectValues(run1("QuantizeLinear", {x, rowScales}, attrs({{"axis", int64_t{-2}}})), DataType::kUInt8,
               {2, 3}, {1, 2, 3, 8, 10, 12});
  // Blocks of 2 along axis 1: columns {0, 1} and {2}.
  Tensor blockScales = f32({2, 2}, {1, 3, 2, 6});
  expectValues(run1("QuantizeLinear", {x, blockScales},
                    attrs({{"axis", int64_t{1}},
                           {"block_size", int64_t{2}},
                           {"output_dtype", static_cast<int64_t>(DataType::kInt8)}})),
               DataType::kInt8, {2, 3}, {1, 2, 1, 2, 2, 1});
}

TEST(QuantizeLinear, Fp8OutputsSaturateUnlessAskedNotTo) {
  Tensor x = f32({5}, {0, 1, 2, 100000, 200});
  Tensor scale = f32({}, {2});
  Tensor zp = bytesTensor(DataType::kFloat8E4M3FN, {}, {0});
  EXPECT_EQ(bytesOf(run1("QuantizeLinear", {x, scale, zp})),
            (std::vector<uint8_t>{0x00, 0x30, 0x38, 0x7e, 0x6c}));
  EXPECT_EQ(bytesOf(run1("QuantizeLinear", {x, scale, zp}, attrs({{"saturate", int64_t{0}}}))),
            (std::vector<uint8_t>{0x00, 0x30, 0x38, 0x7f, 0x6c}));
  Tensor e5 = run1("QuantizeLinear", {x, scale},
                   attrs({{"output_dtype", static_cast<int64_t>(DataType::kFloat8E5M2)}}));
  EXPECT_EQ(e5.type(), DataType::kFloat8E5M2);
  EXPECT_EQ(bytesOf(e5), (std::vector<uint8_t>{0x00, 0x38, 0x3c, 0x7a, 0x56}));
}

TEST(QuantizeLinear, Fp16InputsDivideInFp16) {
  // 3.498046875 / 0.99951171875 = 3.49976 in float, which FP16 rounds to 3.5, which rounds half to even to 4.
  // With a float scale the division happens in float and gives 3.
  Tensor x = makeTensor(DataType::kFloat16, {1}, {3.498046875});
  Tensor zp = makeTensor(DataType::kInt16, {}, {0});
  expectValues(run1("QuantizeLinear", {x, makeTensor(DataType::kFloat16, {}, {0.99951171875}), zp}),
               DataType::kInt16, {1}, {4});
  expectValues(run1("QuantizeLinear", {x, f32({}, {0.99951171875}), zp}), DataType::kInt16, {1}, {3});
  // `precision` converts both operands to that type first.
  expectValues(run1("QuantizeLinear", {f32({1}, {3.498046875}), f32({}, {0.99951171875}), zp},
                    attrs({{"precision", static_cast<int64_t>(DataType::kFloat16)}})),
               DataType::kInt16, {1}, {4});
}

TEST(QuantizeLinear, Errors) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  // Per-axis scale whose length does not match the axis.
  EXPECT_EQ(runError("QuantizeLinear", {x, f32({2}, {1, 2})}, attrs({{"axis", int64_t{1}}})).code(),
            StatusCode::kInvalidArgument);
  // Per-axis scales did not exist in opset 10.
  EXPECT_EQ(runError("QuantizeLinear", {x, f32({3}, {1, 2, 3})}, {}, 10).code(),
            StatusCode::kInvalidArgument);
  // Zero point shape differs from the scale's.
  EXPECT_EQ(
      runError("QuantizeLinear", {x, f32({3}, {1, 2, 3}), makeTensor(DataType::kUInt8, {2}, {0, 0})}).code(),
      StatusCode::kInvalidArgument);
  // output_dtype contradicts the zero point.
  EXPECT_EQ(runError("QuantizeLinear", {x, f32({}, {1}), makeTensor(DataType::kUInt8, {}, {0})},
                     attrs({{"output_dtype", static_cast<int64_t>(DataType::kInt8)}}))
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runError("QuantizeLinear", {x, f32({}, {1})}, attrs({{"output_dtype", int64_t{22}}})).code(),
            StatusCode::kUnsupported);
  // Blocked scale of the wrong size.
  EXPECT_EQ(runError("QuantizeLinear", {x, f32({2, 1}, {1, 1})}, attrs({{"block_size", int64_t{2}}})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runError("QuantizeLinear", {x, f32({}, {1})}, attrs({{"axis", int64_t{5}}})).code(),
            StatusCode::kOk)
      << "a per-tensor scale ignores the axis";
}

TEST(QuantizeLinearInfer, OutputTypeComesFromZeroPointOrAttribute) {
  const Shape x({Dim::symbolic("n"), Dim(4)});
  auto a =
      infer("QuantizeLinear", {input(DataType::kFloat32, x), input(DataType::kFloat32, Shape({Dim(4)}))});
  ASSERT_TRUE(a.isOk()) << a.status().toString();
  EXPECT_EQ((*a)[0].first, DataType::kUInt8);
  EXPECT_EQ((*a)[0].second, x);
  auto b = infer("QuantizeLinear",
                 {input(DataType::kBFloat16, x), input(DataType::kFloat32, Shape(std::vector<Dim>{})),
                  input(DataType::kFloat8E4M3FNUZ, Shape(std::vector<Dim>{}))});
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ((*b)[0].first, DataType::kFloat8E4M3FNUZ);
  auto c =
      infer("QuantizeLinear", {input(DataType::kFloat32, x), input(DataType::kFloat32, Shape({Dim(3)}))});
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  auto d = infer("QuantizeLinear", {input(DataType::kInt8, x), input(DataType::kFloat32, Shape({Dim(4)}))});
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
}

// ---- DequantizeLinear ----------------------------------------------------------------------------------

TEST(DequantizeLinear, IntegerInputs) {
  Tensor x = makeTensor(DataType::kUInt8, {4}, {0, 3, 128, 255});
  expectValues(run1("DequantizeLinear", {x, f32({}, {2}), makeTensor(DataType::kUInt8, {}, {128})}),
               DataType::kFloat32, {4}, {-256, -250, 0, 254});
  Tensor x8 = makeTensor(DataType::kInt8, {2, 2}, {-128, 127, 5, -5});
  expectValues(run1("DequantizeLinear", {x8, f32({2}, {0.5, 2}), makeTensor(DataType::kInt8, {2}, {0, 1})},
                    attrs({{"axis", int64_t{0}}})),
               DataType::kFloat32, {2, 2}, {-64, 63.5, 8, -12});
  Tensor x32 = makeTensor(DataType::kInt32, {2}, {2147483647, -2147483647});
  expectValues(run1("DequantizeLinear", {x32, f32({}, {1})}), DataType::kFloat32, {2},
               {2147483648.0, -2147483648.0});
  Tensor x16 = makeTensor(DataType::kUInt16, {2}, {65535, 0});
  expectValues(run1("DequantizeLinear", {x16, makeTensor(DataType::kFloat16, {}, {0.5}),
                                         makeTensor(DataType::kUInt16, {}, {32767})}),
               DataType::kFloat16, {2}, {16384, -16384});
}

TEST(DequantizeLinear, Fp8InputsOutputDtypeAndBlocks) {
  Tensor x = bytesTensor(DataType::kFloat8E4M3FN, {5}, {0x00, 0x30, 0x38, 0x7e, 0xd2});
  expectValues(run1("DequantizeLinear", {x, f32({}, {2})}), DataType::kFloat32, {5}, {0, 1, 2, 896, -20});
  Tensor y = run1("DequantizeLinear", {x, f32({}, {2})},
                  attrs({{"output_dtype", static_cast<int64_t>(DataType::kBFloat16)}}));
  expectValues(y, DataType::kBFloat16, {5}, {0, 1, 2, 896, -20});
  Tensor q = makeTensor(DataType::kUInt8, {1, 4}, {10, 20, 30, 40});
  expectValues(
      run1("DequantizeLinear", {q, f32({1, 2}, {1, 10}), makeTensor(DataType::kUInt8, {1, 2}, {10, 0})},
           attrs({{"axis", int64_t{1}}, {"block_size", int64_t{2}}})),
      DataType::kFloat32, {1, 4}, {0, 10, 300, 400});
}

TEST(DequantizeLinear, Errors) {
  Tensor x = makeTensor(DataType::kUInt8, {2}, {1, 2});
  EXPECT_EQ(runError("DequantizeLinear", {x, f32({}, {1}), makeTensor(DataType::kInt8, {}, {0})}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runError("DequantizeLinear", {f32({2}, {1, 2}), f32({}, {1})}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runError("DequantizeLinear", {x, f32({}, {1})}, attrs({{"output_dtype", int64_t{6}}})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runError("DequantizeLinear", {x, f32({3}, {1, 2, 3})}, attrs({{"axis", int64_t{0}}})).code(),
            StatusCode::kInvalidArgument);
}

// ---- DynamicQuantizeLinear -----------------------------------------------------------------------------

TEST(DynamicQuantizeLinear, MatchesTheOnnxFunction) {
  auto out = runOpWith("DynamicQuantizeLinear", {f32({6}, {0, 2, -3, -2.5, 1.34, 0.5})}, {}, 11, 3);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  expectValues((*out)[0], DataType::kUInt8, {6}, {153, 255, 0, 26, 221, 179});
  expectValues((*out)[1], DataType::kFloat32, {}, {5.0 / 255.0}, 1e-8);
  expectValues((*out)[2], DataType::kUInt8, {}, {153});
  auto neg = runOpWith("DynamicQuantizeLinear", {f32({3}, {-1, -2.1, -4})}, {}, 11, 3);
  ASSERT_TRUE(neg.isOk());
  expectValues((*neg)[2], DataType::kUInt8, {}, {255});
  auto zeros = runOpWith("DynamicQuantizeLinear", {f32({2}, {0, 0})}, {}, 11, 3);
  ASSERT_TRUE(zeros.isOk());
  expectValues((*zeros)[0], DataType::kUInt8, {2}, {0, 0});
  expectValues((*zeros)[1], DataType::kFloat32, {}, {0});
  auto empty = runOpWith("DynamicQuantizeLinear", {f32({0}, {})}, {}, 11, 3);
  ASSERT_TRUE(empty.isOk()) << empty.status().toString();
  EXPECT_EQ((*empty)[0].elementCount(), 0);
}

}  // namespace
}  // namespace lowp::testing
