#!/usr/bin/env python3
"""lowp on an NVIDIA GPU against PyTorch eager and torch.compile, in one run; renders docs/BENCHMARKS.md.

Run on the GPU machine (its python3 has PyTorch and torchvision), from the repository root, with the
programs of scripts/gpu-bundle.sh:

    python3 bench/gpu_benchmarks.py run --bundle build-gpu --out OUT [--quick]

and then, on the development machine, put the section it wrote into the benchmark page:

    /usr/bin/python3 bench/gpu_benchmarks.py render OUT/gpu_results.json [MORE.json ...] --update docs/BENCHMARKS.md \
        [--section NAME]

(several result files of one GPU, e.g. one run per model, make one table; each case keeps the device rates
measured in its own run).

What `run` does, in one process, one program on the GPU at a time:

1. Exports ResNet-50 and MobileNetV2 from torchvision (random weights, BatchNorm statistics randomised with a
   fixed seed so that no layer is an identity) and a BERT-base-sized encoder (nn.TransformerEncoder: 12
   post-norm layers, d_model 768, 12 heads, feed-forward 3072 with erf GELU, sequences of 128; random
   weights; input [batch, 128, 768], no embedding) to ONNX opset 17 with a dynamic batch dimension.
2. Measures the device's own rates with PyTorch: a 8192^3 matrix product in fp32, tf32, fp16 and bf16
   (TFLOP/s), the same in int8 (torch._int_mm, int32 results: TOP/s), and a 1 GiB device-to-device copy
   (GB/s, read plus write).
3. For every case (model, batch, precision): lowp_bench --device cuda --cuda-graph builds the engine for the
   batch (tactics timed on the GPU) and reports the layers' GPU time per query from CUDA events; then the
   same model in PyTorch eager (CNNs channels_last; the weights and inputs in the precision; TF32 on or off
   as the precision says; the encoder under inference_mode takes PyTorch's fused encoder-layer kernels) and, for the cases in COMPILED, torch.compile (default mode), each timed with CUDA
   events around the forward call on device-resident inputs: warm-up, then the median of --iters runs.
   Both exclude host-device copies of inputs and outputs.
4. Reports per case the medians, throughput, lowp's speed-up over each peer (> 1: lowp faster), and the
   fraction of the measured tensor-core rate the model's arithmetic reaches (2 x MACs of its convolutions
   and matrix products: counted with forward hooks for the CNNs, from the layer sizes for the encoder,
   attention's two batched products included).

Precisions: fp32 (TF32 off everywhere), tf32 (TF32 allowed), fp16, bf16. lowp builds with the flag of the
precision (fp16/bf16 let the builder keep fp32 where that is faster); PyTorch runs the whole model in it.
fp8: lowp with FP8 and FP16 (fp8 matrix products where the builder measured them faster); best: lowp with
every flag (`lowp build --best`: INT8, FP8, FP16, BF16). Both take their INT8 / FP8 scales from one run on
random inputs, which gives real speed and meaningless accuracy, and compare against PyTorch in fp16 and
against lowp's own fp16 engine of the same case; % peak is of the fp8 rate (torch._scaled_mm) for fp8, of the
int8 rate for best.
"""

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

MODELS = ("resnet50", "mobilenet_v2", "bert_base")
# The encoder's size: BERT-base without its embeddings.
BERT = {"layers": 12, "d_model": 768, "heads": 12, "ff": 3072, "seq": 128}
PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
# The reduced precisions lowp may mix, with PyTorch in fp16 beside it.
MIXED = ("fp8", "best")
BATCHES = (1, 64, 256)
# torch.compile takes about a minute per case: the cases the acceptance lines and the reference figures name.
COMPILED = {("resnet50", 1, "fp16"), ("resnet50", 256, "fp16"), ("mobilenet_v2", 256, "fp16"),
            ("resnet50", 256, "bf16"), ("bert_base", 64, "fp16")}


def markers(section):
    """The comments around a rendered section of the benchmark page."""
    return f"<!-- gpu-benchmarks:{section}:begin -->", f"<!-- gpu-benchmarks:{section}:end -->"


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---- run (on the GPU machine) ----

def build_encoder():
    import torch
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=BERT["d_model"], nhead=BERT["heads"],
                                             dim_feedforward=BERT["ff"], dropout=0.0, activation="gelu",
                                             batch_first=True, norm_first=False)
    model = torch.nn.TransformerEncoder(layer, num_layers=BERT["layers"], enable_nested_tensor=False)
    # The stack deep-copies `layer`: draw each layer's weights anew, and non-zero attention biases.
    for m in model.modules():
        if isinstance(m, torch.nn.MultiheadAttention):
            m._reset_parameters()
            with torch.no_grad():
                m.in_proj_bias.normal_(0.0, 0.1)
        elif isinstance(m, torch.nn.Linear):
            m.reset_parameters()
    return model.eval()


def example_input(name, batch):
    import torch
    if name == "bert_base":
        return torch.randn(batch, BERT["seq"], BERT["d_model"])
    return torch.randn(batch, 3, 224, 224)


def build_model(name):
    import torch
    import torchvision
    if name == "bert_base":
        return build_encoder()
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None)
    generator = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)
    return model.eval()


def export(name, path):
    import torch
    model = build_model(name)
    # Grad mode stays on: in eval mode without it, the encoder layers take PyTorch's fused fast path, which
    # has no ONNX form.
    with torch.enable_grad():
        torch.onnx.export(model, (example_input(name, 2),), path, opset_version=17, dynamo=False,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def count_flops(name):
    """2 x multiply-accumulates of the convolutions and matrix products for one input (an image, a sequence)."""
    import torch
    if name == "bert_base":
        d, s, ff = BERT["d_model"], BERT["seq"], BERT["ff"]
        per_layer = 2 * s * (4 * d * d + 2 * d * ff) + 2 * 2 * s * s * d  # projections, FFN, QK^T and PV
        return BERT["layers"] * per_layer
    model = build_model(name)
    total = [0]

    def conv_hook(m, inputs, output):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total[0] += 2 * output.numel() * k

    def linear_hook(m, inputs, output):
        total[0] += 2 * output.numel() * m.in_features

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(conv_hook)
        elif isinstance(m, torch.nn.Linear):
            m.register_forward_hook(linear_hook)
    with torch.no_grad():
        model(example_input(name, 1))
    return total[0]


def set_tf32(on):
    import torch
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def torch_dtype(precision):
    import torch
    return {"fp16": torch.float16, "bf16": torch.bfloat16, "fp8": torch.float16,
            "best": torch.float16}.get(precision, torch.float32)


def rate_key(precision):
    """The device rate a case's % peak is of."""
    return {"fp8": "fp8_tflops", "best": "int8_tflops"}.get(precision, precision + "_tflops")


def time_cuda(fn, warmup, iters):
    """Median milliseconds of fn() between CUDA events, after `warmup` calls."""
    import torch
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def device_rates():
    import torch
    rates = {}
    n = 8192
    for precision in ("fp32", "tf32", "fp16", "bf16"):
        set_tf32(precision == "tf32")
        a = torch.randn(n, n, device="cuda", dtype=torch_dtype(precision))
        b = torch.randn(n, n, device="cuda", dtype=torch_dtype(precision))
        ms = time_cuda(lambda: torch.matmul(a, b), 3, 10)
        rates[precision + "_tflops"] = 2 * n ** 3 / ms / 1e9
    set_tf32(False)
    a = torch.randint(-128, 127, (n, n), device="cuda", dtype=torch.int8)
    # Column-major B: the layout cuBLASLt's int8 tensor-core kernels take (a row-major B runs a slow path).
    b = torch.randint(-128, 127, (n, n), device="cuda", dtype=torch.int8).t()
    ms = time_cuda(lambda: torch._int_mm(a, b), 3, 10)
    rates["int8_tflops"] = 2 * n ** 3 / ms / 1e9
    if hasattr(torch, "float8_e4m3fn") and torch.cuda.get_device_capability() >= (8, 9):
        # E4M3 operands, column-major B, fp16 results: cuBLASLt's fp8 kernels.
        a = torch.randn(n, n, device="cuda").to(torch.float8_e4m3fn)
        b = torch.randn(n, n, device="cuda").to(torch.float8_e4m3fn).t()
        one = torch.ones((), device="cuda")
        ms = time_cuda(lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.float16), 3, 10)
        rates["fp8_tflops"] = 2 * n ** 3 / ms / 1e9
    src = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    ms = time_cuda(lambda: dst.copy_(src), 3, 10)
    rates["copy_gbs"] = 2 * (1 << 30) / ms / 1e6
    return rates


def run_torch(name, batch, precision, compiled, warmup, iters):
    import torch
    set_tf32(precision == "tf32")
    dtype = torch_dtype(precision)
    model = build_model(name).to("cuda", dtype=dtype)
    x = example_input(name, batch).to("cuda", dtype=dtype)
    if x.dim() == 4:
        model = model.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    start = time.time()
    with torch.inference_mode():
        fn = torch.compile(model) if compiled else model
        fn(x)  # compiles, picks cuDNN algorithms
        torch.cuda.synchronize()
        ready_s = time.time() - start
        ms = time_cuda(lambda: fn(x), warmup, iters)
    del model, x, fn
    torch.cuda.empty_cache()
    return {"median_ms": ms, "ready_s": ready_s}


def run_lowp(bundle, onnx, batch, precision, warmup, iters):
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.path.join(bundle, "lib") + ":/usr/local/cuda/lib64:" + env.get("LD_LIBRARY_PATH", "")
    command = [os.path.join(bundle, "bin", "lowp_bench"), "--onnx", onnx, "--batch", str(batch), "--precision",
               precision, "--device", "cuda", "--cuda-graph", "--warmup", str(warmup), "--iters", str(iters)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip()[-2000:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"median_ms": result["device_median_ms"], "host_median_ms": result["median_ms"],
            "build_s": result["build_s"], "layer_precisions": result.get("layer_precisions"),
            "conversions": result.get("conversions"), "build_summary": result.get("build_summary")}


def run(args):
    import torch
    os.makedirs(args.out, exist_ok=True)
    models_dir = os.path.join(args.out, "models")
    os.makedirs(models_dir, exist_ok=True)
    gpu = torch.cuda.get_device_name(0)
    log(f"GPU: {gpu}; torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}")
    doc = {"gpu": gpu, "torch": torch.__version__, "cudnn_torch": torch.backends.cudnn.version(),
           "date": datetime.date.today().isoformat(), "command": " ".join(sys.argv), "cases": []}
    doc["rates"] = device_rates()
    log(f"device rates: {doc['rates']}")
    models = args.models.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    precisions = args.precisions.split(",")
    unknown = [p for p in precisions if p not in PRECISIONS + MIXED]
    if unknown:
        sys.exit(f"run: unknown precision {', '.join(unknown)} (known: {', '.join(PRECISIONS + MIXED)})")
    doc["flops"] = {}
    for name in models:
        path = os.path.join(models_dir, name + ".onnx")
        if not os.path.exists(path):
            export(name, path)
        doc["flops"][name] = count_flops(name)
        for batch in batches:
            for precision in precisions:
                case = {"model": name, "batch": batch, "precision": precision}
                case["lowp"] = run_lowp(args.bundle, path, batch, precision, args.warmup, args.iters)
                case["eager"] = run_torch(name, batch, precision, False, args.warmup, args.iters)
                if (name, batch, precision) in COMPILED and not args.no_compile:
                    case["compile"] = run_torch(name, batch, precision, True, args.warmup, args.iters)
                log(json.dumps(case))
                doc["cases"].append(case)
                with open(os.path.join(args.out, "gpu_results.json"), "w") as f:
                    json.dump(doc, f, indent=1)
    with open(os.path.join(args.out, "gpu_section.md"), "w") as f:
        f.write(render([doc]))
    print(render([doc]))


# ---- render (anywhere) ----

def render(docs, section="latest"):
    """The markdown section for the runs in `docs` (one GPU), one table row per case."""
    first = docs[0]
    begin, end = markers(section)
    lines = [begin, "", f"### {first['gpu']}: lowp against PyTorch {first['torch']}", "",
             "Times are the GPU time of one query between CUDA events (lowp: "
             "ExecutionContext::lastDeviceTimes().computeMs with the layers replayed as a CUDA graph; PyTorch: around the "
             "forward call), inputs already on the device, median of the timed runs. Speed-up > 1: lowp faster. "
             "% peak: the model's arithmetic (2 x MACs of its convolutions and matrix products) per second over "
             "the device's matrix-product rate in that precision, measured in the same run. Runs:", ""]
    for number, doc in enumerate(docs, 1):
        rates = doc["rates"]
        command = re.sub(r"--out \S+", "--out OUT", doc["command"])
        lines.append(f"{number}. {doc['date']}, `{command}`: " +
                     ", ".join(f"{p} {rates[p + '_tflops']:.0f} TFLOP/s" for p in PRECISIONS) +
                     (f", int8 {rates['int8_tflops']:.0f} TOP/s" if "int8_tflops" in rates else "") +
                     (f", fp8 {rates['fp8_tflops']:.0f} TFLOP/s" if "fp8_tflops" in rates else "") +
                     f", copy {rates['copy_gbs']:.0f} GB/s.")
    lines += ["", "| run | model | batch | precision | lowp ms | eager ms | compile ms | lowp samples/s | vs eager | "
              "vs compile | vs lowp fp16 | lowp % peak | lowp build s | lowp layers |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for number, doc in enumerate(docs, 1):
        for c in doc["cases"]:
            lines.append(f"| {number} " + row(doc, c))
    lines += ["", end]
    return "\n".join(lines) + "\n"


def lowp_fp16_ms(doc, c):
    """lowp's fp16 time for the same model and batch in the same run, if measured."""
    for other in doc["cases"]:
        if (other["model"], other["batch"], other["precision"]) == (c["model"], c["batch"], "fp16"):
            return other["lowp"].get("median_ms")
    return None


def row(doc, c):
    lowp = c["lowp"]
    eager = c["eager"]["median_ms"]
    compiled = c.get("compile", {}).get("median_ms")
    compiled_text = "" if compiled is None else f"{compiled:.3f}"
    if "error" in lowp:
        return (f"| {c['model']} | {c['batch']} | {c['precision']} | failed: "
                f"{lowp['error'].splitlines()[-1][:120]} | {eager:.3f} | {compiled_text} | | | | | | | |")
    ms = lowp["median_ms"]
    flops = doc["flops"][c["model"]] * c["batch"]
    rate = doc["rates"].get(rate_key(c["precision"]))
    fraction = None if rate is None else flops / (ms * 1e-3) / (rate * 1e12)
    fp16_ms = lowp_fp16_ms(doc, c) if c["precision"] in MIXED else None
    layers = ", ".join(f"{k} {v}" for k, v in sorted((lowp.get("layer_precisions") or {}).items()))
    return (f"| {c['model']} | {c['batch']} | {c['precision']} | {ms:.3f} | {eager:.3f} | {compiled_text} | "
            f"{c['batch'] / ms * 1e3:.0f} | {eager / ms:.2f} | "
            f"{'' if compiled is None else f'{compiled / ms:.2f}'} | {'' if fp16_ms is None else f'{fp16_ms / ms:.2f}'} | "
            f"{'' if fraction is None else f'{100 * fraction:.1f}%'} | "
            f"{lowp['build_s']:.1f} | {layers}; {lowp.get('conversions', 0)} conversions |")


def update(path, rendered, section):
    begin, end = markers(section)
    with open(path) as f:
        text = f.read()
    if begin in text and end in text:
        text = text[:text.index(begin)] + rendered.strip() + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + rendered
    with open(path, "w") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bundle", default="build-gpu")
    r.add_argument("--out", required=True)
    r.add_argument("--models", default=",".join(MODELS))
    r.add_argument("--batches", default=",".join(str(b) for b in BATCHES))
    r.add_argument("--precisions", default=",".join(PRECISIONS))
    r.add_argument("--warmup", type=int, default=10)
    r.add_argument("--iters", type=int, default=50)
    r.add_argument("--no-compile", action="store_true")
    d = sub.add_parser("render")
    d.add_argument("results", nargs="+")
    d.add_argument("--update", help="replace the section in this markdown file")
    d.add_argument("--section", default="latest", help="the section's name in the file (default: latest)")
    args = parser.parse_args()
    if args.command == "run":
        run(args)
    else:
        docs = []
        for path in args.results:
            with open(path) as f:
                docs.append(json.load(f))
        if len({d["gpu"] for d in docs}) != 1:
            sys.exit("render: the result files come from different GPUs; render each on its own")
        rendered = render(docs, args.section)
        if args.update:
            update(args.update, rendered, args.section)
        else:
            print(rendered)


if __name__ == "__main__":
    main()
