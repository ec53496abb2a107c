#include "ir/format.h"

#include <cstring>

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

void reorderChannelsLast(const Tensor& from, Tensor& to, bool toHwc) {
  const std::vector<int64_t>& shape = from.shape();
  const int64_t n = shape[0];
  const int64_t c = shape[1];
  const int64_t s = n * c == 0 ? 0 : from.elementCount() / (n * c);
  const auto e = static_cast<size_t>(dataTypeInfo(from.type()).storageBytes);
  const std::byte* src = from.bytes().data();
  std::byte* dst = to.bytes().data();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t p = 0; p < s; ++p) {
        const auto plain = static_cast<size_t>((i * c + ch) * s + p);
        const auto hwc = static_cast<size_t>((i * s + p) * c + ch);
        std::memcpy(dst + (toHwc ? hwc : plain) * e, src + (toHwc ? plain : hwc) * e, e);
      }
    }
  }
}

}  // namespace lowp::ir
