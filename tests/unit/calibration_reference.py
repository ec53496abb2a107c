#!/usr/bin/python3
"""NumPy reimplementation of lowp's INT8 calibration (src/quant/), the oracle of test_calibration.cpp.

Usage: calibration_reference.py VALUES.f32 PERCENTILE OUT.txt
VALUES.f32 holds raw little-endian float32 values of one tensor. OUT.txt receives:
  amax <hex>            max |x| (float32 bits, %08x)
  counts <2048 ints>    the histogram of |x| over [0, amax]
  minmax|entropy|percentile|mse <hex>   each calibrator's amax (float32 bits)
Written from docs/precision-semantics.md section 3, not from the C++ code: double arithmetic throughout, sums in
bin order (np.cumsum is sequential) so that the results can be compared bit for bit.
"""
import sys

import numpy as np

BINS = 2048
LEVELS = 128
EPS = 0.0001
POINT_MASS_WINDOW = 8
POINT_MASS_RATIO = 8
POINT_MASS_SHARE_INVERSE = 1000


def f32hex(value):
    return "%08x" % int(np.array([value], dtype=np.float32).view(np.uint32)[0])


def seqsum(values):
    values = np.asarray(values, dtype=np.float64)
    return float(np.cumsum(values)[-1]) if values.size else 0.0


def histogram(x):
    a = np.abs(x.astype(np.float32))
    amax = np.float32(a.max())
    counts = np.zeros(BINS, dtype=np.int64)
    if amax == 0:
        counts[0] = a.size
        return amax, counts
    index = np.floor(a.astype(np.float64) * BINS / np.float64(amax)).astype(np.int64)
    index = np.minimum(index, BINS - 1)
    np.add.at(counts, index, 1)
    return amax, counts


def smooth_normalise(d):
    zeros = d == 0
    n_zeros = int(zeros.sum())
    n_nonzeros = d.size - n_zeros
    if n_nonzeros == 0:
        return None
    give = EPS * n_zeros / n_nonzeros
    d = np.where(zeros, EPS, d - give)
    return d / seqsum(d)


def flatten_point_masses(counts):
    """A bin (not bin 0) above POINT_MASS_RATIO x the lower median of its neighbours within POINT_MASS_WINDOW
    (bin 0 excluded), holding at least 1 / POINT_MASS_SHARE_INVERSE of the values, takes that median."""
    total = int(counts.sum())
    flat = counts.copy()
    for b in range(1, BINS):
        lo, hi = max(1, b - POINT_MASS_WINDOW), min(BINS - 1, b + POINT_MASS_WINDOW)
        window = np.sort(np.concatenate([counts[lo:b], counts[b + 1:hi + 1]]))
        baseline = int(window[(window.size - 1) // 2])
        if counts[b] > POINT_MASS_RATIO * baseline and counts[b] * POINT_MASS_SHARE_INVERSE >= total:
            flat[b] = baseline
    return flat


def entropy(amax, counts):
    if amax == 0:
        return np.float32(amax)
    kept = counts.copy()
    kept[0] = kept[1]  # the spike of exact zeros takes its neighbour's count
    counts = flatten_point_masses(kept)  # inside the range; the tail keeps the point masses whole
    best, best_i = np.inf, BINS
    for i in range(LEVELS, BINS + 1):
        p = counts[:i].astype(np.float64)
        p[i - 1] += kept[i:].sum()
        q = np.zeros(i)
        # bin b belongs to level b * LEVELS // i: the i bins split as evenly as integers allow
        level_of = np.arange(i) * LEVELS // i
        for level in range(LEVELS):
            members = level_of == level
            nonzero = members & (p != 0)
            if nonzero.sum() == 0:
                continue
            share = float(counts[:i][members].sum()) / float(nonzero.sum())
            q[nonzero] = share
        ps, qs = smooth_normalise(p), smooth_normalise(q)
        if ps is None or qs is None:
            continue
        kl = seqsum(ps * np.log(ps / qs))
        if kl < best:
            best, best_i = kl, i
    return np.float32((best_i + 0.5) * (np.float64(amax) / BINS))


def upper_edge(amax, b):
    return np.float64(amax) * (b + 1) / BINS


def percentile(amax, counts, pct):
    if amax == 0:
        return np.float32(0)
    target = pct / 100.0 * float(counts.sum())
    cumulative = np.cumsum(counts)
    b = int(np.argmax(cumulative.astype(np.float64) >= target))
    return np.float32(upper_edge(amax, b))


def mse(amax, counts):
    if amax == 0:
        return np.float32(0)
    b = np.arange(BINS, dtype=np.float64)
    lower = np.float64(amax) * b / BINS
    upper = np.float64(amax) * (b + 1) / BINS
    centres = (lower + upper) / 2.0
    used = counts != 0
    total = float(counts.sum())
    best, best_amax = np.inf, np.float64(amax)
    for candidate in upper:
        scale = candidate / 127.0
        q = np.minimum(np.rint(centres[used] / scale), 127.0)  # rint rounds half to even
        diff = centres[used] - q * scale
        error = seqsum(counts[used].astype(np.float64) * diff * diff) / total
        if error < best:
            best, best_amax = error, candidate
    return np.float32(best_amax)


def main():
    x = np.fromfile(sys.argv[1], dtype="<f4")
    pct = float(sys.argv[2])
    amax, counts = histogram(x)
    with open(sys.argv[3], "w") as out:
        out.write("amax %s\n" % f32hex(amax))
        out.write("counts %s\n" % " ".join(str(int(c)) for c in counts))
        out.write("minmax %s\n" % f32hex(amax))
        out.write("entropy %s\n" % f32hex(entropy(amax, counts)))
        out.write("percentile %s\n" % f32hex(percentile(amax, counts, pct)))
        out.write("mse %s\n" % f32hex(mse(amax, counts)))


if __name__ == "__main__":
    main()
