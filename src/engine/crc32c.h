// CRC-32C (Castagnoli, reflected polynomial 0x82f63b78, initial value and final xor 0xffffffff), the
// checksum of engine files. crc32c("123456789") == 0xe3069283.
#pragma once

#include <cstdint>
#include <span>

namespace lowp::engine {

/// The CRC-32C of `bytes`, continuing from `crc` (the CRC of the bytes before them; 0 to start):
/// crc32c(b, crc32c(a)) == crc32c(a followed by b). Uses the SSE4.2 crc32 instruction where the CPU has it.
uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t crc = 0);

/// The same, one table lookup per byte: the reference the SSE4.2 path is tested against.
uint32_t crc32cReference(std::span<const uint8_t> bytes, uint32_t crc = 0);

}  // namespace lowp::engine
