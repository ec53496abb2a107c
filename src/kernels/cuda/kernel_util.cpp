#include "kernels/cuda/kernel_util.h"

#include <algorithm>
#include <cctype>
#include <mutex>

#include "ir/ops/window.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/reference/common.h"
#include "kernels/reference/tensor_util.h"

namespace lowp::kernels::cuda {

std::optional<Elem> elemOf(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return Elem::kF32;
    case DataType::kFloat16:
      return Elem::kF16;
    case DataType::kBFloat16:
      return Elem::kBF16;
    case DataType::kInt8:
      return Elem::kI8;
    case DataType::kUInt8:
      return Elem::kU8;
    default:
      return std::nullopt;
  }
}

Result<Elem> floatElemOf(const KernelContext& ctx, const Tensor& t, std::string_view what) {
  const std::optional<Elem> e = elemOf(t.type());
  if (!e || *e == Elem::kI8 || *e == Elem::kU8)
    return ctx.unsupported(std::string(what) + " " + t.describe() + " is not fp32, fp16 or bf16");
  return *e;
}

std::string_view keepName(std::string name) {
  static std::mutex mutex;
  static std::deque<std::string> names;  // a deque keeps earlier strings in place
  const std::lock_guard<std::mutex> lock(mutex);
  names.push_back(std::move(name));
  return names.back();
}

std::string_view ownKernelName(DataType type, std::string_view opType) {
  std::string name = std::string(shortTypeName(type)) + "-";
  for (char c : opType) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return keepName(name + "-cuda");
}

std::string_view shortTypeName(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return "f32";
    case DataType::kFloat16:
      return "f16";
    case DataType::kBFloat16:
      return "bf16";
    case DataType::kInt8:
      return "i8";
    case DataType::kUInt8:
      return "u8";
    case DataType::kInt32:
      return "i32";
    case DataType::kInt64:
      return "i64";
    case DataType::kBool:
      return "bool";
    case DataType::kFloat8E4M3FN:
      return "f8";
    default:
      return "x";
  }
}

Status requireSameAsInput(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& y = ctx.output(0);
  if (y.type() != x.type() || y.elementCount() != x.elementCount())
    return ctx.invalid("output " + y.describe() + " does not match the input " + x.describe());
  return {};
}

DataType tensorTypeOf(Precision precision) {
  switch (precision) {
    case Precision::kF16:
      return DataType::kFloat16;
    case Precision::kBf16:
      return DataType::kBFloat16;
    case Precision::kF32:
    case Precision::kTf32:
      return DataType::kFloat32;
  }
  return DataType::kFloat32;
}

Result<ConvOperands> convOperands(KernelContext& ctx, DataType type, bool fused) {
  ConvOperands c;
  c.x = &ctx.input(0);
  c.w = &ctx.input(1);
  c.y = &ctx.output(0);
  if (c.x->type() != type || c.w->type() != type || c.y->type() != type)
    return ctx.invalid("input " + c.x->describe() + ", weight " + c.w->describe() + " and output " +
                       c.y->describe() + " are not all " + std::string(dataTypeName(type)));
  if (fused) {
    auto spec = ir::ops::readActivation(ctx.attrs());
    if (!spec) return ctx.invalid(spec.status().message());
    c.activation = *spec;
  }
  c.bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  c.residual = fused && ctx.hasInput(3) ? &ctx.input(3) : nullptr;
  const int64_t outChannels = c.w->rank() > 0 ? c.w->shape()[0] : 0;
  if (c.bias != nullptr && (c.bias->elementCount() != outChannels ||
                            (c.bias->type() != type && c.bias->type() != DataType::kFloat32)))
    return ctx.invalid("bias " + c.bias->describe() + " is not one value per output channel");
  if (c.residual != nullptr && (c.residual->shape() != c.y->shape() || c.residual->type() != type))
    return ctx.invalid("residual " + c.residual->describe() + " differs from the output " + c.y->describe());
  return c;
}

namespace {

bool fitsInt(int64_t v) {
  return v >= 0 && v <= 0x7fffffff;
}

}  // namespace

cudnnDataType_t cudnnTypeOf(DataType type) {
  switch (type) {
    case DataType::kFloat16:
      return CUDNN_DATA_HALF;
    case DataType::kBFloat16:
      return CUDNN_DATA_BFLOAT16;
    case DataType::kInt8:
      return CUDNN_DATA_INT8;
    case DataType::kInt32:
      return CUDNN_DATA_INT32;
    default:
      return CUDNN_DATA_FLOAT;
  }
}

Result<ConvGeometry> convGeometry(const ir::AttributeMap& attrs, const std::vector<int64_t>& x,
                                  const std::vector<int64_t>& w) {
  const bool oneD = x.size() == 3 && w.size() == 3;
  if ((x.size() != 4 || w.size() != 4) && !oneD)
    return Status(StatusCode::kUnsupported, "only 1-D and 2-D convolutions run on cuDNN here");
  ConvGeometry g;
  g.x = oneD ? std::vector<int64_t>{x[0], x[1], 1, x[2]} : x;
  g.w = oneD ? std::vector<int64_t>{w[0], w[1], 1, w[2]} : w;
  g.group = attrs.getInt("group", 1);
  if (g.group < 1 || x[1] != w[1] * g.group || w[0] % g.group != 0)
    return Status(StatusCode::kInvalidArgument, "input channels, weight and group do not match");
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  const std::vector<int64_t> spatial(x.begin() + 2, x.end());
  auto window = ir::ops::readWindow(attrs, kernel);
  if (!window) return window.status();
  LOWP_RETURN_IF_ERROR(ir::ops::resolveForwardWindow(*window, spatial, false));
  const size_t first = oneD ? 1 : 0;  // the height of a 1-D convolution is 1: no pad, stride 1
  for (size_t a = 0; a < spatial.size(); ++a) {
    if (window->padsBegin[a] != window->padsEnd[a])
      return Status(StatusCode::kUnsupported, "cuDNN pads both ends of an axis alike");
    g.pad[first + a] = static_cast<int>(window->padsBegin[a]);
    g.stride[first + a] = static_cast<int>(window->strides[a]);
    g.dilation[first + a] = static_cast<int>(window->dilations[a]);
  }
  g.output = {x[0], w[0]};
  g.output.insert(g.output.end(), window->output.begin(), window->output.end());
  g.y = {x[0], w[0], oneD ? 1 : window->output[0], window->output.back()};
  for (int64_t v : x)
    if (!fitsInt(v)) return Status(StatusCode::kUnsupported, "sizes beyond cuDNN's int");
  return g;
}

ConvHwcGeometry hwcGeometryOf(const ConvGeometry& g) {
  return {.n = g.x[0],
          .c = g.x[1],
          .h = g.x[2],
          .w = g.x[3],
          .m = g.w[0],
          .oh = g.y[2],
          .ow = g.y[3],
          .kh = static_cast<int>(g.w[2]),
          .kw = static_cast<int>(g.w[3]),
          .sh = g.stride[0],
          .sw = g.stride[1],
          .dh = g.dilation[0],
          .dw = g.dilation[1],
          .padTop = g.pad[0],
          .padLeft = g.pad[1]};
}

Result<ConvTransposeGeometry> convTransposeGeometry(const ir::AttributeMap& attrs,
                                                    const std::vector<int64_t>& x,
                                                    const std::vector<int64_t>& w) {
  if (x.size() != 4 || w.size() != 4)
    return Status(StatusCode::kUnsupported, "only 2-D transposed convolutions run on cuDNN here");
  ConvTransposeGeometry t;
  ConvGeometry& g = t.conv;
  g.group = attrs.getInt("group", 1);
  if (g.group < 1 || x[1] != w[0] || w[0] % g.group != 0)
    return Status(StatusCode::kInvalidArgument, "input channels, weight and group do not match");
  auto window = ir::ops::readWindow(attrs, {w[2], w[3]});
  if (!window) return window.status();
  LOWP_RETURN_IF_ERROR(ir::ops::resolveTransposedWindow(*window, attrs, {x[2], x[3]}));
  const int64_t channels = w[1] * g.group;
  t.y = {x[0], channels, window->output[0], window->output[1]};
  // Rows of the forward convolution of `size` rows padded by `pad` at both ends.
  auto forwardRows = [&](size_t a, int64_t size, int64_t pad) {
    const int64_t span = size + 2 * pad - window->dilations[a] * (w[2 + a] - 1) - 1;
    return span < 0 ? int64_t{-1} : span / window->strides[a] + 1;
  };
  for (size_t a = 0; a < 2; ++a) {
    if (window->padsBegin[a] < 0)
      return Status(StatusCode::kUnsupported, "an output_shape beyond the whole result (negative pads)");
    t.cropped |= forwardRows(a, window->output[a], window->padsBegin[a]) != x[2 + a];
    g.stride[a] = static_cast<int>(window->strides[a]);
    g.dilation[a] = static_cast<int>(window->dilations[a]);
  }
  g.x = t.y;
  for (size_t a = 0; a < 2; ++a) {
    if (!t.cropped) {
      g.pad[a] = static_cast<int>(window->padsBegin[a]);
      continue;
    }
    // The whole result: (H - 1) * stride + (k - 1) * dilation + 1, longer where the window reaches past it.
    const int64_t full = (x[2 + a] - 1) * window->strides[a] + (w[2 + a] - 1) * window->dilations[a] + 1;
    g.x[2 + a] = std::max(full, window->padsBegin[a] + window->output[a]);
    t.crop[a] = window->padsBegin[a];
    if (forwardRows(a, g.x[2 + a], 0) != x[2 + a])
      return Status(StatusCode::kUnsupported, "cuDNN cannot take these pads");
  }
  g.w = w;
  g.y = x;
  for (int64_t v : g.x)
    if (!fitsInt(v)) return Status(StatusCode::kUnsupported, "sizes beyond cuDNN's int");
  return t;
}

CudnnConvDescriptors::~CudnnConvDescriptors() {
  if (x != nullptr) cudnnDestroyTensorDescriptor(x);
  if (y != nullptr) cudnnDestroyTensorDescriptor(y);
  if (w != nullptr) cudnnDestroyFilterDescriptor(w);
  if (conv != nullptr) cudnnDestroyConvolutionDescriptor(conv);
}

Status CudnnConvDescriptors::create(Precision precision, bool hwc, const ConvGeometry& g) {
  const cudnnDataType_t dtype = cudnnTypeOf(tensorTypeOf(precision));
  const cudnnTensorFormat_t format = hwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  auto i = [](int64_t v) { return static_cast<int>(v); };
  LOWP_CUDA_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&x));
  LOWP_CUDA_RETURN_IF_ERROR(
      cudnnSetTensor4dDescriptor(x, format, dtype, i(g.x[0]), i(g.x[1]), i(g.x[2]), i(g.x[3])));
  LOWP_CUDA_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&y));
  LOWP_CUDA_RETURN_IF_ERROR(
      cudnnSetTensor4dDescriptor(y, format, dtype, i(g.y[0]), i(g.y[1]), i(g.y[2]), i(g.y[3])));
  LOWP_CUDA_RETURN_IF_ERROR(cudnnCreateFilterDescriptor(&w));
  LOWP_CUDA_RETURN_IF_ERROR(
      cudnnSetFilter4dDescriptor(w, dtype, format, i(g.w[0]), i(g.w[1]), i(g.w[2]), i(g.w[3])));
  LOWP_CUDA_RETURN_IF_ERROR(cudnnCreateConvolutionDescriptor(&conv));
  LOWP_CUDA_RETURN_IF_ERROR(cudnnSetConvolution2dDescriptor(conv, g.pad[0], g.pad[1], g.stride[0],
                                                            g.stride[1], g.dilation[0], g.dilation[1],
                                                            CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  LOWP_CUDA_RETURN_IF_ERROR(cudnnSetConvolutionGroupCount(conv, static_cast<int>(g.group)));
  const cudnnMathType_t math = precision == Precision::kF32    ? CUDNN_FMA_MATH
                               : precision == Precision::kTf32 ? CUDNN_DEFAULT_MATH
                                                               : CUDNN_TENSOR_OP_MATH;
  LOWP_CUDA_RETURN_IF_ERROR(cudnnSetConvolutionMathType(conv, math));
  int n = 0, c = 0, h = 0, wd = 0;
  LOWP_CUDA_RETURN_IF_ERROR(cudnnGetConvolution2dForwardOutputDim(conv, x, w, &n, &c, &h, &wd));
  if (std::vector<int64_t>{n, c, h, wd} != g.y)
    return Status(StatusCode::kInternal, "cuDNN's output size differs from ONNX's");
  return {};
}

std::optional<std::vector<int64_t>> staticSizes(const std::vector<ir::Shape>& shapes, size_t i) {
  if (i >= shapes.size() || !shapes[i].rankKnown()) return std::nullopt;
  for (int64_t d = 0; d < shapes[i].rank(); ++d) {
    if (!shapes[i][d].isKnown()) return std::nullopt;
  }
  return shapes[i].sizes();
}

Status upload(DeviceBuffer& buffer, const void* host, size_t bytes, cudaStream_t stream) {
  if (buffer.data == nullptr) LOWP_CUDA_RETURN_IF_ERROR(cudaMalloc(&buffer.data, bytes));
  LOWP_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(buffer.data, host, bytes, cudaMemcpyHostToDevice, stream));
  LOWP_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream));
  return {};
}

TypeSet movableTypes() {
  TypeSet types;
  for (DataType t : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kFloat64,
                     DataType::kInt8, DataType::kUInt8, DataType::kInt16, DataType::kUInt16, DataType::kInt32,
                     DataType::kUInt32, DataType::kInt64, DataType::kUInt64, DataType::kBool}) {
    types = types | TypeSet{t};
  }
  return types;
}

int wordBytes(DataType type) {
  const int bytes = ir::dataTypeInfo(type).storageBytes;
  return bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8 ? bytes : 0;
}

bool isConstantInput(const KernelContext& ctx, size_t i) {
  const ir::Value* v = ctx.node().input(i);
  return v != nullptr && v->constant.has_value();
}

Result<const void*> ChannelsLastCopy::get(const CudaContext& cuda, const Tensor& source, bool constant,
                                          int64_t images, int64_t channels, int64_t spatial) {
  if (buffer_.data != nullptr && constant && from_ == source.data() && bytes_ == source.byteSize())
    return buffer_.data;
  if (bytes_ < source.byteSize()) {
    if (buffer_.data != nullptr) LOWP_CUDA_RETURN_IF_ERROR(cudaFree(buffer_.data));
    buffer_.data = nullptr;
    LOWP_CUDA_RETURN_IF_ERROR(cudaMalloc(&buffer_.data, static_cast<size_t>(source.byteSize())));
  }
  bytes_ = source.byteSize();
  LOWP_CUDA_RETURN_IF_ERROR(launchChannelsLast(static_cast<int>(dataTypeSize(source.type())), source.data(),
                                               buffer_.data, images, channels, spatial, true, cuda.stream));
  from_ = source.data();
  return buffer_.data;
}

Result<std::vector<float>> quantizedRescale(const CudaContext& cuda, const ir::ops::QuantizedParams& params,
                                            const Tensor* bias, int64_t channels, double divisor) {
  std::vector<int32_t> b(static_cast<size_t>(channels), 0);
  if (bias != nullptr) {
    LOWP_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(b.data(), bias->data(), b.size() * sizeof(int32_t),
                                              cudaMemcpyDeviceToHost, cuda.stream));
    LOWP_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(cuda.stream));
  }
  std::vector<float> out(static_cast<size_t>(2 * channels));
  for (int64_t m = 0; m < channels; ++m) {
    const double s = static_cast<double>(params.inputScale) * params.weightScale(m) / divisor;
    out[static_cast<size_t>(m)] = static_cast<float>(s);
    out[static_cast<size_t>(channels + m)] = static_cast<float>(b[static_cast<size_t>(m)] * s);
  }
  return out;
}

Epilogue activationEpilogue(const ir::ops::ActivationSpec& activation, bool appliedInProduct) {
  Epilogue e;
  e.activation = appliedInProduct ? Activation::kNone : static_cast<Activation>(activation.kind);
  e.alpha = activation.alpha;
  e.beta = activation.beta;
  return e;
}

Epilogue epilogueOf(const ConvOperands& c, DataType type, bool withBiasAndResidual) {
  Epilogue e = activationEpilogue(c.activation);
  if (!withBiasAndResidual) return e;
  e.bias = c.bias != nullptr ? c.bias->data() : nullptr;
  e.biasType = c.bias != nullptr && c.bias->type() == DataType::kFloat32 ? Elem::kF32 : *elemOf(type);
  e.residual = c.residual != nullptr ? c.residual->data() : nullptr;
  return e;
}

std::vector<int64_t> alignedTo(const std::vector<int64_t>& shape, size_t rank) {
  std::vector<int64_t> out(rank - shape.size(), 1);
  out.insert(out.end(), shape.begin(), shape.end());
  return out;
}

Result<BroadcastPlan> broadcastPlanOf(const KernelContext& ctx, std::initializer_list<const Tensor*> operands,
                                      const Tensor& y) {
  const std::vector<int64_t>& out = y.shape();
  std::string names;
  for (const Tensor* t : operands) names += (names.empty() ? "" : ", ") + t->describe();
  if (out.size() > static_cast<size_t>(kMaxBroadcastRank))
    return ctx.unsupported("no CUDA broadcast of rank " + std::to_string(out.size()));
  if (operands.size() > static_cast<size_t>(kMaxBroadcastOperands))
    return ctx.unsupported("no CUDA broadcast of " + std::to_string(operands.size()) + " operands");
  // Per operand, its sizes aligned to the output and its strides (0 where it broadcasts).
  std::vector<std::vector<int64_t>> strides;
  strides.reserve(operands.size());
  for (const Tensor* t : operands) {
    if (t->shape().size() > out.size())
      return ctx.invalid("operands " + names + " have more dims than " + y.describe());
    const std::vector<int64_t> sizes = alignedTo(t->shape(), out.size());
    std::vector<int64_t> s(out.size(), 0);
    int64_t stride = 1;
    for (size_t d = out.size(); d-- > 0;) {
      if (sizes[d] != out[d] && sizes[d] != 1)
        return ctx.invalid("operands " + names + " do not broadcast to " + y.describe());
      s[d] = sizes[d] == 1 ? 0 : stride;
      stride *= sizes[d];
    }
    strides.push_back(std::move(s));
  }
  // Merge dim d into the one before it where every operand steps over both as over one dim (its stride
  // there is d's times d's size, both 0 where it broadcasts): fewer dims, less index arithmetic per
  // element. Size-1 dims go first.
  BroadcastPlan plan;
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;
    bool merges = plan.rank > 0;
    for (size_t k = 0; k < strides.size() && merges; ++k)
      merges = strides[k][d] * out[d] == plan.stride[k][plan.rank - 1];
    if (merges) {
      plan.out[plan.rank - 1] *= out[d];
      for (size_t k = 0; k < strides.size(); ++k) plan.stride[k][plan.rank - 1] = strides[k][d];
    } else {
      for (size_t k = 0; k < strides.size(); ++k) plan.stride[k][plan.rank] = strides[k][d];
      plan.out[plan.rank++] = out[d];
    }
  }
  if (plan.rank == 0) {  // a single element
    plan.rank = 1;
    plan.out[0] = 1;
  }
  return plan;
}

std::optional<ValueType> valueTypeOf(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return ValueType::kF32;
    case DataType::kFloat16:
      return ValueType::kF16;
    case DataType::kBFloat16:
      return ValueType::kBF16;
    case DataType::kInt8:
      return ValueType::kI8;
    case DataType::kUInt8:
      return ValueType::kU8;
    case DataType::kInt32:
      return ValueType::kI32;
    case DataType::kInt64:
      return ValueType::kI64;
    case DataType::kBool:
      return ValueType::kBool;
    default:
      return std::nullopt;
  }
}

std::optional<std::vector<int64_t>> constantInts(const ir::Node& node, size_t i) {
  const ir::Value* v = node.input(i);
  if (v == nullptr || !v->constant) return std::nullopt;
  return ref::tensor::readInts(*v->constant);
}

std::optional<int64_t> firstOutOfRange(const std::vector<int64_t>& indices, int64_t size) {
  for (int64_t index : indices) {
    if (index < -size || index >= size) return index;
  }
  return std::nullopt;
}

GatherElementsPlan gatherElementsPlan(const std::vector<int64_t>& data, const std::vector<int64_t>& indices,
                                      int axis) {
  GatherElementsPlan plan;
  plan.rank = static_cast<int>(data.size());
  plan.axis = axis;
  plan.axisSize = data[static_cast<size_t>(axis)];
  const std::vector<int64_t> strides = ref::contiguousStrides(data);
  for (size_t d = 0; d < strides.size(); ++d) {
    plan.dims[d] = indices[d];
    plan.dataStrides[d] = strides[d];
  }
  return plan;
}

}  // namespace lowp::kernels::cuda
