// Memory layouts of tensors.
//
// kLinear is ONNX's dense row-major layout. kChw16 blocks the channel axis (axis 1) by 16 (oneDNN's
// nChw16c, TensorRT's CHW16): the tensor is stored as [N, ceil(C/16), spatial..., 16], the channels past C
// padded with zeros, which every kernel writing the format keeps at zero. kHwc puts the channel axis last
// (oneDNN's nwc / nhwc / ndhwc, TensorRT's HWC): the tensor is stored densely as [N, spatial..., C], no
// padding, so it takes the bytes of kLinear. Only tensors of rank 3 to 5 take kChw16 or kHwc; the shape of
// a value stays the logical [N, C, spatial...] in every format.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "ir/data_type.h"
#include "lowp/tensor.h"

namespace lowp::ir {

/// Stored in engine files by number: new values only at the end.
enum class TensorFormat { kLinear = 0, kChw16 = 1, kHwc = 2 };

/// "linear", "chw16", "hwc": the spelling of reports and options (trtexec's --inputIOFormats uses "chw16").
std::string_view formatName(TensorFormat format);

/// Channels in one block of the format (1 for kLinear).
int64_t channelBlock(TensorFormat format);

/// Bytes a tensor of `sizes` takes in `format`, padding included; -1 when the size overflows or a
/// dimension is negative.
int64_t storageBytes(DataType type, const std::vector<int64_t>& sizes, TensorFormat format);

/// Copies `from` (rank 3 to 5, [N, C, spatial...] logically) into `to` of the same type and shape, moving
/// element [n, c, s] of the plain layout to [n, s, c] of kHwc (`toHwc`) or back. Any type: bytes are moved.
void reorderChannelsLast(const Tensor& from, Tensor& to, bool toHwc);

/// Copies `from` (rank 3 to 5, [N, C, spatial...] logically) into `to` of the same type and shape, moving
/// element [n, c, s] of the plain layout to [n, c / 16, s, c % 16] of kChw16 (`toBlocked`; the channels past
/// C written as zeros) or back. The kChw16 side's memory must hold storageBytes(..., kChw16) bytes.
void reorderChannelBlocks(const Tensor& from, Tensor& to, bool toBlocked);

}  // namespace lowp::ir
