// Unit tests of the IR basics: the DataType table, reduced-float conversions, shapes, graph ordering.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "ir/data_type.h"
#include "ir/graph.h"
#include "ir/numeric.h"
#include "ir/shape.h"

namespace lowp::ir {
namespace {

TEST(DataTypeTable, DescribesEveryRequiredType) {
  struct Expect {
    DataType type;
    const char* name;
    int bits;
    bool isFloat;
  };
  const Expect expected[] = {
      {DataType::kFloat32, "fp32", 32, true},        {DataType::kFloat16, "fp16", 16, true},
      {DataType::kBFloat16, "bf16", 16, true},       {DataType::kFloat64, "fp64", 64, true},
      {DataType::kInt8, "int8", 8, false},           {DataType::kUInt8, "uint8", 8, false},
      {DataType::kInt16, "int16", 16, false},        {DataType::kInt32, "int32", 32, false},
      {DataType::kInt64, "int64", 64, false},        {DataType::kBool, "bool", 1, false},
      {DataType::kFloat8E4M3FN, "fp8e4m3", 8, true}, {DataType::kFloat8E5M2, "fp8e5m2", 8, true},
  };
  for (const Expect& e : expected) {
    const DataTypeInfo& info = dataTypeInfo(e.type);
    EXPECT_EQ(info.name, e.name);
    EXPECT_EQ(info.bits, e.bits) << e.name;
    EXPECT_EQ(info.isFloat, e.isFloat) << e.name;
    EXPECT_EQ(dataTypeFromName(e.name), e.type);
  }
  EXPECT_EQ(dataTypeInfo(DataType::kFloat16).max, 65504.0);
  EXPECT_EQ(dataTypeInfo(DataType::kFloat8E4M3FN).max, 448.0);
  EXPECT_EQ(dataTypeInfo(DataType::kInt8).lowest, -128.0);
  EXPECT_FALSE(dataTypeFromName("fp12").has_value());
  EXPECT_FALSE(dataTypeFromOnnx(99).has_value());
}

TEST(Float16, RoundTripsEveryFiniteValue) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    auto h = static_cast<uint16_t>(bits);
    if ((h & 0x7c00) == 0x7c00) continue;  // inf / nan
    float f = float16ToFloat(h);
    EXPECT_EQ(floatToFloat16(f), h) << std::hex << bits;
  }
}

TEST(Float16, RoundsToNearestEvenAndSaturatesToInfinity) {
  EXPECT_EQ(floatToFloat16(1.0f + 1.0f / 2048), 0x3c00);  // tie: stays even
  EXPECT_EQ(floatToFloat16(1.0f + 3.0f / 2048), 0x3c02);  // tie: rounds up to even
  EXPECT_EQ(floatToFloat16(65504.0f), 0x7bff);
  EXPECT_EQ(floatToFloat16(65520.0f), 0x7c00);
  EXPECT_EQ(floatToFloat16(1e-8f), 0x0000);          // below half the smallest subnormal
  EXPECT_EQ(floatToFloat16(5.9604645e-8f), 0x0001);  // smallest subnormal
  EXPECT_TRUE(std::isnan(float16ToFloat(floatToFloat16(NAN))));
}

TEST(BFloat16, RoundsToNearestEven) {
  EXPECT_EQ(floatToBFloat16(1.0f), 0x3f80);
  float halfway = std::bit_cast<float>(0x3f808000u);  // exactly between 0x3f80 and 0x3f81
  EXPECT_EQ(floatToBFloat16(halfway), 0x3f80);
  EXPECT_EQ(bfloat16ToFloat(0x4049), 3.140625f);
}

TEST(Float8, EncodesAndSaturates) {
  EXPECT_EQ(toFloat(Float8E4M3{floatToFloat8(448.0f, 3, 7, false, true)}), 448.0f);
  EXPECT_EQ(toFloat(Float8E4M3{floatToFloat8(1000.0f, 3, 7, false, true)}), 448.0f);
  EXPECT_TRUE(std::isnan(toFloat(Float8E4M3{floatToFloat8(1000.0f, 3, 7, false, false)})));
  EXPECT_EQ(toFloat(Float8E5M2{floatToFloat8(57344.0f, 2, 15, true, true)}), 57344.0f);
  EXPECT_TRUE(std::isinf(toFloat(Float8E5M2{floatToFloat8(1e6f, 2, 15, true, false)})));
  for (uint32_t b = 0; b < 256; ++b) {
    float f = float8ToFloat(static_cast<uint8_t>(b), 3, 7, false);
    if (std::isnan(f)) continue;
    EXPECT_EQ(floatToFloat8(f, 3, 7, false, true), b) << b;
  }
}

TEST(Shape, BroadcastsAndKeepsSymbols) {
  Shape a({Dim::symbolic("batch"), 1, 4});
  Shape b({3, 1});
  auto c = broadcastShapes(a, b);
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->toString(), "[batchx3x4]");
  EXPECT_FALSE(broadcastShapes(Shape::fromSizes({2, 3}), Shape::fromSizes({4, 3})).isOk());
}

TEST(Graph, SortsTopologicallyAndFindsCycles) {
  Graph g;
  Value* x = g.addValue("x").value();
  Value* y = g.addValue("y").value();
  Value* z = g.addValue("z").value();
  Node* second = g.addNode("Relu", "second");
  g.setInput(second, 0, y);
  ASSERT_TRUE(g.addOutput(second, z).isOk());
  Node* first = g.addNode("Relu", "first");
  g.setInput(first, 0, x);
  ASSERT_TRUE(g.addOutput(first, y).isOk());
  ASSERT_TRUE(g.sortTopologically().isOk());
  EXPECT_EQ(g.nodes()[0]->name, "first");

  g.setInput(first, 1, z);  // first now depends on second
  Status s = g.sortTopologically();
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("cycle"), std::string::npos);
}

}  // namespace
}  // namespace lowp::ir
