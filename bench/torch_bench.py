#!/usr/bin/python3
"""torch_bench.py: times PyTorch eager (CPU) on the models tests/models/export_models.py exports.

usage: /usr/bin/python3 bench/torch_bench.py --model NAME --batch N [--threads T] [--warmup W]
                                             (--iters I | --serve)

NAME is one of export_models.MODELS (resnet18, resnet50, mobilenet_v2, encoder); the model is built by
export_models.build(), the same code, seeds and shapes that made the ONNX files lowp and ONNX Runtime run.
It runs under torch.inference_mode() with torch.set_num_threads(T) (default 2). Output and the --serve
protocol are those of bench/lowp_bench.cpp: one JSON object; or {"ready": true, ...} followed by
{"times_ms": [...]} for every line "K" read on stdin.
"""

import argparse
import json
import os
import re
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models"))
import export_models  # noqa: E402  (the model builders of the exported test models)


def blas_info():
    """BLAS_INFO of the torch build and the BLAS library this process actually mapped (after a matmul)."""
    config = torch.__config__.show()
    match = re.search(r"BLAS_INFO=([^,\s]+)", config)
    info = match.group(1) if match else "unknown"
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    libraries = set()
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            for line in f:
                path = line.split()[-1]
                name = os.path.basename(path)
                if any(k in name for k in ("blas", "blis", "mkl_rt", "libmkl")):
                    libraries.add(os.path.realpath(path))
    except OSError:
        pass
    return info, sorted(libraries)


def time_runs(model, x, count):
    times = []
    for _ in range(count):
        start = time.perf_counter()
        model(x)
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, choices=export_models.MODELS)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    load_start = time.perf_counter()
    model, shape = export_models.build(args.model)
    load_ms = (time.perf_counter() - load_start) * 1e3
    g = torch.Generator().manual_seed(args.seed)
    x = torch.rand((args.batch,) + tuple(shape), generator=g) * 2 - 1

    r4 = lambda v: round(v, 4)  # noqa: E731
    blas = blas_info()
    with torch.inference_mode():
        warmup = time_runs(model, x, args.warmup)
        common = {"runner": "torch", "torch_version": torch.__version__, "model": args.model,
                  "batch": args.batch, "threads": torch.get_num_threads(), "load_ms": r4(load_ms),
                  "warmup": args.warmup, "warmup_ms": [r4(t) for t in warmup],
                  "blas_info": blas[0], "blas_libraries": blas[1]}
        if args.serve:
            print(json.dumps({"ready": True, **common}), flush=True)
            for line in sys.stdin:
                line = line.strip()
                if line == "quit":
                    break
                try:
                    count = int(line)
                except ValueError:
                    count = 0
                if count < 1:
                    print(json.dumps({"error": f"expected a positive count, got '{line}'"}), flush=True)
                    continue
                times = time_runs(model, x, count)
                print(json.dumps({"times_ms": [r4(t) for t in times]}), flush=True)
            return 0

        times = time_runs(model, x, args.iters)
    s = sorted(times)
    n = len(s)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    print(json.dumps({**common, "iters": n, "median_ms": r4(med), "min_ms": r4(s[0]),
                      "mean_ms": r4(sum(times) / n), "max_ms": r4(s[-1]), "times_ms": [r4(t) for t in times]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
