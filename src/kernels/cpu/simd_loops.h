// The vectorised loops of simd_kernels.h, written once over a vector type V and compiled per ISA.
// Included only by kernels_<isa>.cpp, each of which defines its V in an anonymous namespace first, so every
// instantiation here is local to that file (nothing compiled for AVX-512 is shared with other code).
//
// V provides (F: a vector of V::kWidth floats, M: a lane mask, D: a vector of kWidth / 2 doubles):
//   set1, add, sub, mul, div, min, max (x86 semantics: the second operand when either is NaN), fmadd(a, b, c)
//   = a * b + c, fnmadd(a, b, c) = c - a * b, sqrt, roundNearest, floor, pow2 (2^n for integral n in
//   [-126, 127]), bitAnd, bitOr, bitXor, andNot(a, b) = ~a & b; lt, le, gt, ge (ordered), unordered,
//   select(m, a, b) = m ? a : b, firstLanes(n); lane0, hmax;
//   loadF32/storeF32, loadBf16/storeBf16/roundBf16, loadF16/loadF16Exact/storeF16/roundF16;
//   widenLo/widenHi (F -> D), dzero, dset1, dadd, dsub, dfmadd, dhsum.
//
// Accuracy of the approximations in fp32, measured against libm (which the reference kernels call) on 8.4M
// values striding through every fp32 bit pattern (denormals, +-Inf, NaN included) and on the reference
// kernels' outputs (tests/unit/test_cpu_kernels.cpp):
//   exp      1 ulp (Cody-Waite reduction, degree-7 polynomial, 2^n applied in two normal factors so that a
//            denormal result rounds once)
//   sigmoid  2 ulp; tanh 2 ulp (odd polynomial below 0.55, 1 - 2 / (exp(2|x|) + 1) above)
//   erf      2 ulp (x P(x^2) below 1, near-minimax fit with relative error 1.5e-9; above, 1 - erfc with
//            the Numerical Recipes fit erfc(a) = t exp(-a^2 + P(t)), relative error 1.1e-7)
//   gelu     erf form: relative error 7.3e-7 against a double-precision truth for |x| <= 12, because where
//            1 + erf(x / sqrt 2) cancels it uses erfc directly (the reference's formula loses all digits
//            there); tanh form, computed as x sigmoid(2u): 2e-6 + 2.5e-7 |2u| relative (1e-5 at x = -9)
// NaN in gives NaN out; +-Inf give what the reference's formulas give.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/simd_kernels.h"

namespace lowp::kernels::cpu::loops {

template <class V>
typename V::F absOf(typename V::F x) {
  return V::andNot(V::set1(-0.0f), x);
}

// ---- Storage ----

template <Storage S>
struct ElemOf {
  using Type = uint16_t;
};
template <>
struct ElemOf<Storage::kF32> {
  using Type = float;
};

/// Loads, stores and rounds values of storage S; the *Partial forms touch only the first n elements.
template <class V, Storage S>
struct Io {
  using F = typename V::F;
  using Elem = typename ElemOf<S>::Type;

  static F load(const Elem* p) {
    if constexpr (S == Storage::kF32) {
      return V::loadF32(p);
    } else if constexpr (S == Storage::kBf16) {
      return V::loadBf16(p);
    } else {
      return V::loadF16(p);
    }
  }
  /// As load, but a signaling fp16 NaN keeps its bits (F16C quiets it; the reference does not).
  static F loadExact(const Elem* p) {
    if constexpr (S == Storage::kF16) {
      return V::loadF16Exact(p);
    } else {
      return load(p);
    }
  }
  static void store(Elem* p, F v) {
    if constexpr (S == Storage::kF32) {
      V::storeF32(p, v);
    } else if constexpr (S == Storage::kBf16) {
      V::storeBf16(p, v);
    } else {
      V::storeF16(p, v);
    }
  }
  /// v rounded to S and widened back (the value an intermediate tensor of type S would hold).
  static F round(F v) {
    if constexpr (S == Storage::kF32) {
      return v;
    } else if constexpr (S == Storage::kBf16) {
      return V::roundBf16(v);
    } else {
      return V::roundF16(v);
    }
  }
  /// The first n (< kWidth) elements; the other lanes hold `fill`.
  static F loadPartial(const Elem* p, int64_t n, float fill = 0.0f, bool exact = false) {
    Elem buffer[V::kWidth] = {};
    __builtin_memcpy(buffer, p, static_cast<size_t>(n) * sizeof(Elem));
    const F v = exact ? loadExact(buffer) : load(buffer);
    return V::select(V::firstLanes(static_cast<int>(n)), v, V::set1(fill));
  }
  static void storePartial(Elem* p, F v, int64_t n) {
    Elem buffer[V::kWidth];
    store(buffer, v);
    __builtin_memcpy(p, buffer, static_cast<size_t>(n) * sizeof(Elem));
  }
};

// ---- Math ----

/// e^x; see the header for accuracy. NaN propagates; overflow gives +Inf, underflow 0 or a denormal.
template <class V>
typename V::F expOf(typename V::F x) {
  using F = typename V::F;
  // min(hi, x) and max(lo, .) return x itself when it is NaN.
  x = V::max(V::set1(-104.0f), V::min(V::set1(89.0f), x));
  const F n = V::roundNearest(V::mul(x, V::set1(1.44269504088896341f)));
  F r = V::fnmadd(n, V::set1(0.693147182464599609375f), x);  // ln 2 split: float(ln 2) + rest
  r = V::fnmadd(n, V::set1(-1.904654323148236017e-9f), r);
  F p = V::set1(1.0f / 5040.0f);
  p = V::fmadd(p, r, V::set1(1.0f / 720.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 120.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 24.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 6.0f));
  p = V::fmadd(p, r, V::set1(0.5f));
  p = V::fmadd(p, r, V::set1(1.0f));
  p = V::fmadd(p, r, V::set1(1.0f));
  // n lies in [-150, 128]: 2^n as two normal factors, so a denormal result is rounded only once.
  const F n1 = V::floor(V::mul(n, V::set1(0.5f)));
  const F n2 = V::sub(n, n1);
  return V::mul(V::mul(p, V::pow2(n1)), V::pow2(n2));
}

/// e^x as the attention softmax needs it (x <= 0 there): expOf's reduction and polynomial with 2^n as one
/// factor, results below the smallest normal fp32 (x < -87.3) flushed to 0. Beside the row maximum's e^0 = 1
/// in the same sum, the flushed values are below what fp32 can resolve. NaN propagates.
template <class V>
typename V::F expFlushedOf(typename V::F x) {
  using F = typename V::F;
  const F lo = V::set1(-87.3f);
  const F c = V::max(lo, V::min(V::set1(88.0f), x));  // NaN stays NaN
  const F n = V::roundNearest(V::mul(c, V::set1(1.44269504088896341f)));
  F r = V::fnmadd(n, V::set1(0.693147182464599609375f), c);
  r = V::fnmadd(n, V::set1(-1.904654323148236017e-9f), r);
  F p = V::set1(1.0f / 5040.0f);
  p = V::fmadd(p, r, V::set1(1.0f / 720.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 120.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 24.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 6.0f));
  p = V::fmadd(p, r, V::set1(0.5f));
  p = V::fmadd(p, r, V::set1(1.0f));
  p = V::fmadd(p, r, V::set1(1.0f));
  return V::select(V::lt(x, lo), V::set1(0.0f), V::mul(p, V::pow2(n)));
}

/// 1 / (1 + e^-x), with exp's argument kept non-positive as the reference does.
template <class V>
typename V::F sigmoidOf(typename V::F x) {
  using F = typename V::F;
  const F e = expOf<V>(V::sub(V::set1(0.0f), absOf<V>(x)));
  const F num = V::select(V::ge(x, V::set1(0.0f)), V::set1(1.0f), e);
  return V::div(num, V::add(V::set1(1.0f), e));
}

template <class V>
typename V::F tanhOf(typename V::F x) {
  using F = typename V::F;
  const F a = absOf<V>(x);
  const F s = V::mul(a, a);
  // tanh(a) = a + a^3 P(a^2) on [0, 0.55]: near-minimax fit, error of P 1.3e-8.
  F p = V::set1(-0.0066102278311147346f);
  p = V::fmadd(p, s, V::set1(0.021309388664443474f));
  p = V::fmadd(p, s, V::set1(-0.053909428827460545f));
  p = V::fmadd(p, s, V::set1(0.13333113729020872f));
  p = V::fmadd(p, s, V::set1(-0.3333333200797698f));
  const F small = V::fmadd(V::mul(a, s), p, a);
  const F e = expOf<V>(V::add(a, a));
  const F large = V::sub(V::set1(1.0f), V::div(V::set1(2.0f), V::add(e, V::set1(1.0f))));
  const F t = V::select(V::lt(a, V::set1(0.55f)), small, large);
  return V::bitOr(t, V::bitAnd(x, V::set1(-0.0f)));
}

/// erfc(a) for a >= 1 (any a >= 0 works): t exp(-a^2 + P(t)), t = 1 / (1 + a / 2) (Numerical Recipes'
/// erfcc, relative error 1.1e-7).
/// `extra` is a small term added to the exponent (the first-order effect of an error in a).
template <class V>
typename V::F erfcOf(typename V::F a, typename V::F extra) {
  using F = typename V::F;
  // Beyond 10.5 erfc underflows to 0 anyway; the clamp keeps a * a finite (NaN passes through).
  a = V::min(V::set1(10.5f), a);
  const F t = V::div(V::set1(1.0f), V::fmadd(a, V::set1(0.5f), V::set1(1.0f)));
  F p = V::set1(0.17087277f);
  p = V::fmadd(p, t, V::set1(-0.82215223f));
  p = V::fmadd(p, t, V::set1(1.48851587f));
  p = V::fmadd(p, t, V::set1(-1.13520398f));
  p = V::fmadd(p, t, V::set1(0.27886807f));
  p = V::fmadd(p, t, V::set1(-0.18628806f));
  p = V::fmadd(p, t, V::set1(0.09678418f));
  p = V::fmadd(p, t, V::set1(0.37409196f));
  p = V::fmadd(p, t, V::set1(1.00002368f));
  p = V::fmadd(p, t, V::set1(-1.26551223f));
  // The exponent p - a^2 with a^2 = hi + lo exactly and the sum's rounding error e recovered (two-sum), so
  // that exp's argument is exact to first order: exp(s + e) = exp(s) (1 + e).
  const F hi = V::mul(a, a);
  const F lo = V::fmadd(a, a, V::sub(V::set1(0.0f), hi));
  const F u = V::sub(p, lo);
  const F s = V::sub(u, hi);
  const F back = V::sub(s, u);
  const F e = V::add(V::sub(V::sub(u, V::sub(s, back)), V::add(hi, back)), extra);
  const F es = expOf<V>(s);
  return V::mul(t, V::fmadd(es, e, es));
}

/// erf(a) for 0 <= a < 1: a P(a^2), near-minimax fit with relative error 1.5e-9.
template <class V>
typename V::F erfSmallOf(typename V::F a) {
  using F = typename V::F;
  const F s = V::mul(a, a);
  F p = V::set1(7.8758750626854883e-5f);
  p = V::fmadd(p, s, V::set1(-0.00080168642871658695f));
  p = V::fmadd(p, s, V::set1(0.005189087423433974f));
  p = V::fmadd(p, s, V::set1(-0.026854212010626412f));
  p = V::fmadd(p, s, V::set1(0.11283594715160218f));
  p = V::fmadd(p, s, V::set1(-0.37612626666720331f));
  p = V::fmadd(p, s, V::set1(1.1283791658483509f));
  return V::mul(a, p);
}

template <class V>
typename V::F erfOf(typename V::F x) {
  using F = typename V::F;
  const F a = absOf<V>(x);
  const F large = V::sub(V::set1(1.0f), erfcOf<V>(a, V::set1(0.0f)));
  const F e = V::select(V::lt(a, V::set1(1.0f)), erfSmallOf<V>(a), large);
  return V::bitOr(e, V::bitAnd(x, V::set1(-0.0f)));
}

/// x / 2 (1 + erf(x / sqrt 2)); where z = x / sqrt 2 <= -1, 1 + erf(z) is erfc(-z), computed directly.
template <class V>
typename V::F geluErfOf(typename V::F x) {
  using F = typename V::F;
  // z = x / sqrt 2 carries a rounding error d that exp(-z^2) would amplify by 2 z^2 in the tail: d is
  // recovered exactly (fma) and enters erfc's exponent as -2 z d.
  const F k = V::set1(0.707106781186547524f);
  const F z = V::mul(x, k);
  const F d = V::fmadd(x, V::set1(1.21016171e-08f), V::fmadd(x, k, V::sub(V::set1(0.0f), z)));
  const F extra =
      V::select(V::lt(absOf<V>(x), V::set1(__builtin_inff())), V::mul(V::set1(-2.0f), V::mul(z, d)),
                V::set1(0.0f));  // for x = +-Inf, d and z d are NaN
  const F a = absOf<V>(z);
  const F c = erfcOf<V>(a, extra);
  const F small = V::add(V::set1(1.0f), V::bitOr(erfSmallOf<V>(a), V::bitAnd(z, V::set1(-0.0f))));
  const F large = V::select(V::gt(z, V::set1(0.0f)), V::sub(V::set1(2.0f), c), c);
  const F onePlusErf = V::select(V::lt(a, V::set1(1.0f)), small, large);
  return V::mul(V::mul(V::set1(0.5f), x), onePlusErf);
}

/// x / 2 (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2 / pi) (x + 0.044715 x^3).
template <class V>
typename V::F geluTanhOf(typename V::F x) {
  using F = typename V::F;
  const F x3 = V::mul(V::mul(x, x), x);
  const F u = V::mul(V::set1(0.797884560802865355f), V::add(x, V::mul(V::set1(0.044715f), x3)));
  return V::mul(x, sigmoidOf<V>(V::add(u, u)));
}

/// One unary op with the reference's formulas (comparisons ordered, so NaN passes through the selects).
template <class V>
__attribute__((always_inline)) inline typename V::F applyUnary(StepOp op, const ProgramStep& step,
                                                               typename V::F x) {
  using F = typename V::F;
  const F zero = V::set1(0.0f);
  switch (op) {
    case StepOp::kRelu:
      return V::select(V::lt(x, zero), zero, x);
    case StepOp::kLeakyRelu:
      return V::select(V::lt(x, zero), V::mul(V::set1(step.alpha), x), x);
    case StepOp::kSigmoid:
      return sigmoidOf<V>(x);
    case StepOp::kTanh:
      return tanhOf<V>(x);
    case StepOp::kExp:
      return expOf<V>(x);
    case StepOp::kErf:
      return erfOf<V>(x);
    case StepOp::kGelu:
      return step.alpha != 0.0f ? geluTanhOf<V>(x) : geluErfOf<V>(x);
    case StepOp::kHardSigmoid: {
      const F y = V::add(V::mul(V::set1(step.alpha), x), V::set1(step.beta));
      const F one = V::set1(1.0f);
      return V::select(V::lt(y, zero), zero, V::select(V::gt(y, one), one, y));
    }
    case StepOp::kHardSwish: {
      // x / 6 as the reference divides (not x * (1/6)), so results match it exactly.
      const F gate = V::add(V::div(x, V::set1(6.0f)), V::set1(0.5f));
      const F one = V::set1(1.0f);
      return V::mul(x, V::select(V::lt(gate, zero), zero, V::select(V::gt(gate, one), one, gate)));
    }
    case StepOp::kClip: {
      const F lo = V::set1(step.alpha);
      const F hi = V::set1(step.beta);
      const F v = V::select(V::lt(x, lo), lo, x);
      return V::select(V::gt(v, hi), hi, v);
    }
    case StepOp::kNeg:
      return V::bitXor(x, V::set1(-0.0f));
    case StepOp::kAbs:
      return V::select(V::lt(x, zero), V::bitXor(x, V::set1(-0.0f)), x);
    case StepOp::kSqrt:
      return V::sqrt(x);
    case StepOp::kReciprocal:
      return V::div(V::set1(1.0f), x);
    default:
      return x;
  }
}

/// a OP b for a binary op. Max and Min give NaN when either side is NaN, as the reference does.
template <class V>
__attribute__((always_inline)) inline typename V::F applyBinary(StepOp op, typename V::F a, typename V::F b) {
  switch (op) {
    case StepOp::kAdd:
      return V::add(a, b);
    case StepOp::kSub:
      return V::sub(a, b);
    case StepOp::kMul:
      return V::mul(a, b);
    case StepOp::kDiv:
      return V::div(a, b);
    case StepOp::kMax:
      return V::select(V::unordered(a, b), V::set1(__builtin_nanf("")), V::select(V::lt(a, b), b, a));
    case StepOp::kMin:
      return V::select(V::unordered(a, b), V::set1(__builtin_nanf("")), V::select(V::lt(b, a), b, a));
    default:
      return a;
  }
}

inline int64_t minOf(int64_t a, int64_t b) {
  return a < b ? a : b;
}

// ---- Elementwise programs ----

/// Where a binary step reads its operand within one segment: a contiguous run, or one broadcast value.
template <class V, Storage S>
struct OperandCursor {
  const typename ElemOf<S>::Type* run = nullptr;
  typename V::F value;
};

/// Runs `body(v, cursors, offset, count)` over [begin, end) of x into y, segment by segment: a segment is
/// the longest run over which every binary step's operand is contiguous or one broadcast value.
template <class V, Storage S, class Body>
__attribute__((always_inline)) inline void runSegments(const ProgramStep* steps, int stepCount,
                                                       const void* xv, void* yv, int64_t begin, int64_t end,
                                                       Body body) {
  using Elem = typename ElemOf<S>::Type;
  using IoS = Io<V, S>;
  const auto* x = static_cast<const Elem*>(xv);
  auto* y = static_cast<Elem*>(yv);
  OperandCursor<V, S> cursors[kMaxProgramSteps];
  int64_t i = begin;
  while (i < end) {
    int64_t len = end - i;
    for (int k = 0; k < stepCount && k < kMaxProgramSteps; ++k) {
      const ProgramStep& s = steps[k];
      if (!isBinary(s.op)) continue;
      const auto* operand = static_cast<const Elem*>(s.operand);
      if (s.channels == 1) {
        cursors[k].run = nullptr;
        cursors[k].value = V::set1(V::lane0(IoS::loadPartial(operand, 1)));
      } else if (s.inner == 1) {
        const int64_t at = i % s.channels;
        cursors[k].run = operand + at;
        len = minOf(len, s.channels - at);
      } else {
        const int64_t at = i % s.inner;
        cursors[k].run = nullptr;
        cursors[k].value = V::set1(V::lane0(IoS::loadPartial(operand + (i / s.inner) % s.channels, 1)));
        len = minOf(len, s.inner - at);
      }
    }
    int64_t j = 0;
    for (; j + V::kWidth <= len; j += V::kWidth) {
      IoS::store(y + i + j, body(IoS::load(x + i + j), cursors, j, int64_t{V::kWidth}));
    }
    if (j < len) {
      IoS::storePartial(y + i + j, body(IoS::loadPartial(x + i + j, len - j), cursors, j, len - j), len - j);
    }
    i += len;
  }
}

/// Step k's operand for the vector at `offset` of the segment.
template <class V, Storage S>
__attribute__((always_inline)) inline typename V::F operandAt(const OperandCursor<V, S>& c, int64_t offset,
                                                              int64_t count) {
  if (c.run == nullptr) return c.value;
  return count == V::kWidth ? Io<V, S>::load(c.run + offset) : Io<V, S>::loadPartial(c.run + offset, count);
}

/// A program of one step whose op is known at compile time: the op's code inlined into the loop.
template <class V, Storage S, StepOp kOp>
void runSingleStep(const ProgramStep& step, const void* x, void* y, int64_t begin, int64_t end) {
  using F = typename V::F;
  runSegments<V, S>(&step, 1, x, y, begin, end,
                    [&step](F v, const OperandCursor<V, S>* cursors, int64_t offset, int64_t count) {
                      if constexpr (isBinary(kOp)) {
                        const F b = operandAt<V, S>(cursors[0], offset, count);
                        return step.operandFirst ? applyBinary<V>(kOp, b, v) : applyBinary<V>(kOp, v, b);
                      } else {
                        return applyUnary<V>(kOp, step, v);
                      }
                    });
}

template <class V, Storage S>
void runProgramT(const ProgramStep* steps, int stepCount, const void* x, void* y, int64_t begin,
                 int64_t end) {
  using F = typename V::F;
  if (stepCount == 1) {
    // One op (the plain unary and binary kernels): dispatch once, so its code is inlined into the loop.
    const ProgramStep& s = steps[0];
    switch (s.op) {
#define LOWP_SINGLE_STEP(op) \
  case StepOp::op:           \
    return runSingleStep<V, S, StepOp::op>(s, x, y, begin, end);
      LOWP_SINGLE_STEP(kRelu)
      LOWP_SINGLE_STEP(kLeakyRelu)
      LOWP_SINGLE_STEP(kSigmoid)
      LOWP_SINGLE_STEP(kTanh)
      LOWP_SINGLE_STEP(kExp)
      LOWP_SINGLE_STEP(kErf)
      LOWP_SINGLE_STEP(kGelu)
      LOWP_SINGLE_STEP(kHardSigmoid)
      LOWP_SINGLE_STEP(kHardSwish)
      LOWP_SINGLE_STEP(kClip)
      LOWP_SINGLE_STEP(kNeg)
      LOWP_SINGLE_STEP(kAbs)
      LOWP_SINGLE_STEP(kSqrt)
      LOWP_SINGLE_STEP(kReciprocal)
      LOWP_SINGLE_STEP(kAdd)
      LOWP_SINGLE_STEP(kSub)
      LOWP_SINGLE_STEP(kMul)
      LOWP_SINGLE_STEP(kDiv)
      LOWP_SINGLE_STEP(kMax)
      LOWP_SINGLE_STEP(kMin)
#undef LOWP_SINGLE_STEP
    }
  }
  // A chain: every step on each vector in registers, rounded to S between steps.
  runSegments<V, S>(steps, stepCount, x, y, begin, end,
                    [&](F v, const OperandCursor<V, S>* cursors, int64_t offset, int64_t count) {
                      for (int k = 0; k < stepCount; ++k) {
                        const ProgramStep& s = steps[k];
                        if (isBinary(s.op)) {
                          const F b = operandAt<V, S>(cursors[k], offset, count);
                          v = s.operandFirst ? applyBinary<V>(s.op, b, v) : applyBinary<V>(s.op, v, b);
                        } else {
                          v = applyUnary<V>(s.op, s, v);
                        }
                        if (k + 1 < stepCount) v = Io<V, S>::round(v);
                      }
                      return v;
                    });
}

// ---- Casts ----

template <class V, Storage From, Storage To>
void castT(const void* srcv, void* dstv, int64_t n) {
  const auto* src = static_cast<const typename ElemOf<From>::Type*>(srcv);
  auto* dst = static_cast<typename ElemOf<To>::Type*>(dstv);
  int64_t i = 0;
  for (; i + V::kWidth <= n; i += V::kWidth) Io<V, To>::store(dst + i, Io<V, From>::loadExact(src + i));
  if (i < n) Io<V, To>::storePartial(dst + i, Io<V, From>::loadPartial(src + i, n - i, 0.0f, true), n - i);
}

// ---- Softmax ----

template <class V, Storage S>
void softmaxRowsT(const void* xv, void* yv, int64_t rowBegin, int64_t rowEnd, int64_t size) {
  using F = typename V::F;
  using D = typename V::D;
  using Elem = typename ElemOf<S>::Type;
  using IoS = Io<V, S>;
  const float kNegInf = -__builtin_inff();
  for (int64_t r = rowBegin; r < rowEnd; ++r) {
    const Elem* x = static_cast<const Elem*>(xv) + r * size;
    Elem* y = static_cast<Elem*>(yv) + r * size;
    const int64_t full = size - size % V::kWidth;
    const int64_t rest = size - full;
    // The maximum ignores NaN (max(v, m) keeps m when v is NaN), as the reference's std::max does; a NaN
    // still makes the whole row NaN through the sum.
    F m = V::set1(kNegInf);
    for (int64_t j = 0; j < full; j += V::kWidth) m = V::max(IoS::load(x + j), m);
    if (rest > 0) m = V::max(IoS::loadPartial(x + full, rest, kNegInf), m);
    const F maxValue = V::set1(V::hmax(m));
    D sumLo = V::dzero();
    D sumHi = V::dzero();
    auto accumulate = [&](F e) {
      sumLo = V::dadd(sumLo, V::widenLo(e));
      sumHi = V::dadd(sumHi, V::widenHi(e));
    };
    for (int64_t j = 0; j < full; j += V::kWidth) {
      const F e = expOf<V>(V::sub(IoS::load(x + j), maxValue));
      if constexpr (S == Storage::kF32) V::storeF32(y + j, e);
      accumulate(e);
    }
    if (rest > 0) {
      const F e = V::select(V::firstLanes(static_cast<int>(rest)),
                            expOf<V>(V::sub(IoS::loadPartial(x + full, rest), maxValue)), V::set1(0.0f));
      if constexpr (S == Storage::kF32) IoS::storePartial(y + full, e, rest);
      accumulate(e);
    }
    const F scale = V::set1(static_cast<float>(1.0 / V::dhsum(V::dadd(sumLo, sumHi))));
    for (int64_t j = 0; j < full; j += V::kWidth) {
      if constexpr (S == Storage::kF32) {
        V::storeF32(y + j, V::mul(V::loadF32(y + j), scale));
      } else {
        IoS::store(y + j, V::mul(expOf<V>(V::sub(IoS::load(x + j), maxValue)), scale));
      }
    }
    if (rest > 0) {
      const F e = S == Storage::kF32 ? IoS::loadPartial(y + full, rest)
                                     : expOf<V>(V::sub(IoS::loadPartial(x + full, rest), maxValue));
      IoS::storePartial(y + full, V::mul(e, scale), rest);
    }
  }
}

// ---- LayerNormalization ----

template <class V, Storage S>
void layerNormRowsT(const void* xv, const void* scalev, const void* biasv, void* yv, int64_t rowBegin,
                    int64_t rowEnd, int64_t size, double epsilon) {
  using F = typename V::F;
  using D = typename V::D;
  using Elem = typename ElemOf<S>::Type;
  using IoS = Io<V, S>;
  const auto* scale = static_cast<const Elem*>(scalev);
  const auto* bias = static_cast<const Elem*>(biasv);
  const int64_t full = size - size % V::kWidth;
  const int64_t rest = size - full;
  for (int64_t r = rowBegin; r < rowEnd; ++r) {
    const Elem* x = static_cast<const Elem*>(xv) + r * size;
    Elem* y = static_cast<Elem*>(yv) + r * size;
    // Two passes in double: the mean, then the mean of squared deviations. Padding lanes of a partial
    // vector hold 0 in the first pass and float(mean) in the second, whose tiny squares are taken out.
    D lo = V::dzero();
    D hi = V::dzero();
    for (int64_t j = 0; j < full; j += V::kWidth) {
      const F v = IoS::load(x + j);
      lo = V::dadd(lo, V::widenLo(v));
      hi = V::dadd(hi, V::widenHi(v));
    }
    if (rest > 0) {
      const F v = IoS::loadPartial(x + full, rest);
      lo = V::dadd(lo, V::widenLo(v));
      hi = V::dadd(hi, V::widenHi(v));
    }
    const double mean = V::dhsum(V::dadd(lo, hi)) / static_cast<double>(size);
    const D meanD = V::dset1(mean);
    lo = V::dzero();
    hi = V::dzero();
    auto addSquares = [&](F v) {
      const D dl = V::dsub(V::widenLo(v), meanD);
      const D dh = V::dsub(V::widenHi(v), meanD);
      lo = V::dfmadd(dl, dl, lo);
      hi = V::dfmadd(dh, dh, hi);
    };
    for (int64_t j = 0; j < full; j += V::kWidth) addSquares(IoS::load(x + j));
    if (rest > 0) addSquares(IoS::loadPartial(x + full, rest, static_cast<float>(mean)));
    double squares = V::dhsum(V::dadd(lo, hi));
    if (rest > 0) {
      const double pad = static_cast<double>(static_cast<float>(mean)) - mean;
      squares -= pad * pad * static_cast<double>(V::kWidth - rest);
    }
    const double invStd = 1.0 / __builtin_sqrt(squares / static_cast<double>(size) + epsilon);
    // The per-element transform in fp32, multiply and add rounded separately as in the reference.
    const F meanF = V::set1(static_cast<float>(mean));
    const F invF = V::set1(static_cast<float>(invStd));
    auto transform = [&](F v, F s, F b) { return V::add(V::mul(V::mul(V::sub(v, meanF), invF), s), b); };
    for (int64_t j = 0; j < full; j += V::kWidth) {
      const F b = bias != nullptr ? IoS::load(bias + j) : V::set1(0.0f);
      IoS::store(y + j, transform(IoS::load(x + j), IoS::load(scale + j), b));
    }
    if (rest > 0) {
      const F b = bias != nullptr ? IoS::loadPartial(bias + full, rest) : V::set1(0.0f);
      IoS::storePartial(y + full,
                        transform(IoS::loadPartial(x + full, rest), IoS::loadPartial(scale + full, rest), b),
                        rest);
    }
  }
}

// ---- The table ----

template <class V>
void castDispatch(Storage from, const void* src, Storage to, void* dst, int64_t n) {
  switch (static_cast<int>(from) * 3 + static_cast<int>(to)) {
    case 0 * 3 + 1:
      return castT<V, Storage::kF32, Storage::kBf16>(src, dst, n);
    case 0 * 3 + 2:
      return castT<V, Storage::kF32, Storage::kF16>(src, dst, n);
    case 1 * 3 + 0:
      return castT<V, Storage::kBf16, Storage::kF32>(src, dst, n);
    case 1 * 3 + 2:
      return castT<V, Storage::kBf16, Storage::kF16>(src, dst, n);
    case 2 * 3 + 0:
      return castT<V, Storage::kF16, Storage::kF32>(src, dst, n);
    case 2 * 3 + 1:
      return castT<V, Storage::kF16, Storage::kBf16>(src, dst, n);
    default:  // same storage: a copy
      __builtin_memcpy(dst, src, static_cast<size_t>(n) * (from == Storage::kF32 ? 4 : 2));
  }
}

template <class V>
void runProgramDispatch(Storage storage, const ProgramStep* steps, int stepCount, const void* x, void* y,
                        int64_t begin, int64_t end) {
  switch (storage) {
    case Storage::kF32:
      return runProgramT<V, Storage::kF32>(steps, stepCount, x, y, begin, end);
    case Storage::kBf16:
      return runProgramT<V, Storage::kBf16>(steps, stepCount, x, y, begin, end);
    case Storage::kF16:
      return runProgramT<V, Storage::kF16>(steps, stepCount, x, y, begin, end);
  }
}

// ---- Attention ----
// Register tiles: kAttentionRows query rows by kAttentionCols vectors of columns, kept in registers across
// the reduction (d for the scores, sk for the output): 8 x 2 accumulators on AVX-512 (32 registers), 4 x 2
// on AVX2 (16 registers), with room left for the loaded rows and the broadcast value. On the encoder's
// heads (Sk = 128, D = Dv = 32) 8 x 2 ran 4% faster than 4 x 4 on AVX-512; on AVX2, 8 x 1 ran 15% slower
// than 4 x 2.

template <class V>
inline constexpr int kAttentionRows = V::kWidth == 16 ? 8 : 4;
template <class V>
inline constexpr int kAttentionCols = 2;

/// acc[r][c] = sum over k < count of a[r * lda + k] * b[k * ldb + c * kWidth ..]: a kRows x (kN vectors)
/// register block of a row-major product, one rank-1 update per k.
template <class V, int kRows, int kN>
__attribute__((always_inline)) inline void productBlock(const float* a, int64_t lda, const float* b,
                                                        int64_t ldb, int64_t count,
                                                        typename V::F (&acc)[kRows][kN]) {
  using F = typename V::F;
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kN; ++c) acc[r][c] = V::set1(0.0f);
  }
  for (int64_t k = 0; k < count; ++k) {
    const float* brow = b + k * ldb;
    F bv[kN];
    for (int c = 0; c < kN; ++c) bv[c] = V::loadF32(brow + c * V::kWidth);
    for (int r = 0; r < kRows; ++r) {
      const F av = V::set1(a[r * lda + k]);
      for (int c = 0; c < kN; ++c) acc[r][c] = V::fmadd(av, bv[c], acc[r][c]);
    }
  }
}

/// s[r][j .. j + n * kWidth) = sum over k of q[r][k] * kt[k][j ..], for kRows query rows.
template <class V, int kRows, int kN>
void attentionScoreBlock(const AttentionHead& h, const float* q, int64_t j, float* s) {
  typename V::F acc[kRows][kN];
  productBlock<V, kRows, kN>(q, h.d, h.kt + j, h.ldk, h.d, acc);
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kN; ++c) V::storeF32(s + r * h.ldk + j + c * V::kWidth, acc[r][c]);
  }
}

/// y[r][e .. e + n * kWidth) = (sum over j < keys of p[r][j] * v[j][e ..]) * inv[r], the last vector stored
/// only up to dv.
template <class V, int kRows, int kN>
void attentionOutputBlock(const AttentionHead& h, const float* p, const float* inv, int64_t e, int64_t keys,
                          float* y) {
  using F = typename V::F;
  using IoF = Io<V, Storage::kF32>;
  F acc[kRows][kN];
  productBlock<V, kRows, kN>(p, h.ldk, h.v + e, h.ldv, keys, acc);
  for (int r = 0; r < kRows; ++r) {
    const F scale = V::set1(inv[r]);
    for (int c = 0; c < kN; ++c) {
      const int64_t at = e + c * V::kWidth;
      if (at >= h.dv) break;
      float* out = y + r * h.ldy + at;
      if (h.dv - at >= V::kWidth) {
        V::storeF32(out, V::mul(acc[r][c], scale));
      } else {
        IoF::storePartial(out, V::mul(acc[r][c], scale), h.dv - at);
      }
    }
  }
}

/// Row i of the scores in place: S = cap(scale * s) + mask (cap: softcap * tanh(x / softcap) with tanhOf,
/// when h.softcap > 0), then e = exp(S - max(S)) (expFlushedOf); returns
/// 1 / sum(e). Only the first `keys` columns count (h.sk, or fewer past a causal diagonal): the others, up
/// to `width` (a multiple of the vector width, at most h.ldk: the columns the products read), get e = 0. A
/// row whose every score is -inf gives NaN, or e = 0 and 0 with h.zeroMaskedRows.
template <class V>
float attentionSoftmaxRow(const AttentionHead& h, float* s, const float* mask, int64_t keys, int64_t width) {
  using F = typename V::F;
  using IoF = Io<V, Storage::kF32>;
  const float kNegInf = -__builtin_inff();
  const int64_t full = keys - keys % V::kWidth;
  const int64_t rest = keys - full;
  const F scale = V::set1(h.scale);
  const bool capped = h.softcap > 0.0f;
  const F cap = V::set1(h.softcap);
  const F invCap = V::set1(1.0f / h.softcap);
  F m = V::set1(kNegInf);
  // Columns past sk are set to -inf so that the maximum and the sum see only the row itself.
  for (int64_t j = 0; j < width; j += V::kWidth) {
    F x = V::mul(V::loadF32(s + j), scale);
    if (capped) x = V::mul(cap, tanhOf<V>(V::mul(x, invCap)));
    if (j < full) {
      if (mask != nullptr) x = V::add(x, V::loadF32(mask + j));
    } else if (j == full && rest > 0) {
      if (mask != nullptr) x = V::add(x, IoF::loadPartial(mask + j, rest));
      x = V::select(V::firstLanes(static_cast<int>(rest)), x, V::set1(kNegInf));
    } else {
      x = V::set1(kNegInf);
    }
    V::storeF32(s + j, x);
    m = V::max(x, m);
  }
  const float rowMax = V::hmax(m);
  if (h.zeroMaskedRows && rowMax == kNegInf) {
    for (int64_t j = 0; j < width; j += V::kWidth) V::storeF32(s + j, V::set1(0.0f));
    return 0.0f;
  }
  const F maxValue = V::set1(rowMax);
  // Lanes sum in fp32 (each lane adds at most sk / kWidth terms in (0, 1]); the lanes add up in double.
  F sum = V::set1(0.0f);
  for (int64_t j = 0; j < full + (rest > 0 ? V::kWidth : 0); j += V::kWidth) {
    F e = expFlushedOf<V>(V::sub(V::loadF32(s + j), maxValue));
    if (j == full) e = V::select(V::firstLanes(static_cast<int>(rest)), e, V::set1(0.0f));
    V::storeF32(s + j, e);
    sum = V::add(sum, e);
  }
  for (int64_t j = full + (rest > 0 ? V::kWidth : 0); j < width; j += V::kWidth)
    V::storeF32(s + j, V::set1(0.0f));
  return static_cast<float>(1.0 / V::dhsum(V::dadd(V::widenLo(sum), V::widenHi(sum))));
}

template <class V, int kRows>
void attentionRowTile(const AttentionHead& h, int64_t row, float* scratch) {
  constexpr int kN = kAttentionCols<V>;
  constexpr int64_t kW = V::kWidth;
  const float* q = h.q + row * h.d;
  // With causal, no row of the tile sees a key past its last row's: those scores are not computed and
  // their P is 0 (attentionSoftmaxRow), so the products stop there too.
  const int64_t seen = h.keysSeen(row + kRows - 1);
  const int64_t cols = h.causal ? std::min(h.ldk, (seen + kW - 1) / kW * kW) : h.ldk;
  // Column blocks of kN vectors, then single vectors for what is left of the padded row.
  int64_t j = 0;
  for (; j + kN * kW <= cols; j += kN * kW) attentionScoreBlock<V, kRows, kN>(h, q, j, scratch);
  for (; j < cols; j += kW) attentionScoreBlock<V, kRows, 1>(h, q, j, scratch);
  float inv[kRows];
  for (int r = 0; r < kRows; ++r) {
    const float* mask = h.mask != nullptr ? h.mask + (row + r) * h.maskRowStride : nullptr;
    inv[r] = attentionSoftmaxRow<V>(h, scratch + r * h.ldk, mask, h.keysSeen(row + r), cols);
  }
  float* y = h.y + row * h.ldy;
  int64_t e = 0;
  for (; e + kN * kW <= h.ldv; e += kN * kW) attentionOutputBlock<V, kRows, kN>(h, scratch, inv, e, seen, y);
  for (; e < h.dv; e += kW) attentionOutputBlock<V, kRows, 1>(h, scratch, inv, e, seen, y);
}

template <class V>
void attentionRowsT(const AttentionHead& h, int64_t rowBegin, int64_t rowEnd, float* scratch) {
  int64_t row = rowBegin;
  for (; row + kAttentionRows<V> <= rowEnd; row += kAttentionRows<V>) {
    attentionRowTile<V, kAttentionRows<V>>(h, row, scratch);
  }
  for (; row < rowEnd; ++row) attentionRowTile<V, 1>(h, row, scratch);
}

template <class V>
void softmaxDispatch(Storage storage, const void* x, void* y, int64_t rowBegin, int64_t rowEnd,
                     int64_t size) {
  switch (storage) {
    case Storage::kF32:
      return softmaxRowsT<V, Storage::kF32>(x, y, rowBegin, rowEnd, size);
    case Storage::kBf16:
      return softmaxRowsT<V, Storage::kBf16>(x, y, rowBegin, rowEnd, size);
    case Storage::kF16:
      return softmaxRowsT<V, Storage::kF16>(x, y, rowBegin, rowEnd, size);
  }
}

template <class V>
void layerNormDispatch(Storage storage, const void* x, const void* scale, const void* bias, void* y,
                       int64_t rowBegin, int64_t rowEnd, int64_t size, double epsilon) {
  switch (storage) {
    case Storage::kF32:
      return layerNormRowsT<V, Storage::kF32>(x, scale, bias, y, rowBegin, rowEnd, size, epsilon);
    case Storage::kBf16:
      return layerNormRowsT<V, Storage::kBf16>(x, scale, bias, y, rowBegin, rowEnd, size, epsilon);
    case Storage::kF16:
      return layerNormRowsT<V, Storage::kF16>(x, scale, bias, y, rowBegin, rowEnd, size, epsilon);
  }
}

template <class V>
constexpr IsaKernels makeTable(const char* isa) {
  return {isa,
          &castDispatch<V>,
          &runProgramDispatch<V>,
          &softmaxDispatch<V>,
          &layerNormDispatch<V>,
          &attentionRowsT<V>};
}

}  // namespace lowp::kernels::cpu::loops
