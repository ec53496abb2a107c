// The launchers of lowp's own CUDA kernels (the .cu files of this folder), in plain C++: what the kernel
// functions of the .cpp files call with device pointers taken from their tensors. Every launcher queues its
// work on `stream` and returns cudaGetLastError() of its launches (cudaSuccess when there is nothing to do).
//
// Element types are named by Elem; float types compute in fp32 and round once to the stored type with
// round-to-nearest-even, as the reference kernels do (kernels/reference/common.h, Compute<T>).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace lowp::kernels::cuda {

enum class Elem : int { kF32 = 0, kF16 = 1, kBF16 = 2, kI8 = 3, kU8 = 4 };

/// The element types of the kernels that also take integers and bool (cast.cu, logic.cu); the float
/// types come first.
enum class ValueType : int { kF32, kF16, kBF16, kI8, kU8, kI32, kI64, kBool };

inline bool isFloat(ValueType type) {
  return type <= ValueType::kBF16;
}

// ---- elementwise.cu
// ----------------------------------------------------------------------------------------

/// The unary ops of elementwise.cu and of lowp.ElementwiseChain's steps (chain.cu), with the formulas of the
/// reference kernels (kernels/reference/elementwise.cpp): kGelu is ONNX's erf Gelu, kGeluTanh its
/// approximate="tanh" form.
enum class UnaryOp : int {
  kRelu = 0,
  kSigmoid = 1,
  kClip = 2,
  kLeakyRelu = 3,
  kTanh = 4,
  kExp = 5,
  kErf = 6,
  kGelu = 7,
  kGeluTanh = 8,
  kHardSigmoid = 9,
  kHardSwish = 10,
  kNeg = 11,
  kAbs = 12,
  kSqrt = 13,
  kReciprocal = 14,
  kLog = 15,
  kFloor = 16,
  kCeil = 17,
  kRound = 18,  ///< to nearest even
  kSin = 19,
  kCos = 20,
  kSign = 21,
  kSoftplus = 22,
  kSoftsign = 23,
  kMish = 24,
  kElu = 25,
  kCelu = 26,
  kSelu = 27,
  kThresholdedRelu = 28
};

/// Clip's bounds: device pointers to one value of x's type (opset 11+ inputs), else the values given
/// (attributes of older opsets, or +-inf).
struct ClipBounds {
  const void* min = nullptr;
  const void* max = nullptr;
  float minValue = 0.0f;
  float maxValue = 0.0f;
};

/// The attributes of the other unary ops: the alpha of LeakyRelu, Elu, Celu and ThresholdedRelu;
/// HardSigmoid's alpha and beta; Selu's alpha and gamma (as beta).
struct UnaryAttributes {
  float alpha = 0.0f;
  float beta = 0.0f;
};

/// y[i] = op(x[i]) for i in [0, n); x and y of the same float type.
cudaError_t launchUnary(UnaryOp op, Elem type, const void* x, void* y, int64_t n, const ClipBounds& bounds,
                        const UnaryAttributes& attributes, cudaStream_t stream);

/// Max and Min return NaN where either operand is NaN, as the reference kernels do.
enum class BinaryOp : int { kAdd = 0, kMul = 1, kSub = 2, kDiv = 3, kMax = 4, kMin = 5 };

inline constexpr int kMaxBroadcastRank = 8;

inline constexpr int kMaxBroadcastOperands = 3;

/// Element strides of up to kMaxBroadcastOperands operands over the output's dims (0 on broadcast dims),
/// dims aligned to the output; adjacent dims that every operand reads alike are merged into one.
struct BroadcastPlan {
  int rank = 0;
  int64_t out[kMaxBroadcastRank] = {};
  int64_t stride[kMaxBroadcastOperands][kMaxBroadcastRank] = {};
  /// Elements of the output: the product of `out`.
  int64_t count() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= out[d];
    return n;
  }
};

/// y[i] = a[i] op b[(i / inner) % count] for i in [0, n) (b op a when bFirst): same shapes (inner 1, count
/// n), a scalar (count 1), a per-channel bias (inner = the spatial size, count = channels), a row bias
/// (inner 1, count = the last dim).
cudaError_t launchBinaryBlock(BinaryOp op, Elem type, const void* a, const void* b, void* y, int64_t n,
                              int64_t inner, int64_t count, bool bFirst, cudaStream_t stream);

/// y = a op b under any NumPy broadcast of rank <= kMaxBroadcastRank.
cudaError_t launchBinaryGeneral(BinaryOp op, Elem type, const void* a, const void* b, void* y,
                                const BroadcastPlan& plan, cudaStream_t stream);

/// y[i] = a value of `type` that depends only on (seed, i): uniform in [-1, 1) for float types, 0 or 1 for
/// int8 and uint8. Fills tensors for timing tactics (the builder) without a host-side pass over them.
cudaError_t launchFillRandom(Elem type, void* y, int64_t n, uint32_t seed, cudaStream_t stream);

/// y[i] = (to) x[i] between fp32, fp16 and bf16.
cudaError_t launchCast(Elem from, Elem to, const void* x, void* y, int64_t n, cudaStream_t stream);

/// QuantizeLinear with one scale: y = saturate(round_half_even(x / scale) + zeroPoint) as int8 (isSigned)
/// or uint8, NaN to the zero point, x of float type `from` (divided in fp32). `scale` points at one fp32
/// value, `zeroPoint` at one value of y's type or is null (0). Bit-exact with the reference kernel.
cudaError_t launchQuantize(Elem from, const void* x, void* y, bool isSigned, const float* scale,
                           const void* zeroPoint, int64_t n, cudaStream_t stream);

/// QuantizeLinear to float8e4m3fn with one scale and zero point 0: x / scale in fp32, rounded to nearest
/// even, saturated to +-448 (ONNX's saturate=1); y holds the fp8 codes.
cudaError_t launchQuantizeFp8(Elem from, const void* x, void* y, const float* scale, int64_t n,
                              cudaStream_t stream);

/// DequantizeLinear from float8e4m3fn codes with one scale and zero point 0, to float type `to`.
cudaError_t launchDequantizeFp8(const void* x, Elem to, void* y, const float* scale, int64_t n,
                                cudaStream_t stream);

/// DequantizeLinear with one scale: y = (x - zeroPoint) * scale in fp32, rounded to float type `to`.
/// Bit-exact with the reference kernel.
cudaError_t launchDequantize(const void* x, bool isSigned, Elem to, void* y, const float* scale,
                             const void* zeroPoint, int64_t n, cudaStream_t stream);

// ---- reformat.cu
// -------------------------------------------------------------------------------------------

/// Per image, [channels, spatial] to [spatial, channels] (toHwc) or back, for elements of 1, 2 or 4 bytes.
cudaError_t launchChannelsLast(int elementBytes, const void* x, void* y, int64_t images, int64_t channels,
                               int64_t spatial, bool toHwc, cudaStream_t stream);

/// Per image, [channels, spatial] of 2-byte elements to [spatial, 8] with channels 0..channels-1 copied and
/// the rest zero (channels <= 8): a convolution's input with few channels, made fit for tensor cores.
cudaError_t launchPadToHwc8(const void* x, void* y, int64_t images, int64_t channels, int64_t spatial,
                            cudaStream_t stream);

/// For a stride-2 convolution of few channels (conv.cpp's "-s2d" tactics): y [images, outH, outW,
/// outChannels] of 2-byte elements, y[n][I][J][(c * 2 + da) * 2 + db] = x[n][c][2I + da - pad][2J + db - pad]
/// for x [images, channels, h, w] (zero outside x, and in the channels beyond 4 * channels). outChannels 16
/// or 32, at least 4 * channels; y 16-byte aligned.
cudaError_t launchSpaceToDepth(const void* x, void* y, int64_t images, int64_t channels, int64_t h, int64_t w,
                               int64_t outH, int64_t outW, int pad, int outChannels, cudaStream_t stream);

// ---- conv_epilogue.cu
// --------------------------------------------------------------------------------------

/// The order of ir::ops::FusedActivation.
// The values of ir::ops::FusedActivation.
enum class Activation : int { kNone = 0, kRelu, kLeakyRelu, kClip, kSigmoid, kHardSwish, kTanh, kGelu };

/// y = act(y + bias[channel] + residual), in place, over [images, channels, spatial] (or [images, spatial,
/// channels] when hwc). bias (fp32 or y's type) and residual (y's type, y's layout) may be null.
struct Epilogue {
  Activation activation = Activation::kNone;
  float alpha = 0.0f;  ///< LeakyRelu's slope, Clip's min, 1 for Gelu's tanh approximation.
  float beta = 0.0f;   ///< Clip's max.
  const void* bias = nullptr;
  Elem biasType = Elem::kF32;
  const void* residual = nullptr;
};

cudaError_t launchConvEpilogue(Elem type, void* y, int64_t images, int64_t channels, int64_t spatial,
                               bool hwc, const Epilogue& epilogue, cudaStream_t stream);

/// The end of an int8 matrix product (quantized_matmul.cpp): over rows x columns of int32 sums `acc`,
/// v = act(acc * scale[col] + bias[col]) in fp32 (bias null: none), then y = v in fp32 or fp16, or for an
/// int8 y, saturate(round_half_even(v / outputScale)).
cudaError_t launchRequantize(const int32_t* acc, Elem out, void* y, int64_t rows, int64_t columns,
                             const float* scale, const float* bias, const Epilogue& activation,
                             float outputScale, cudaStream_t stream);

/// The end of an fp8 product with an fp8 output (quantized_matmul.cpp): over the n fp16 values x (its
/// biased result), y = float8e4m3fn(act(x) / outputScale), rounded to nearest even and saturated. n a
/// multiple of 8, x 16-byte and y 8-byte aligned (else cudaErrorInvalidValue).
cudaError_t launchQuantizeEpilogueFp8(const void* x, void* y, int64_t n, const Epilogue& activation,
                                      float outputScale, cudaStream_t stream);

// ---- depthwise.cu
// ------------------------------------------------------------------------------------------

/// A 2-D convolution over NHWC tensors: x [n, h, w, c], weights reordered to [m, kh, kw, c], y [n, oh, ow,
/// m]; tap (i, j) of output pixel (oy, ox) reads x at row oy * sh - padTop + i * dh and column ox * sw -
/// padLeft + j * dw (zero outside x).
struct ConvHwcGeometry {
  int64_t n = 0, c = 0, h = 0, w = 0, m = 0, oh = 0, ow = 0;
  int kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, padTop = 0, padLeft = 0;
};

/// A depthwise 2-D convolution (group = input channels = output channels, ConvHwcGeometry's m = c):
/// y[n, oy, ox, c] = act(sum over (i, j) of x[n, oy * sh - padTop + i * dh, ox * sw - padLeft + j * dw, c] *
/// w[i, j, c] + bias[c] + residual[n, oy, ox, c]) in fp32, taps outside x reading zero; x, w (reordered to
/// [kh, kw, c]), y and the residual of one float type `type`, the bias fp32 or `type` (epilogue.biasType).
cudaError_t launchDepthwiseConvHwc(Elem type, const void* x, const void* w, void* y, const ConvHwcGeometry& g,
                                   const Epilogue& epilogue, cudaStream_t stream);

// ---- quantized_conv.cu
// -------------------------------------------------------------------------------------

/// What follows the int32 sums acc[p, m] of an int8 convolution: v = acc * scale[m] + bias[m] (bias
/// null: none) + residualAlpha * residual[p, m] (residual null: none), then the activation, in fp32; y = v
/// in fp32 or fp16, or for an int8 y saturate(round_half_even(v)), NaN giving 0 (y's scale already folded
/// into scale, bias, residualAlpha and the activation's bounds).
struct QuantizedConvEpilogue {
  const float* scale = nullptr;
  const float* bias = nullptr;
  const void* residual = nullptr;
  Elem residualType = Elem::kI8;
  float residualAlpha = 1.0f;
  Epilogue activation;  ///< kNone, kRelu, kLeakyRelu or kClip, with alpha and beta; bias and residual unused
};

/// The tile shapes of launchQuantizedConv: output pixels x output channels a block computes.
enum class QuantizedConvTile : int { k128x128 = 0, k256x64 = 1, k128x64 = 2 };

/// The implicit-GEMM int8 convolution on mma.sync int8 tensor cores (int32 sums), with its epilogue fused:
/// y of Elem kF32, kF16 or kI8, the residual kF32, kF16 or kI8 in y's layout. c and m multiples of 16; x, w,
/// y and the residual 16-byte aligned (else cudaErrorInvalidValue). cudaErrorNotSupported where the tile's
/// shared memory (a float residual's tile in every copy stage) is more than a block of this GPU has.
cudaError_t launchQuantizedConv(QuantizedConvTile tile, const int8_t* x, const int8_t* w, void* y, Elem yType,
                                const ConvHwcGeometry& g, const QuantizedConvEpilogue& epilogue,
                                cudaStream_t stream);

// ---- pool.cu
// -----------------------------------------------------------------------------------------------

/// A 2-D pooling window over [n, c, h, w] (or [n, h, w, c] when hwc) giving [n, c, oh, ow].
struct PoolGeometry {
  int64_t n = 0, c = 0, h = 0, w = 0, oh = 0, ow = 0;
  int kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;
  bool hwc = false;
  /// AveragePool's count_include_pad: divide by the taps inside the padded extent, not only the input.
  bool includePad = false;
};

/// MaxPool: the largest tap inside the input (padding never wins); -inf for a window wholly in padding.
cudaError_t launchMaxPool(Elem type, const void* x, void* y, const PoolGeometry& g, cudaStream_t stream);
/// AveragePool: the fp32 sum of the taps inside the input over the count (see includePad).
cudaError_t launchAveragePool(Elem type, const void* x, void* y, const PoolGeometry& g, cudaStream_t stream);
/// GlobalAveragePool over [images, channels, spatial] (or [images, spatial, channels]) to [images, channels].
cudaError_t launchGlobalAveragePool(Elem type, const void* x, void* y, int64_t images, int64_t channels,
                                    int64_t spatial, bool hwc, cudaStream_t stream);

// ---- softmax.cu
// --------------------------------------------------------------------------------------------

enum class SoftmaxKind : int { kSoftmax, kLogSoftmax, kHardmax };

/// Softmax (exp(x - max) / sum), LogSoftmax ((x - max) - log(sum)) or Hardmax (1 at the first maximum, a NaN
/// counting as the maximum; 0 elsewhere) along the middle axis of x viewed as [outer, size, inner], in fp32.
cudaError_t launchSoftmax(SoftmaxKind kind, Elem type, const void* x, void* y, int64_t outer, int64_t size,
                          int64_t inner, cudaStream_t stream);

// ---- chain.cu
// ----------------------------------------------------------------------------------------------

inline constexpr int kMaxChainSteps = 16;
inline constexpr int kMaxChainOperands = 8;

/// How a chain operand's element is found from the output index i: i itself (same shape), (i / inner) %
/// count (a scalar, a per-channel or a per-row block, as launchBinaryBlock), or element strides over the
/// output's dims (ChainProgram::dims; 0 on broadcast dims).
enum class ChainOperandMode : int { kSame = 0, kBlock = 1, kStrided = 2 };

struct ChainOperand {
  const void* data = nullptr;
  ChainOperandMode mode = ChainOperandMode::kSame;
  int64_t inner = 1;
  int64_t count = 1;
  int64_t strides[kMaxBroadcastRank] = {};
};

/// One step: v = unary(v), or v = binary(v, operand) (binary(operand, v) when operandFirst).
struct ChainStepCode {
  bool binary = false;
  UnaryOp unary = UnaryOp::kRelu;
  BinaryOp binaryOp = BinaryOp::kAdd;
  int operand = 0;  ///< Index into ChainProgram::operands.
  bool operandFirst = false;
  float alpha = 0.0f;  ///< LeakyRelu's and HardSigmoid's alpha, Clip's min.
  float beta = 0.0f;   ///< HardSigmoid's beta, Clip's max.
};

struct ChainProgram {
  int stepCount = 0;
  ChainStepCode steps[kMaxChainSteps];
  int operandCount = 0;
  ChainOperand operands[kMaxChainOperands];
  int rank = 0;  ///< The output's dims, for kStrided operands.
  int64_t dims[kMaxBroadcastRank] = {};
};

/// lowp.ElementwiseChain: y[i] = the steps applied to x[i] in fp32, every intermediate rounded to `type`
/// (so y equals the unfused ops'); x, y and the operands of one float type.
cudaError_t launchElementwiseChain(Elem type, const void* x, void* y, int64_t n, const ChainProgram& program,
                                   cudaStream_t stream);

// ---- layernorm.cu
// ------------------------------------------------------------------------------------------

/// Where row r of a tensor read through a permutation of its row dims starts: r splits over `sizes`
/// (outermost first) and the row starts sum(index * stride) elements in. dims 0: row r at r * size.
struct RowMap {
  static constexpr int kMaxDims = 4;
  int dims = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};
};

/// RMSNormalization's form of the LayerNormalization pass, and LayerNormalization's optional outputs.
struct RowNormalization {
  bool rms = false;            ///< No mean: rsd = 1 / sqrt(mean(x^2) + epsilon), y = x * rsd * scale[k].
  float* mean = nullptr;       ///< One fp32 per row: LayerNormalization's Mean output, or null.
  float* invStdDev = nullptr;  ///< One fp32 per row: its InvStdDev output (rsd), or null.
};

/// LayerNormalization of each contiguous row of `size` elements: y = (x - mean) * rsd * scale[k] + bias[k],
/// mean and rsd = 1 / sqrt(variance + epsilon) in fp32; scale and bias (nullable) hold `size` values of
/// x's type. With a residual (nullable, x's element count, its rows where `residualRows` puts them), x +
/// residual rounded to x's type is normalised instead.
cudaError_t launchLayerNormLastAxis(Elem type, const void* x, const void* scale, const void* bias, void* y,
                                    int64_t rows, int64_t size, float epsilon, cudaStream_t stream,
                                    const void* residual = nullptr, const RowMap& residualRows = {},
                                    const RowNormalization& normalization = {});

// ---- groupnorm.cu
// ------------------------------------------------------------------------------------------

/// GroupNormalization of x [images, channels, spatial] (InstanceNormalization: groups = channels):
/// statistics per (image, group) over its channels / groups * spatial contiguous elements in fp32 (the
/// mean, then the mean of squared deviations); y = scale[p] * ((x - mean) / sqrt(variance + epsilon)) +
/// bias[p], p the channel (perChannel) or the group; scale and bias of x's type.
cudaError_t launchGroupNorm(Elem type, const void* x, const void* scale, const void* bias, void* y,
                            int64_t images, int64_t channels, int64_t spatial, int64_t groups,
                            bool perChannel, float epsilon, cudaStream_t stream);

// ---- tensor.cu
// ---------------------------------------------------------------------------------------------

inline constexpr int kMaxCopyRank = 8;

/// A copy into a dense output of `rank` dims from an input read at element strides (any sign) plus a base
/// offset: Transpose (a permutation of the input's strides) and the like.
struct StridedCopyPlan {
  int rank = 0;
  int64_t dims[kMaxCopyRank] = {};
  int64_t inStrides[kMaxCopyRank] = {};
  int64_t base = 0;
};

/// y = x read through `plan`, elements of 1, 2, 4 or 8 bytes. Where the output's last dim is not the
/// input's contiguous one, 32 x 32 tiles go through shared memory so that reads and writes both coalesce.
cudaError_t launchStridedCopy(int elementBytes, const void* x, void* y, const StridedCopyPlan& plan,
                              cudaStream_t stream);

/// `rows` rows of `rowBytes` bytes from x (rows `xPitch` bytes apart) into y (rows `yPitch` bytes apart), in
/// the widest words (up to 16 bytes) that divide the row, both pitches and both addresses: Concat's inputs
/// into their places in the output.
cudaError_t launchCopyRows(const void* x, int64_t xPitch, void* y, int64_t yPitch, int64_t rows,
                           int64_t rowBytes, cudaStream_t stream);

/// Slice with starts, axes and steps read by the device from int32 or int64 tensors (`count` values
/// each; axes and steps nullable: 0, 1, ... and 1s), clamped as ONNX specifies; the output's dims are
/// known already.
struct SliceParams {
  int rank = 0;
  int64_t inDims[kMaxCopyRank] = {};
  int64_t outDims[kMaxCopyRank] = {};
  const void* starts = nullptr;
  const void* axes = nullptr;
  const void* steps = nullptr;
  int64_t count = 0;
  bool startsAre64 = true, axesAre64 = true, stepsAre64 = true;
};

cudaError_t launchSlice(int elementBytes, const void* x, void* y, const SliceParams& params,
                        cudaStream_t stream);

/// Gather: x viewed as [outer, axis, inner run of `innerBytes`], y as [outer, count, inner run]; y's run j
/// of each outer is x's run indices[j] (int64 or int32 in device memory, negative ones counted from the
/// end). An index outside [-axis, axis) gives a run of zero bytes: indices computed at run time reach no host
/// check. Moves words of up to 16 bytes.
cudaError_t launchGather(int64_t innerBytes, const void* x, void* y, int64_t outer, int64_t axis,
                         const void* indices, bool indicesAre64, int64_t count, cudaStream_t stream);

// ---- cast.cu
// -------------------------------------------------------------------------------------------------

/// Cast where the source or the target is an integer or bool (int8, uint8, int32, int64, bool; the others
/// fp32, fp16, bf16), by the reference kernel's rules: a float truncates toward zero into an integer and
/// saturates (NaN to 0); an integer rounds once into a float (through fp32 rounded to odd for fp16 and
/// bf16); anything into bool is v != 0; integers wrap into narrower integers.
cudaError_t launchIntegerCast(ValueType from, ValueType to, const void* x, void* y, int64_t n,
                              cudaStream_t stream);

// ---- logic.cu
// ------------------------------------------------------------------------------------------------

// Every launcher here reads its operands under the NumPy broadcast of `plan` (kernel_util.h,
// broadcastPlanOf) and writes plan.count() elements, with the reference kernels' rules
// (kernels/reference/elementwise_binary.cpp): fp16 and bf16 values compute in fp32 and round once;
// integers compute exactly and wrap like NumPy.

enum class CompareOp : int { kEqual, kLess, kLessOrEqual, kGreater, kGreaterOrEqual };

/// y = a op b as bool, a and b of `type` (bool for kEqual only); NaN compares false.
cudaError_t launchCompare(CompareOp op, ValueType type, const void* a, const void* b, bool* y,
                          const BroadcastPlan& plan, cudaStream_t stream);

enum class LogicOp : int { kAnd, kOr, kXor };

/// y = a op b over bool tensors.
cudaError_t launchLogic(LogicOp op, const bool* a, const bool* b, bool* y, const BroadcastPlan& plan,
                        cudaStream_t stream);

/// y[i] = !x[i] for i in [0, n).
cudaError_t launchNot(const bool* x, bool* y, int64_t n, cudaStream_t stream);

enum class FloatPredicate : int { kIsNaN, kIsInf, kIsPositiveInf, kIsNegativeInf };

/// y[i] = predicate(x[i]) as bool for i in [0, n), x of a float type.
cudaError_t launchFloatPredicate(FloatPredicate predicate, ValueType type, const void* x, bool* y, int64_t n,
                                 cudaStream_t stream);

/// Add, Sub, Mul, Div, Max and Min of integers (int8, uint8, int32, int64).
enum class IntegerOp : int { kAdd, kSub, kMul, kDiv, kMax, kMin };

/// y = a op b; Div truncates toward zero and lowest / -1 wraps to lowest. b must hold no zero for kDiv (the
/// caller checks: the device cannot report one).
cudaError_t launchIntegerArithmetic(IntegerOp op, ValueType type, const void* a, const void* b, void* y,
                                    const BroadcastPlan& plan, cudaStream_t stream);

/// Mod: the remainder of a / b with b's sign, or with a's (`fmod`, C's fmod); any type but bool. An integer
/// b must hold no zero (the caller checks).
cudaError_t launchMod(ValueType type, bool fmod, const void* a, const void* b, void* y,
                      const BroadcastPlan& plan, cudaStream_t stream);

/// Pow: y = a ^ b with y of a's type. A float base raises in fp32 to b converted to fp32; an int32 or int64
/// base takes an integer exponent, by squaring, wrapping (a negative exponent gives 0 unless |a| is 1).
cudaError_t launchPow(ValueType base, ValueType exponent, const void* a, const void* b, void* y,
                      const BroadcastPlan& plan, cudaStream_t stream);

/// Where: out = cond ? x : y, elements of 1, 2, 4 or 8 bytes copied as bit patterns; plan's operands are
/// cond, x and y.
cudaError_t launchWhere(int elementBytes, const bool* cond, const void* x, const void* y, void* out,
                        const BroadcastPlan& plan, cudaStream_t stream);

// ---- reduce.cu
// ----------------------------------------------------------------------------------------------

/// What a Reduce* op accumulates (in fp32) and how it finishes.
enum class ReduceOp : int { kSum, kMean, kMax, kMin, kSumSquare, kL1, kL2 };

/// Reduce* of x viewed as [outer, reduced, inner] (the reduced axes adjacent) into y [outer, inner], fp32,
/// fp16 or bf16 accumulated in fp32 and rounded once; Max and Min propagate NaN. An empty reduced extent
/// gives ONNX's identity (0, -inf, +inf; NaN for Mean).
cudaError_t launchReduce(ReduceOp op, Elem type, const void* x, void* y, int64_t outer, int64_t reduced,
                         int64_t inner, cudaStream_t stream);

/// x's dims merged into runs that are all kept or all reduced (adjacent dims of one kind merge): the sizes
/// and element strides in x of each kind, outermost first. The kept runs, in order, index y.
struct StridedReducePlan {
  static constexpr int kMaxRuns = 4;  ///< Of each kind: 8 dims alternate in at most 4 runs.
  int keptRuns = 0;
  int reducedRuns = 0;
  int64_t kept[kMaxRuns] = {};
  int64_t keptStrides[kMaxRuns] = {};
  int64_t reduced[kMaxRuns] = {};
  int64_t reducedStrides[kMaxRuns] = {};
};

/// CumSum (CumProd: `product`) of x viewed as [outer, n, inner] along n, x and y of `type` (a float type,
/// int32 or int64): each (outer, inner) column scanned in order by one thread, in fp32 for the float types
/// (rounded at each output, as the reference), integers wrapping; `exclusive` writes the running value
/// before each element, `reverse` scans from the end.
cudaError_t launchCumulative(bool product, ValueType type, const void* x, void* y, int64_t outer, int64_t n,
                             int64_t inner, bool exclusive, bool reverse, cudaStream_t stream);

/// Reduce* over axes that are not adjacent (a MeanVarianceNormalization's N, H and W): one block per output
/// element sums its reduced elements, gathered through the strides, and combines the threads' partial
/// results; otherwise as launchReduce.
cudaError_t launchReduceStrided(ReduceOp op, Elem type, const void* x, void* y, const StridedReducePlan& plan,
                                cudaStream_t stream);

// ---- resize.cu
// ----------------------------------------------------------------------------------------------

/// What every output element of a Resize reads (kernels/cuda/resize.cpp makes the tables with
/// ir::ops::resizeAxisTaps): along each axis d, output index o reads taps at input element offsets
/// offset[first[d] + o * taps[d] + j] (the input index times its stride) with weights weight[...] for j <
/// count[countFirst[d] + o], or, where that count is -1, nothing: the element is the fill value. An axis of
/// taps[d] == 0 is not resized (output index o reads input index o). Tables in device memory.
struct ResizeTables {
  int rank = 0;
  int64_t outDims[kMaxCopyRank] = {};
  int64_t inStrides[kMaxCopyRank] = {};
  int taps[kMaxCopyRank] = {};
  int64_t first[kMaxCopyRank] = {};
  int64_t countFirst[kMaxCopyRank] = {};
  const int32_t* count = nullptr;
  const int64_t* offset = nullptr;
  const float* weight = nullptr;
};

/// Nearest Resize: each output element is the one input element its taps name (elements of 1, 2, 4 or 8
/// bytes moved as they are), or `fill` (the bits of the extrapolation value in the element type).
cudaError_t launchResizeNearest(int elementBytes, const void* x, void* y, const ResizeTables& tables,
                                uint64_t fill, cudaStream_t stream);

/// Linear or cubic Resize of fp32, fp16 or bf16: each output element is the weighted sum over the product of
/// its axes' taps, in fp32, rounded once; `fill` where any axis is outside.
cudaError_t launchResizeInterpolate(Elem type, const void* x, void* y, const ResizeTables& tables, float fill,
                                    cudaStream_t stream);

// ---- attention.cu
// -------------------------------------------------------------------------------------------

/// Where an attention operand's elements are, in elements from its pointer: (leading index..., row, col) at
/// sum of index * lead + row * this->row + col * this->col. Dense row-major [..., rows, cols] by default.
struct AttentionStrides {
  int64_t lead[kMaxBroadcastRank] = {};
  int64_t row = 0;
  int64_t col = 1;
};

/// lowp.Attention over `heads` (the product of the leading dims) of Q [sq, d], Kt [d, sk], V [sk, dv] and
/// Y [sq, dv] each, read and written through their strides (attention_layout.h: views of the inputs, Y
/// permuted). The mask (null for none) holds the score (h, i, j) at mask[sum over the leading dims of index
/// * maskLeadStride + i * maskRowStride + j * maskColStride], with stride 0 where it broadcasts.
struct AttentionShape {
  int64_t heads = 0, sq = 0, d = 0, sk = 0, dv = 0;
  float scale = 1.0f;
  /// Scores capped to softcap * tanh(s / softcap) before the mask when positive (lowp.Attention's softcap).
  float softcap = 0.0f;
  /// Row i sees keys j <= i + sk - sq only (lowp.Attention's causal).
  bool causal = false;
  /// A row whose every score is -inf gives zeros (zero_masked_rows), not NaN.
  bool zeroMaskedRows = false;
  const void* mask = nullptr;
  int leadRank = 0;
  int64_t lead[kMaxBroadcastRank] = {};
  int64_t maskLeadStride[kMaxBroadcastRank] = {};
  int64_t maskRowStride = 0;
  int64_t maskColStride = 0;
  AttentionStrides q, kt, v, y;
  /// The tensor-core kernel moves 16 bytes at a time where an operand's rows are contiguous and 16-byte
  /// aligned (Kt: K's rows, when D is contiguous); the caller checks (attentionVectorRows).
  bool vectorQ = false, vectorKt = false, vectorV = false, vectorY = false;
  /// The mask's rows are contiguous along the keys and 16-byte aligned (the one-pass kernel copies them 16
  /// bytes at a time).
  bool vectorMask = false;
};

/// The largest Sk and the head sizes (D and Dv) the tensor-core kernel takes.
inline constexpr int64_t kAttentionTensorCoreMaxSk = 512;
inline bool attentionTensorCoreHeadSize(int64_t n) {
  return n == 32 || n == 64 || n == 128;
}
/// The CUDA-core kernel keeps a query row (d) and its output row (dv) in shared memory: d + dv at most this.
inline constexpr int64_t kAttentionSimtMaxWidth = 2048;

/// fp16 / bf16 attention on tensor cores (wmma 16x16x16, fp32 accumulation): one block of four warps per 64
/// query rows of one head; the scores of its rows stay in shared memory in fp32, the softmax runs in fp32, P
/// is rounded to the tensor type for P . V. D and Dv in {32, 64, 128}, Sk <= kAttentionTensorCoreMaxSk.
cudaError_t launchAttentionTensorCore(Elem type, const void* q, const void* kt, const void* v, void* y,
                                      const AttentionShape& shape, cudaStream_t stream);

/// The head sizes (D = Dv) the one-pass tensor-core kernel takes.
inline bool attentionFlashHeadSize(int64_t n) {
  return n == 32 || n == 64 || n == 128;
}

/// Device memory a launcher may use during its run (CudaContext's workspace), and the GPU's SM count, which
/// decides how finely it splits work that would leave SMs idle.
struct AttentionScratch {
  void* data = nullptr;
  size_t bytes = 0;
  int multiprocessors = 0;
};

/// fp16 / bf16 attention on tensor cores in one pass over the keys (attention_flash.cu): mma.sync with fp32
/// accumulation, the scores in registers, a running softmax per row; one block of four warps per 64 query
/// rows of one head, the keys split between several blocks (merged through `scratch`) when those blocks
/// would leave SMs idle. D = Dv in {32, 64, 128}, any Sq and Sk.
cudaError_t launchAttentionFlash(Elem type, const void* q, const void* kt, const void* v, void* y,
                                 const AttentionShape& shape, const AttentionScratch& scratch,
                                 cudaStream_t stream);

/// fp32, fp16 or bf16 attention on CUDA cores in fp32: one warp per query row, one pass over the keys with a
/// running maximum (the output rescaled when it grows); d + dv <= kAttentionSimtMaxWidth.
cudaError_t launchAttentionSimt(Elem type, const void* q, const void* kt, const void* v, void* y,
                                const AttentionShape& shape, cudaStream_t stream);

// ---- pad.cu
// ------------------------------------------------------------------------------------------------

/// Where Pad reads outside the input: the constant; the mirror image about the edge element, which is not
/// repeated (reflect); the edge element (edge); the axis repeated (wrap).
enum class PadMode : int { kConstant = 0, kReflect = 1, kEdge = 2, kWrap = 3 };

/// Pad of x [inDims] into y [outDims] (rank <= kMaxCopyRank; 0 is a scalar): along axis d, output coordinate
/// o reads input coordinate o - before[d] (a negative `before` crops), or by `mode` where that is outside the
/// axis, as kernels/reference/tensor.cpp's padSource does (reflect and wrap fold any distance back into the
/// axis). Axes of size 0 only in kConstant mode.
struct PadParams {
  int rank = 0;
  PadMode mode = PadMode::kConstant;
  int64_t inDims[kMaxCopyRank] = {};
  int64_t outDims[kMaxCopyRank] = {};
  int64_t before[kMaxCopyRank] = {};
  /// The constant: one element of x's type in device memory (constant_value, read by the kernel), or null
  /// for `fill`, the element's bits in its low bytes.
  const void* value = nullptr;
  uint64_t fill = 0;
};

/// y = Pad(x) for elements of 1, 2, 4 or 8 bytes, moved as they are.
cudaError_t launchPad(int elementBytes, const void* x, void* y, const PadParams& params, cudaStream_t stream);

// ---- index.cu
// ----------------------------------------------------------------------------------------------

/// ArgMax (max) or ArgMin of x viewed as [outer, n, inner] along n (n >= 1) into y [outer, inner]: the index
/// of the first extremum, or of the last with selectLast. x is fp32, fp16, bf16 (compared in fp32, which
/// holds them exactly), int32 or int64 (compared as they are). NaN beats every number, for ArgMin too, and
/// ties with NaN only: the rule of the reference kernel (kernels/reference/reduction.cpp), so y is identical.
cudaError_t launchArgExtremum(bool max, ValueType type, const void* x, int64_t* y, int64_t outer, int64_t n,
                              int64_t inner, bool selectLast, cudaStream_t stream);

/// GatherElements along `axis`: output element i, at coordinates c in `dims` (the indices' dims, each at most
/// data's), reads data at c with c[axis] replaced by indices[i] (negative: counted from the end).
struct GatherElementsPlan {
  int rank = 0;
  int axis = 0;
  int64_t dims[kMaxCopyRank] = {};
  int64_t dataStrides[kMaxCopyRank] = {};  ///< data's element strides, dense row-major
  int64_t axisSize = 0;                    ///< data's size along the axis
};

/// TopK of x viewed as [outer, n, inner] along n (k <= n): values [outer, k, inner] (x's elements) and their
/// int64 indices, sorted: larger values first (smaller, when not `largest`), NaN ranking above every number
/// (below, for the smallest), equal values by lower index. The reference kernel's order: both outputs are
/// identical to it. x fp32, fp16, bf16, int32 or int64.
cudaError_t launchTopK(ValueType type, const void* x, void* values, int64_t* indices, int64_t outer,
                       int64_t n, int64_t inner, int64_t k, bool largest, cudaStream_t stream);

/// y = GatherElements(x, indices) for elements of 1, 2, 4 or 8 bytes, indices int64 or int32 in device
/// memory. An index outside [-axisSize, axisSize) gives an element of zero bytes: the indices may be
/// computed at run time, where no host check can see them.
cudaError_t launchGatherElements(int elementBytes, const void* x, const void* indices, bool indicesAre64,
                                 void* y, const GatherElementsPlan& plan, cudaStream_t stream);

/// How ScatterND and ScatterElements combine an update with the element it lands on: kNone replaces it;
/// the others compute in the element's ComputeOf type (fp32 for fp16 and bf16; integers wrap) and round to
/// the element's type after each update. Duplicate targets take their updates in the order of the indices,
/// as the reference kernel does (the last one wins for kNone), so the result is identical to it.
enum class ScatterReduction : int { kNone = 0, kAdd = 1, kMul = 2, kMax = 3, kMin = 4 };

/// Bytes of device scratch (256-byte aligned) the scatter launchers need for `rows` update rows: the rows'
/// targets and their sorted order.
size_t scatterScratchBytes(int64_t rows);

/// y = ScatterElements(data, indices, updates), data of `dataCount` elements: y starts as a copy of data
/// (none where y is data itself), then update i, at coordinates c in the indices' dims, lands on data's
/// element at c with c[axis] replaced by indices[i] (`plan`, as GatherElements reads). Elements of
/// `elementBytes` (1, 2, 4 or 8) move as words for kNone; the reductions take `type` (any ValueType but
/// bool). Indices int64 or int32 in device memory; one outside [-axisSize, axisSize) drops its update
/// (indices computed at run time reach no host check).
cudaError_t launchScatterElements(ScatterReduction reduction, ValueType type, int elementBytes,
                                  const void* data, int64_t dataCount, const void* indices, bool indicesAre64,
                                  const void* updates, void* y, const GatherElementsPlan& plan, void* scratch,
                                  size_t scratchBytes, cudaStream_t stream);

/// y = ScatterND(data, indices, updates): data of `rank` dims `dataDims`, indices [rows, last] (int64 in
/// device memory), updates [rows, slice] with slice the product of dataDims[last:]; elements and reduction
/// as launchScatterElements. A row with an index outside its dim drops its update. last <= kMaxCopyRank.
cudaError_t launchScatterND(ScatterReduction reduction, ValueType type, int elementBytes, const void* data,
                            const int64_t* indices, const void* updates, void* y, int rank,
                            const int64_t* dataDims, int64_t rows, int last, void* scratch,
                            size_t scratchBytes, cudaStream_t stream);

/// y = GatherND(data, indices) with `batchDims` leading batch dims: data of `rank` dims `dataDims`, indices
/// [rows, last] (int64 in device memory; rows spread evenly over the batches), y [rows, slice] with slice
/// the product of dataDims[batchDims + last:]. A row with an index outside its dim gives zero bytes.
/// last <= kMaxCopyRank; elements of 1, 2, 4 or 8 bytes.
cudaError_t launchGatherND(int elementBytes, const void* data, const int64_t* indices, void* y, int rank,
                           const int64_t* dataDims, int batchDims, int64_t rows, int last,
                           cudaStream_t stream);

/// y = OneHot(indices, depth, values) as [outer, depth, inner] over indices [outer, inner] (int64 or int32
/// in device memory): values[1] ("on") where an index, negative ones plus depth, equals the position along
/// depth, values[0] ("off") elsewhere (an index outside [-depth, depth) gives a row of "off"). values in
/// device memory, elements of 1, 2, 4 or 8 bytes.
cudaError_t launchOneHot(int elementBytes, const void* indices, bool indicesAre64, const void* values,
                         void* y, int64_t outer, int64_t depth, int64_t inner, cudaStream_t stream);

/// Trilu over `matrices` matrices of rows x cols elements of 1, 2, 4 or 8 bytes: y keeps x's element (r, c)
/// where c >= r + k (upper) or c <= r + k (lower) and holds zero bytes elsewhere. k is the int64 at kDevice
/// (device memory, read by the kernel: a k computed at run time) when that is not null, else `k`.
cudaError_t launchTrilu(int elementBytes, const void* x, void* y, int64_t matrices, int64_t rows,
                        int64_t cols, bool upper, int64_t k, const int64_t* kDevice, cudaStream_t stream);

}  // namespace lowp::kernels::cuda
