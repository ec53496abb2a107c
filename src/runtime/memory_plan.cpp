#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace lowp::runtime {

MemoryPlan planMemory(const std::vector<BufferLifetime>& buffers) {
  constexpr int64_t kAlign = 64;
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  struct Placed {
    int64_t offset, end, first, last;
  };
  std::vector<Placed> placed;
  for (size_t idx : order) {
    const BufferLifetime& buf = buffers[idx];
    int64_t size = (std::max<int64_t>(buf.bytes, 1) + kAlign - 1) / kAlign * kAlign;
    plan.unplannedBytes += buf.bytes;
    // Buffers alive at the same time, sorted by offset: take the first gap that fits.
    std::vector<const Placed*> live;
    for (const Placed& p : placed) {
      if (p.first <= buf.lastStep && buf.firstStep <= p.last) live.push_back(&p);
    }
    std::sort(live.begin(), live.end(),
              [](const Placed* a, const Placed* b) { return a->offset < b->offset; });
    int64_t offset = 0;
    for (const Placed* p : live) {
      if (p->offset - offset >= size) break;
      offset = std::max(offset, p->end);
    }
    placed.push_back({offset, offset + size, buf.firstStep, buf.lastStep});
    plan.offsets[idx] = offset;
    plan.arenaBytes = std::max(plan.arenaBytes, offset + size);
  }
  return plan;
}

}  // namespace lowp::runtime
