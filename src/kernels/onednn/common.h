// Shared pieces of the oneDNN kernels: the one CPU engine, a stream per thread, running a primitive on the
// pool's threads, scratch buffers, data types, post-ops, the registration of each family, and the
// conversion of oneDNN's exceptions into a Status that names the node.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <vector>

#include "ir/ops/fused.h"
#include "ir/ops/window.h"
#include "kernels/kernel.h"

namespace lowp::kernels::onednn {

/// The process-wide oneDNN CPU engine (engines are thread-safe).
dnnl::engine& cpuEngine();

/// A oneDNN stream of cpuEngine() for the calling thread (streams are not shared between threads).
dnnl::stream& threadStream();

/// Makes oneDNN run on the calling thread alone (an OpenMP team of one). The kernels split their work over
/// lowp's own thread pool instead (parallelOneDnn). Debian's oneDNN runs on OpenMP, whose idle workers
/// spin-wait (libgomp reads its wait policy once, at load time, from OMP_WAIT_POLICY); on cores that other
/// work also wants, a spinning worker takes the time its team-mate needs. Measured on 2 shared AVX-512 cores
/// (1-minute load 9-12 from other processes), ResNet-50 at batch 1 with 2 threads, median of 10 runs, oneDNN
/// primitives on an OpenMP team of 2 that was also lowp's pool: 500-3600 ms with libgomp's default spinning,
/// 360 ms with GOMP_SPINCOUNT=10000, 78-122 ms with 1000, 48-53 ms with OMP_WAIT_POLICY=passive; one
/// primitive per image on the calling thread (no parallelism at batch 1): 60 ms; single-threaded primitives
/// over pieces of the work spread over the pool (which waits on condition variables and never spins; the
/// design kept): 44-46 ms at that load, 31 ms at load 3, with no environment variable to set. Cheap after
/// the first call on a thread.
void runOnCallingThreadOnly();

/// Runs fn(begin, end) over [0, n) on lowp's pool in chunks of at least `grain`, each chunk with
/// runOnCallingThreadOnly(); a oneDNN error thrown in any chunk comes back as the kernel's Status instead of
/// escaping a worker thread.
Status parallelOneDnn(const KernelContext& ctx, int64_t n, int64_t grain,
                      const std::function<void(int64_t, int64_t)>& fn);

/// A buffer of the calling thread for `desc` (index `slot`: several may be live at once), grown as needed
/// and reused by every kernel that runs on the thread; its memory object is threadMemory's, valid until the
/// thread asks for the slot again.
const dnnl::memory& threadBuffer(int slot, const dnnl::memory::desc& desc);

/// A memory object of `desc` over `data`, the calling thread's for index `slot` (several may be live at
/// once): oneDNN allocates every memory object it creates, which took half the run of a small convolution, so
/// each thread keeps one per slot (0 to 63) and only moves its data handle while the descriptor stays the
/// same. Valid until the thread asks for the slot again.
const dnnl::memory& threadMemory(int slot, const dnnl::memory::desc& desc, void* data);

/// One argument of a primitive; a null `memory` leaves it out (an absent bias).
struct ExecArg {
  int arg;
  const dnnl::memory* memory;
};

/// Runs `primitive` on `stream` with `args` through oneDNN's C interface, without the hash map of arguments
/// (an allocation per argument) that dnnl::primitive::execute takes.
void executePrimitive(const dnnl::primitive& primitive, dnnl::stream& stream,
                      std::initializer_list<ExecArg> args);

/// Weights in the layout a primitive chose (a blocked one). Weights that are a constant of the graph are
/// reordered into `packed` once, by the first piece that runs (pieces of the same size share it); other
/// weights into a buffer of the calling thread (slot 3) on every run.
/// A reorder that several threads may run at once. oneDNN's own scratchpad for a primitive is shared by
/// every thread that runs it (a reorder of int8 weights computes its compensation there), so this one
/// takes the calling thread's (threadBuffer).
class Reorder {
 public:
  Reorder() = default;
  Reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to);
  void execute(dnnl::stream& stream, const dnnl::memory& from, const dnnl::memory& to) const;

 private:
  dnnl::reorder primitive_;
  dnnl::memory::desc scratchpad_;
};

struct PackedWeights {
  bool needed = false;  ///< The primitive's layout differs from the graph's.
  Reorder reorder;      ///< The graph's layout -> the primitive's.
  dnnl::memory packed;
  std::mutex mutex;
  bool ready = false;  ///< `packed` holds the constant weights already.

  dnnl::memory::desc user;  ///< The graph's layout.

  /// Prepares the reorder from `user` to `chosen` (nothing when they are equal).
  void plan(const dnnl::memory::desc& userLayout, const dnnl::memory::desc& chosen);
  /// What the primitive reads for the graph's weights at `data` (`constant`: a constant of the graph).
  const dnnl::memory& get(void* data, bool constant);
};

/// One piece of a convolution or deconvolution (the images, output channels, groups or rows one thread
/// runs): its operands as the graph lays them out, the layouts its primitive takes, and the reorders
/// between the two.
struct ConvolutionPiece {
  dnnl::memory::desc userSrc;  ///< The piece of x as the graph lays it out.
  dnnl::memory::desc userDst;  ///< The piece of y (and of a residual added to it).
  dnnl::memory::desc userWeights;
  dnnl::memory::desc bias;
  dnnl::primitive primitive;
  dnnl::memory::desc src;  ///< The layouts the primitive reads and writes.
  dnnl::memory::desc dst;
  dnnl::memory::desc scratchpad;
  bool reorderSrc = false;
  bool reorderDst = false;
  Reorder srcIn;          ///< userSrc -> src.
  Reorder dstIn;          ///< userDst -> dst: a residual into the primitive's layout.
  Reorder dstOut;         ///< dst -> userDst.
  PackedWeights weights;  ///< The weights in the primitive's layout.

  /// Takes `made` (the primitive of `pd`) and the layouts `pd` chose, and plans the reorders from and to the
  /// graph's: srcIn unless the pieces read a source reordered once for all of them (`sharedSrc`), dstIn for
  /// a `residual`.
  void adopt(dnnl::primitive made, const dnnl::primitive_desc_base& pd, bool sharedSrc, bool residual);
};

/// Where one piece reads and writes: x (or the source shared by every piece, already in the primitive's
/// layout), w, bias, a residual z (null: none) and y, at the piece's offsets.
struct PieceData {
  void* src = nullptr;
  bool srcReordered = false;  ///< `src` is the shared source, in the primitive's layout.
  void* weights = nullptr;
  void* bias = nullptr;
  void* z = nullptr;
  void* y = nullptr;
};

/// Runs one piece on the calling thread (single-threaded oneDNN): reorders x in, the residual into y,
/// runs the primitive (its residual as a sum post-op), reorders y out.
void runPiece(const KernelContext& ctx, ConvolutionPiece& piece, const PieceData& data);

/// A tensor's sizes as oneDNN dims.
dnnl::memory::dims toDims(const std::vector<int64_t>& sizes);

/// oneDNN's data type for fp32, bf16 and fp16 tensors.
dnnl::memory::data_type toDnnlType(DataType type);

/// oneDNN's data type for the tensors of the quantized kernels: int8, uint8, int32, fp32, bf16.
dnnl::memory::data_type toDnnlQuantizedType(DataType type);

/// Whether oneDNN's int8 primitives run on AVX-512 VNNI (vpdpbusd), the only ISA on which they accumulate
/// u8 x s8 products exactly. Below it (AVX2, AVX-512 without VNNI) oneDNN 2.6 adds pairs of products in int16
/// with vpmaddubsw, which saturates: measured under AVX2, a 3x3 convolution of 512 channels of 255 with
/// weights of 127 gave 4.19e6 where the exact sum is 8.29e6. oneDNN's ISA may sit below the CPU's (the
/// environment variable ONEDNN_MAX_CPU_ISA, dnnl::set_max_cpu_isa), so the int8 kernels ask oneDNN itself.
bool oneDnnInt8IsExact();

/// Runs the reference kernel of the node of `ctx`: the fallback of a oneDNN kernel for what it finds only at
/// run time that oneDNN cannot do (an empty input, a combination oneDNN has no implementation for).
Status runReferenceKernel(KernelContext& ctx);

/// runReferenceKernel for a kernel that reads or writes channels-last (kHwc) tensors: the inputs whose
/// `inputHwc` entry is true (slots past its end: false) are reordered into plain copies, the reference kernel
/// runs on those, and the outputs whose `outputHwc` entry is true are reordered back from plain copies.
Status runReferenceKernelFromHwc(KernelContext& ctx, const std::vector<bool>& inputHwc,
                                 const std::vector<bool>& outputHwc);

/// oneDNN's tag of ONNX's plain layout (ncw, nchw, ncdhw) and of channels-last (nwc, nhwc, ndhwc) for a
/// tensor of rank 3 to 5.
dnnl::memory::format_tag plainLayoutTag(size_t rank);
dnnl::memory::format_tag channelsLastLayoutTag(size_t rank);
/// The input rows [begin, end) that output rows [o0, o1) of a 2-D window read (along its first spatial
/// axis), and the padding such a band keeps at its top and bottom: a convolution of one channels-last image
/// split into bands of output rows runs each band as a convolution of its own.
struct RowBand {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t padTop = 0;
  int64_t padBottom = 0;
};
RowBand inputRowsOf(const ir::ops::Window& window, int64_t inputRows, int64_t o0, int64_t o1);

/// One piece of a convolution cut for lowp's pool (conv.cpp, quantized_conv.cpp): `images` images and
/// output channels [first, last) (a depthwise piece with `sliceInput` reads only input channels [first,
/// last)), or, `byRows`, one image and output rows [first, last) of every channel, which read a band of
/// input rows and keep the padding of its edges. oneDNN's dims and window for it.
struct ConvPiece {
  int64_t oc0 = 0;  ///< The piece's output channels [oc0, oc1).
  int64_t oc1 = 0;
  int64_t groups = 1;
  dnnl::memory::dims src;
  dnnl::memory::dims dst;
  dnnl::memory::dims weights;  ///< [O, I, k...], or [G, O / G, I, k...] when grouped.
  dnnl::memory::dims dilations;
  dnnl::memory::dims padsBegin;
  dnnl::memory::dims padsEnd;
};
ConvPiece convPiece(const ir::ops::Window& window, const std::vector<int64_t>& x,
                    const std::vector<int64_t>& w, int64_t group, bool sliceInput, bool byRows,
                    int64_t images, int64_t first, int64_t last);

/// The channel block of lowp's kChw16 and oneDNN's nChw16c, and the unit of the convolutions' channel split.
constexpr int64_t kChannelBlock = 16;
/// oneDNN's tag of lowp's kChw16 (channels in blocks of 16: nCw16c, nChw16c, nCdhw16c) for rank 3 to 5.
dnnl::memory::format_tag channelBlockedLayoutTag(size_t rank);

/// The descriptor of channels [c0, c0 + dims[1]) of a channels-last tensor of `channels` channels: the
/// dims of the slice with the strides of the whole tensor.
dnnl::memory::desc channelsLastSlice(const dnnl::memory::dims& dims, dnnl::memory::data_type type,
                                     int64_t channels);

/// True when the rank of `shape` is known and none of its known dimensions is 0 (oneDNN plans no empty
/// tensors; unknown dimensions are resolved at run time, where the kernels handle empty ones themselves).
bool rankKnownNoZeroDim(const ir::Shape& shape);

/// A 1- to 3-D convolution or transposed convolution oneDNN can plan: x and w of one rank known, 3 to 5, no
/// known dimension 0 (nor in a bias given as input 2), and a group count of at least 1. Every dimension may
/// still be resolved at run time.
bool convolutionRanksSupported(const ir::Node& node, const std::vector<ir::Shape>& shapes);

/// oneDNN's eltwise post-op for a fused activation; false when oneDNN has none that matches it (Clip with
/// min > max, whose ONNX result is max everywhere).
bool appendActivation(dnnl::post_ops& ops, const ir::ops::ActivationSpec& spec);

/// Whether a fused node's activation attributes are valid and oneDNN can apply them.
bool activationSupported(const ir::Node& node);

/// The status a kernel returns when oneDNN threw `e` while running the node of `ctx`: kUnsupported where
/// oneDNN has no implementation for the operands, kInternal otherwise.
Status oneDnnError(const KernelContext& ctx, const dnnl::error& e);

void registerConvKernels(KernelRegistry& registry);
void registerDeconvKernels(KernelRegistry& registry);
void registerMatMulKernels(KernelRegistry& registry);
void registerPoolKernels(KernelRegistry& registry);
void registerQuantizedConvKernels(KernelRegistry& registry);
void registerQuantizedMatMulKernels(KernelRegistry& registry);

}  // namespace lowp::kernels::onednn
