// lowp.Attention's attributes for grouped key/value heads as lower_attention and fuse_attention_layout make
// them, for the kernel tests of the CPU (test_attention.cpp) and the GPU (tests/gpu/test_attention.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/attribute.h"
#include "ir/ops/attention.h"
#include "ir/ops/attention_layout.h"

namespace lowp::testing {

/// Scale `scale`; Q given as [B, Hkv, G, Sq, D]; K and V given as [B, Hkv, Sk, D] and read as
/// [B, Hkv, G, ...] through Unsqueeze(2) and Expand (the target [1, 1, G, 1, 1] at input `expandInput`),
/// K transposed to Kt too.
inline ir::AttributeMap groupedHeadAttributes(float scale, int64_t expandInput) {
  using ir::ops::ViewStepKind;
  std::vector<int64_t> vProgram;
  ir::ops::appendViewStep(vProgram, ViewStepKind::kUnsqueeze, {2});
  ir::ops::appendViewStep(vProgram, ViewStepKind::kExpand, {expandInput});
  std::vector<int64_t> ktProgram = vProgram;
  ir::ops::appendViewStep(ktProgram, ViewStepKind::kTranspose, {0, 1, 2, 4, 3});
  ir::AttributeMap a;
  a.set("scale", scale);
  a.set(std::string(ir::ops::kAttentionKtView), ktProgram);
  a.set(std::string(ir::ops::kAttentionVView), vProgram);
  return a;
}

}  // namespace lowp::testing
