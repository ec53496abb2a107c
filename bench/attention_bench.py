#!/usr/bin/env python3
"""ONNX's Attention op on an NVIDIA GPU: lowp's engine against PyTorch's scaled_dot_product_attention.

Transformer exports of opset 23 and later hold attention as one ONNX Attention node: with grouped key/value
heads (Hq query heads share Hkv key/value heads), a causal mask for a prompt (prefill), and a key/value
cache for each generated token (decode), whose present outputs the next step reads, and often an additive
padding mask (the attention_mask of exported decoders). This benchmark builds
such one-node models and times them, fp16 throughout, against the same arithmetic in PyTorch.

    /usr/bin/python3 bench/attention_bench.py make --out DIR     (here: Debian's python3-onnx writes the models)
    python3 bench/attention_bench.py run --bundle build-gpu --models DIR --out OUT   (on the GPU machine)

`run`, one program on the GPU at a time, per configuration:
  - lowp: `lowp exec --onnx MODEL --device cuda --fp16 --useCudaGraph` (tactics timed on the GPU, the layers
    replayed as one CUDA graph); its "GPU Compute Time" median: every layer of the engine (the cache's Concat
    included), inputs already on the device.
  - PyTorch: torch.nn.functional.scaled_dot_product_attention (enable_gqa, is_causal and attn_mask as the
    model says),
    after torch.cat of the cache and the new keys and values where the model has a cache; captured in a
    CUDA graph and replayed, timed with CUDA events: warm-up, then the median of --iters replays.
Reported: both medians, lowp's speed-up (> 1: lowp faster), and the rates reached: TFLOP/s of the two
products (4 B Hq Sq T D, halved for a causal square) and GB/s of the keys and values read once
(2 B Hkv T D, 2 bytes each).
"""
import argparse
import json
import os
import re
import subprocess
import sys

# name, batch, query heads, key/value heads, query rows, keys (cache + new), head size, causal, cache, and
# whether an additive padding mask [B, 1, 1, T] (the attention_mask of exported decoders) is an input
CONFIGS = [
    ("prefill-gqa", 2, 32, 8, 2048, 2048, 128, True, False, False),
    ("prefill-mha", 2, 32, 32, 2048, 2048, 128, True, False, False),
    ("decode-gqa", 8, 32, 8, 1, 4096, 128, False, False, False),
    ("decode-gqa-cache", 8, 32, 8, 1, 4096, 128, False, True, False),
    ("decode-gqa-mask", 8, 32, 8, 1, 4096, 128, False, False, True),
    ("decode-gqa-cache-mask", 8, 32, 8, 1, 4096, 128, False, True, True),
]


def unpack(config):
    """A configuration's fields; results saved before the mask field say no mask."""
    return tuple(config) + (False,) * (10 - len(config))


def make_models(out):
    import onnx
    from onnx import TensorProto, helper

    os.makedirs(out, exist_ok=True)
    for name, b, hq, hkv, sq, t, d, causal, cache, mask in CONFIGS:
        fresh = sq if cache else t
        inputs = [
            helper.make_tensor_value_info("q", TensorProto.FLOAT16, [b, hq, sq, d]),
            helper.make_tensor_value_info("k", TensorProto.FLOAT16, [b, hkv, fresh, d]),
            helper.make_tensor_value_info("v", TensorProto.FLOAT16, [b, hkv, fresh, d]),
        ]
        node_inputs = ["q", "k", "v"]
        if mask:
            inputs.append(helper.make_tensor_value_info("attn_mask", TensorProto.FLOAT16, [b, 1, 1, t]))
            node_inputs.append("attn_mask")
        outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [b, hq, sq, d])]
        node_outputs = ["y"]
        if cache:
            inputs += [
                helper.make_tensor_value_info("past_key", TensorProto.FLOAT16, [b, hkv, t - fresh, d]),
                helper.make_tensor_value_info("past_value", TensorProto.FLOAT16, [b, hkv, t - fresh, d]),
            ]
            node_inputs += [""] * (4 - len(node_inputs)) + ["past_key", "past_value"]
            outputs += [
                helper.make_tensor_value_info("present_key", TensorProto.FLOAT16, [b, hkv, t, d]),
                helper.make_tensor_value_info("present_value", TensorProto.FLOAT16, [b, hkv, t, d]),
            ]
            node_outputs += ["present_key", "present_value"]
        node = helper.make_node("Attention", node_inputs, node_outputs, name="attention",
                                is_causal=int(causal))
        graph = helper.make_graph([node], name, inputs, outputs)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
        model.ir_version = 10
        onnx.save(model, os.path.join(out, name + ".onnx"))
    with open(os.path.join(out, "configs.json"), "w") as f:
        json.dump(CONFIGS, f)
    print(f"wrote {len(CONFIGS)} models to {out}")


def work(config):
    _, b, hq, hkv, sq, t, d, causal, _, _ = unpack(config)
    flops = 4.0 * b * hq * sq * t * d * (0.5 if causal and sq == t else 1.0)
    kv_bytes = 2.0 * b * hkv * t * d * 2
    return flops, kv_bytes


def time_lowp(bundle, model):
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.path.join(bundle, "lib") + ":/usr/local/cuda/lib64"
    command = [os.path.join(bundle, "bin", "lowp"), "exec", "--onnx", model, "--device", "cuda", "--fp16",
               "--useCudaGraph", "--duration", "2", "--dumpLayerInfo"]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    match = re.search(r"GPU Compute Time: .*?median = ([0-9.eE+-]+) ms", done.stdout + done.stderr)
    if match is None:
        raise RuntimeError(f"no GPU Compute Time in the output of {' '.join(command)}")
    tactic = re.search(r"\b([a-z0-9]+-(?:onnx)?attention-[a-z0-9-]+)", done.stdout + done.stderr)
    return float(match.group(1)), tactic.group(1) if tactic else ""


def time_torch(config, warmup, iters):
    import torch
    import torch.nn.functional as F

    _, b, hq, hkv, sq, t, d, causal, cache, mask = unpack(config)
    torch.manual_seed(0)
    dev, half = "cuda", torch.float16
    fresh = sq if cache else t
    q = torch.rand(b, hq, sq, d, device=dev, dtype=half) * 2 - 1
    k = torch.rand(b, hkv, fresh, d, device=dev, dtype=half) * 2 - 1
    v = torch.rand(b, hkv, fresh, d, device=dev, dtype=half) * 2 - 1
    past_k = torch.rand(b, hkv, t - fresh, d, device=dev, dtype=half) * 2 - 1
    past_v = torch.rand(b, hkv, t - fresh, d, device=dev, dtype=half) * 2 - 1
    attn_mask = torch.rand(b, 1, 1, t, device=dev, dtype=half) * -4 if mask else None

    def step():
        keys, values = (torch.cat([past_k, k], 2), torch.cat([past_v, v], 2)) if cache else (k, v)
        return F.scaled_dot_product_attention(q, keys, values, attn_mask=attn_mask, is_causal=causal,
                                              enable_gqa=hq != hkv)

    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    for _ in range(warmup):
        graph.replay()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def run(args):
    import torch

    with open(os.path.join(args.models, "configs.json")) as f:
        configs = [tuple(c) for c in json.load(f)]
    os.makedirs(args.out, exist_ok=True)
    gpu = torch.cuda.get_device_name()
    rows = []
    for config in configs:
        name = config[0]
        lowp_ms, tactic = time_lowp(args.bundle, os.path.join(args.models, name + ".onnx"))
        torch_ms = time_torch(config, args.warmup, args.iters)
        flops, kv_bytes = work(config)
        rows.append({"config": config, "lowp_ms": lowp_ms, "lowp_tactic": tactic, "torch_ms": torch_ms,
                     "flops": flops, "kv_bytes": kv_bytes})
        print(f"{name}: lowp {lowp_ms:.4f} ms ({tactic}), torch {torch_ms:.4f} ms", flush=True)
    result = {"gpu": gpu, "torch": torch.__version__, "rows": rows}
    with open(os.path.join(args.out, "attention_results.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(render(result))


def render(result):
    lines = [f"{result['gpu']}, PyTorch {result['torch']}, fp16:", "",
             "| case | B | Hq / Hkv | Sq | T | D | causal | cache | mask | lowp (ms) | lowp tactic "
             "| PyTorch SDPA (ms) | PyTorch / lowp | lowp TFLOP/s | lowp K, V GB/s |",
             "|---|---:|---|---:|---:|---:|---|---|---|---:|---|---:|---:|---:|---:|"]
    yes = {True: "yes", False: "no"}
    for r in result["rows"]:
        name, b, hq, hkv, sq, t, d, causal, cache, mask = unpack(r["config"])
        ms = r["lowp_ms"]
        lines.append(f"| {name} | {b} | {hq} / {hkv} | {sq} | {t} | {d} | {yes[causal]} | {yes[cache]} | "
                     f"{yes[mask]} | {ms:.4f} | `{r['lowp_tactic']}` | {r['torch_ms']:.4f} | "
                     f"{r['torch_ms'] / ms:.2f} | {r['flops'] / ms / 1e9:.1f} | {r['kv_bytes'] / ms / 1e6:.0f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make", help="write the models (ONNX, opset 23) and configs.json")
    make.add_argument("--out", required=True)
    runner = sub.add_parser("run", help="time lowp and PyTorch on the GPU")
    runner.add_argument("--bundle", required=True, help="the build folder of scripts/gpu-bundle.sh")
    runner.add_argument("--models", required=True, help="the folder `make` wrote")
    runner.add_argument("--out", required=True)
    runner.add_argument("--warmup", type=int, default=20)
    runner.add_argument("--iters", type=int, default=100)
    render_cmd = sub.add_parser("render", help="print the table of a saved attention_results.json")
    render_cmd.add_argument("results")
    args = parser.parse_args()
    if args.command == "make":
        make_models(args.out)
    elif args.command == "run":
        run(args)
    else:
        with open(args.results) as f:
            print(render(json.load(f)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
