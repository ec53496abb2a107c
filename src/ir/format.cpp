#include "ir/format.h"

namespace lowp::ir {

std::string_view formatName(TensorFormat format) {
  switch (format) {
    case TensorFormat::kLinear:
      return "linear";
    case TensorFormat::kChw16:
      return "chw16";
    case TensorFormat::kHwc:
      return "hwc";
  }
  return "?";
}

int64_t channelBlock(TensorFormat format) {
  return format == TensorFormat::kChw16 ? 16 : 1;
}

int64_t storageBytes(DataType type, const std::vector<int64_t>& sizes, TensorFormat format) {
  int64_t bytes = dataTypeInfo(type).storageBytes;
  const int64_t block = channelBlock(format);
  for (size_t i = 0; i < sizes.size(); ++i) {
    int64_t d = sizes[i];
    if (d < 0) return -1;
    if (i == 1 && block > 1) d = (d + block - 1) / block * block;
    if (__builtin_mul_overflow(bytes, d, &bytes)) return -1;
  }
  return bytes;
}

}  // namespace lowp::ir
