// The activation memory plan: every buffer gets an offset in one arena, and buffers whose lifetimes do not
// overlap share memory.
#pragma once

#include <cstdint>
#include <vector>

namespace lowp::runtime {

/// One buffer: its size and the first and last execution steps that use it (inclusive).
struct BufferLifetime {
  int64_t bytes = 0;
  int64_t firstStep = 0;
  int64_t lastStep = 0;
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  ///< Per buffer, its byte offset in the arena (64-byte aligned).
  int64_t arenaBytes = 0;        ///< Arena size.
  int64_t unplannedBytes = 0;    ///< Sum of all buffer sizes: what the arena would need without reuse.
};

/// Greedy by size: the largest buffers are placed first, each at the lowest offset that does not overlap a
/// placed buffer alive at the same time. No two buffers alive at one step overlap in memory.
MemoryPlan planMemory(const std::vector<BufferLifetime>& buffers);

}  // namespace lowp::runtime
