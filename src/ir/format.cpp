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

void reorderChannelBlocks(const Tensor& from, Tensor& to, bool toBlocked) {
  const std::vector<int64_t>& shape = from.shape();
  const int64_t n = shape[0];
  const int64_t c = shape[1];
  const int64_t s = n * c == 0 ? 0 : from.elementCount() / (n * c);
  const int64_t block = channelBlock(TensorFormat::kChw16);
  const int64_t blocks = (c + block - 1) / block;
  const auto e = static_cast<size_t>(dataTypeInfo(from.type()).storageBytes);
  const auto* src = static_cast<const std::byte*>(from.data());
  auto* dst = static_cast<std::byte*>(to.data());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t b = 0; b < blocks; ++b) {
      for (int64_t p = 0; p < s; ++p) {
        for (int64_t k = 0; k < block; ++k) {
          const int64_t ch = b * block + k;
          const auto blocked = static_cast<size_t>(((i * blocks + b) * s + p) * block + k);
          if (ch >= c) {
            if (toBlocked) std::memset(dst + blocked * e, 0, e);
            continue;
          }
          const auto plain = static_cast<size_t>((i * c + ch) * s + p);
          std::memcpy(dst + (toBlocked ? blocked : plain) * e, src + (toBlocked ? plain : blocked) * e, e);
        }
      }
    }
  }
}

}  // namespace lowp::ir
