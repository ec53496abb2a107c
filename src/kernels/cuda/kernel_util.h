// Pieces the CUDA kernel functions (.cpp files of this folder) share: the Elem of a DataType, names that
// live as long as the registry, the precisions of library tactics, the check that a kernel's output
// matches its input, the operands and geometry every convolution kernel checks alike, and device memory
// owned by a kernel's state.
#pragma once

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/ops/fused.h"
#include "ir/ops/quantized.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/launch.h"
#include "kernels/kernel.h"

namespace lowp::kernels::cuda {

/// The Elem of fp32, fp16, bf16, int8 and uint8; nullopt for other types.
std::optional<Elem> elemOf(DataType type);

/// The float Elem of tensor `t`, or an error naming the node and the tensor.
Result<Elem> floatElemOf(const KernelContext& ctx, const Tensor& t, std::string_view what);

/// Keeps `name` for the life of the program (KernelDef names are string_views).
std::string_view keepName(std::string name);

/// "f32", "f16", "bf16", "i8", "u8", "i32", "i64", "bool", "f8": the dtype part of kernel names.
std::string_view shortTypeName(DataType type);

/// "<dtype>-<opType in lower case>-cuda": the name of lowp's own kernel of `opType` for tensors of `type`,
/// kept for the life of the program.
std::string_view ownKernelName(DataType type, std::string_view opType);

/// The arithmetic of a cuBLASLt or cuDNN tactic: fp32 (full fp32 products), tf32 (fp32 tensors, inputs
/// rounded to tf32 on the tensor cores; only where TF32 is allowed), fp16 or bf16 (accumulated in fp32).
enum class Precision { kF32, kTf32, kF16, kBf16 };

/// The type of the tensors a tactic of `precision` reads and writes.
DataType tensorTypeOf(Precision precision);

/// Checks that output 0 has input 0's type and element count.
Status requireSameAsInput(KernelContext& ctx);

/// Sizes of `shape` aligned right to `rank` dims (at least shape's), 1s in front.
std::vector<int64_t> alignedTo(const std::vector<int64_t>& shape, size_t rank);

/// The strides that read `operands` (at most kMaxBroadcastOperands) under NumPy broadcasting over `y`'s
/// shape; an error naming the node when they do not broadcast to it or the rank is over kMaxBroadcastRank.
Result<BroadcastPlan> broadcastPlanOf(const KernelContext& ctx, std::initializer_list<const Tensor*> operands,
                                      const Tensor& y);

/// supportsBroadcastOf's operand count of the variadic ops (Max, Min and Sum): one input or more.
inline constexpr size_t kAnyOperandCount = 0;

/// A `supports` predicate of the broadcasting kernels: exactly kOperands inputs (kAnyOperandCount: any
/// number from one), each present and of known rank at most kMaxBroadcastRank.
template <size_t kOperands>
bool supportsBroadcastOf(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (kOperands == kAnyOperandCount ? node.inputs.empty() : node.inputs.size() != kOperands) return false;
  if (shapes.size() != node.inputs.size()) return false;
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (node.input(i) == nullptr || !shapes[i].rankKnown() || shapes[i].rank() > kMaxBroadcastRank)
      return false;
  }
  return true;
}

/// The ValueType of fp32, fp16, bf16, int8, uint8, int32, int64 and bool; nullopt for other types.
std::optional<ValueType> valueTypeOf(DataType type);

/// The operands of a Conv (kFused false) or lowp.FusedConv kernel computing in `type`, checked: x, w and y
/// of `type`; the bias (input 2), when given, one value per output channel (w's first dimension) of `type`
/// or fp32; a FusedConv's residual (input 3), when given, of y's shape and type; its activation.
struct ConvOperands {
  const Tensor* x = nullptr;
  const Tensor* w = nullptr;
  Tensor* y = nullptr;
  const Tensor* bias = nullptr;
  const Tensor* residual = nullptr;
  ir::ops::ActivationSpec activation;
};
Result<ConvOperands> convOperands(KernelContext& ctx, DataType type, bool fused);

/// cuDNN's name of fp32, fp16, bf16, int8 or int32 (fp32 for other types).
cudnnDataType_t cudnnTypeOf(DataType type);

/// The geometry of one 2-D convolution as cuDNN takes it: sizes, pads, strides, dilations. A 1-D
/// convolution is the 2-D one of height 1 (x [N, C, 1, W], w [M, C / group, 1, k]), the same bytes.
struct ConvGeometry {
  std::vector<int64_t> x, w, y;
  std::vector<int64_t> output;  ///< y as the graph shapes it: y, or [N, M, W] for a 1-D convolution.
  int64_t group = 1;
  int pad[2] = {0, 0};
  int stride[2] = {1, 1};
  int dilation[2] = {1, 1};

  bool operator==(const ConvGeometry& o) const = default;
};

/// `g` for lowp's own kernels over NHWC tensors (launch.h).
ConvHwcGeometry hwcGeometryOf(const ConvGeometry& g);

/// The geometry of x [N, C, H, W] convolved by w [M, C / group, kh, kw] (or x [N, C, W] by w [M, C / group,
/// k]) with Conv's attributes, or the reason cuDNN cannot run it (other ranks, asymmetric pads, sizes beyond
/// int).
Result<ConvGeometry> convGeometry(const ir::AttributeMap& attrs, const std::vector<int64_t>& x,
                                  const std::vector<int64_t>& w);

/// A ConvTranspose of x [N, C, H, W] by w [C, M / group, kh, kw] as the forward convolution `conv` whose
/// backward-data pass it is: conv.x is the output the pass writes, conv.y the ConvTranspose's x. Where
/// cuDNN's symmetric pads can express the ConvTranspose's (its leading pads, with trailing pads and
/// output_padding that leave a size whose forward convolution has H and W rows and columns), conv.x is the
/// output y itself; otherwise (`cropped`: SAME_UPPER with an odd total padding, pads longer after than
/// before) the pass writes the whole unpadded result, and y is its window from row crop[0], column crop[1].
struct ConvTransposeGeometry {
  ConvGeometry conv;
  std::vector<int64_t> y;
  bool cropped = false;
  int64_t crop[2] = {0, 0};
};
Result<ConvTransposeGeometry> convTransposeGeometry(const ir::AttributeMap& attrs,
                                                    const std::vector<int64_t>& x,
                                                    const std::vector<int64_t>& w);

/// cuDNN's descriptors of the convolution of `g` in `precision`, NCHW or (hwc) NHWC: x, w, y and the
/// convolution, its math FMA-only for fp32, default (TF32 allowed) for tf32, tensor ops for fp16 and bf16.
class CudnnConvDescriptors {
 public:
  CudnnConvDescriptors() = default;
  CudnnConvDescriptors(const CudnnConvDescriptors&) = delete;
  CudnnConvDescriptors& operator=(const CudnnConvDescriptors&) = delete;
  ~CudnnConvDescriptors();

  Status create(Precision precision, bool hwc, const ConvGeometry& g);

  cudnnTensorDescriptor_t x = nullptr;
  cudnnTensorDescriptor_t y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
};

/// The sizes of shapes[i] when all are known.
std::optional<std::vector<int64_t>> staticSizes(const std::vector<ir::Shape>& shapes, size_t i);

/// Device memory a kernel's state owns, freed with it.
struct DeviceBuffer {
  void* data = nullptr;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (data != nullptr) cudaFree(data);
  }
};

/// Copies `bytes` of host memory into `buffer` (allocated on first use at that size) and waits for the copy:
/// what a kernel prepares once, on its first run.
Status upload(DeviceBuffer& buffer, const void* host, size_t bytes, cudaStream_t stream);

/// The types stored in 1, 2, 4 or 8 bytes: what the kernels that move elements without reading their values
/// (Transpose, Slice, Gather, Concat, nearest Resize) take.
TypeSet movableTypes();

/// Bytes of one element of `type` where those kernels can move it (1, 2, 4 or 8), else 0.
int wordBytes(DataType type);

/// The values of input `i` of `node` when it is a constant of the graph (read as integers); nullopt
/// otherwise.
std::optional<std::vector<int64_t>> constantInts(const ir::Node& node, size_t i);

/// The first of `indices` outside [-size, size), if any.
std::optional<int64_t> firstOutOfRange(const std::vector<int64_t>& indices, int64_t size);

/// How GatherElements and ScatterElements address data (dense, of shape `data`) from indices of shape
/// `indices` along `axis` (in [0, rank)).
GatherElementsPlan gatherElementsPlan(const std::vector<int64_t>& data, const std::vector<int64_t>& indices,
                                      int axis);

/// Whether input `i` of the kernel's node is a constant of the graph (weights): what a kernel may prepare
/// once.
bool isConstantInput(const KernelContext& ctx, size_t i);

/// A tensor's channels-last copy kept in device memory: per image, [channels, spatial] as [spatial,
/// channels] (launchChannelsLast): the weights of a convolution reordered for NHWC, a matrix transposed.
/// Made on first use and again whenever the source is not a constant of the graph or has moved.
class ChannelsLastCopy {
 public:
  Result<const void*> get(const CudaContext& cuda, const Tensor& source, bool constant, int64_t images,
                          int64_t channels, int64_t spatial);

 private:
  DeviceBuffer buffer_;
  int64_t bytes_ = 0;
  const void* from_ = nullptr;
};

/// The per-channel rescale of an int8 layer with `channels` output channels (or columns): M values
/// s[m] = input_scale * weight_scale[m] / divisor, then M values b[m] = bias[m] * s[m] (0 without a bias).
/// The int32 bias, a constant in device memory, is read back once.
Result<std::vector<float>> quantizedRescale(const CudaContext& cuda, const ir::ops::QuantizedParams& params,
                                            const Tensor* bias, int64_t channels, double divisor);

/// The epilogue that applies `activation` alone (none where the product's own epilogue already applied it:
/// `appliedInProduct`).
Epilogue activationEpilogue(const ir::ops::ActivationSpec& activation, bool appliedInProduct = false);

/// The epilogue (conv_epilogue.cu) that adds the bias and residual and applies the activation of `c`, in
/// tensors of `type`; `withBiasAndResidual` false leaves those to the convolution itself.
Epilogue epilogueOf(const ConvOperands& c, DataType type, bool withBiasAndResidual = true);

}  // namespace lowp::kernels::cuda
