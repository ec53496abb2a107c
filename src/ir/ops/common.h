// Shared pieces of the per-op type and shape rules in ir/ops/.
#pragma once

#include <optional>
#include <vector>

#include "ir/graph.h"
#include "ir/op_schema.h"

namespace lowp::ir::ops {

/// Output 0 has input 0's type and shape (unary elementwise ops).
Status inferSameAsInput0(InferContext& ctx);

/// Output 0 is the broadcast of all present inputs; its type is `outType`, or input 0's type when
/// `outType` is kUndefined. Errors when the input types differ (all inputs must share one type).
Status inferBroadcast(InferContext& ctx, DataType outType = DataType::kUndefined);

/// Error unless every present input has the same type as input 0.
Status requireSameInputTypes(InferContext& ctx, size_t first = 0, size_t last = SIZE_MAX);

/// Shape of known sizes from a static vector.
Shape shapeOf(const std::vector<int64_t>& sizes);

/// A shape of the given rank with every dimension unknown.
Shape unknownDims(int64_t rank);

/// Whether two dims can be one size: equal where both are known, any size where either is not.
bool dimsAgree(const Dim& a, const Dim& b);

/// Of two dims that agree, the known one (b where neither is).
Dim knownDim(const Dim& a, const Dim& b);

/// A Dropout that drops nothing: training_mode absent or a constant false, or a ratio that is a constant 0
/// (both known while building; lowp runs inference only). Its output is its input, its mask all true.
bool dropoutDropsNothing(const Node& node);

/// Registration of each family's schemas (one file each in ir/ops/); all listed in op_list.cpp.
void registerElementwiseSchemas(OpSchemaRegistry& registry);
void registerTensorSchemas(OpSchemaRegistry& registry);
void registerLinearSchemas(OpSchemaRegistry& registry);
void registerPoolSchemas(OpSchemaRegistry& registry);
void registerNormalizationSchemas(OpSchemaRegistry& registry);
void registerReductionSchemas(OpSchemaRegistry& registry);
void registerConversionSchemas(OpSchemaRegistry& registry);
void registerResizeSchemas(OpSchemaRegistry& registry);
void registerElementwiseChainSchema(OpSchemaRegistry& registry);
void registerFusedSchemas(OpSchemaRegistry& registry);
void registerAttentionSchema(OpSchemaRegistry& registry);
void registerOnnxAttentionSchema(OpSchemaRegistry& registry);
void registerRotaryEmbeddingSchema(OpSchemaRegistry& registry);
void registerQuantizedSchemas(OpSchemaRegistry& registry);
void registerReformatSchema(OpSchemaRegistry& registry);

}  // namespace lowp::ir::ops
