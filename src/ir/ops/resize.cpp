// Type and shape rules of the resize ops: Resize (opsets 10-19; Resize-10 arrives with its scales moved to
// slot 2 by the importer) and Upsample (opsets 7-9). The geometry is in resize_plan.h.
#include <string>

#include "ir/ops/common.h"
#include "ir/ops/resize_plan.h"

namespace lowp::ir::ops {
namespace {

Status asNodeError(const InferContext& ctx, const Status& s) {
  return s.code() == StatusCode::kUnsupported ? ctx.unsupported(s.message()) : ctx.invalid(s.message());
}

/// True when input i is known to hold no elements (ONNX spells an unused roi or scales as an empty tensor).
bool knownEmpty(const InferContext& ctx, size_t i) {
  if (const Tensor* v = ctx.inputValue(i)) return v->elementCount() == 0;
  const auto count = ctx.inputShape(i).elementCount();
  return count.has_value() && *count == 0;
}

ResizeInput resizeInput(const InferContext& ctx, size_t i) {
  ResizeInput in;
  in.present = ctx.hasInput(i) && !knownEmpty(ctx, i);
  in.value = in.present ? ctx.inputValue(i) : nullptr;
  return in;
}

Status inferResize(InferContext& ctx) {
  const DataType type = ctx.inputType(0);
  auto attrs = readResizeAttrs(ctx.node());
  if (!attrs) return asNodeError(ctx, attrs.status());
  const std::string typeText(dataTypeInfo(type).name);
  if (!isStorable(type)) return ctx.unsupported("resizing " + typeText + " tensors is not supported");
  if (attrs->mode != ResizeMode::kNearest && !isFloat(type) && !isInteger(type)) {
    return ctx.unsupported("linear and cubic resizing of " + typeText + " tensors is not supported");
  }
  if (dataTypeInfo(type).bits == 8 && isFloat(type) && attrs->mode != ResizeMode::kNearest) {
    return ctx.unsupported("linear and cubic resizing of FP8 tensors is not supported");
  }
  const bool upsample = ctx.node().opType == "Upsample";
  const ResizeInput roi = upsample ? ResizeInput{} : resizeInput(ctx, 1);
  const ResizeInput scales = resizeInput(ctx, resizeScalesSlot(ctx.node()));
  const ResizeInput sizes = upsample ? ResizeInput{} : resizeInput(ctx, 3);
  if (attrs->coordinate == CoordinateMode::kTfCropAndResize && !ctx.hasInput(1)) {
    return ctx.invalid("coordinate_transformation_mode tf_crop_and_resize needs the roi input");
  }

  const Shape& inShape = ctx.inputShape(0);
  if (!inShape.rankKnown()) {
    ctx.setOutput(0, type, Shape::unknownRank());
    return {};
  }
  std::vector<int64_t> inSizes;
  for (const Dim& d : inShape.dims()) inSizes.push_back(d.size);
  auto geometry = resolveResizeGeometry(*attrs, inSizes, roi, scales, sizes);
  if (!geometry) return asNodeError(ctx, geometry.status());

  std::vector<Dim> dims;
  for (size_t a = 0; a < inSizes.size(); ++a) {
    const int64_t out = geometry->outSizes[a];
    if (inSizes[a] == 0 && out > 0) {
      return ctx.invalid("cannot resize axis " + std::to_string(a) + " of size 0 to size " +
                         std::to_string(out));
    }
    if (out < 0 && geometry->scales[a] == 1.0) {
      dims.push_back(inShape[static_cast<int64_t>(a)]);  // not resized: keeps a symbolic size
    } else {
      dims.push_back(out >= 0 ? Dim(out) : Dim());
    }
  }
  ctx.setOutput(0, type, Shape(std::move(dims)));
  return {};
}

}  // namespace

void registerResizeSchemas(OpSchemaRegistry& registry) {
  registry.add({.opType = "Resize",
                .minInputs = 1,
                .maxInputs = 4,
                .attributes = {{"antialias", AttrType::kInt},
                               {"axes", AttrType::kInts},
                               {"coordinate_transformation_mode", AttrType::kString},
                               {"cubic_coeff_a", AttrType::kFloat},
                               {"exclude_outside", AttrType::kInt},
                               {"extrapolation_value", AttrType::kFloat},
                               {"keep_aspect_ratio_policy", AttrType::kString},
                               {"mode", AttrType::kString},
                               {"nearest_mode", AttrType::kString}},
                .infer = inferResize});
  // Upsample-7/8 carry the scales as an attribute; the importer turns it into input 1.
  registry.add({.opType = "Upsample",
                .minInputs = 1,
                .maxInputs = 2,
                .attributes = {{"mode", AttrType::kString}, {"scales", AttrType::kFloats}},
                .infer = inferResize});
}

}  // namespace lowp::ir::ops
