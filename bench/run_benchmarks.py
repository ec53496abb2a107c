#!/usr/bin/python3
"""Run lowp, ONNX Runtime (CPU) and PyTorch eager side by side and write docs/BENCHMARKS.md.

usage: /usr/bin/python3 bench/run_benchmarks.py [--quick] [options]

For every model and batch size this starts one long-lived worker per runner (--runners), each of which loads
or builds the model once and warms up:

    lowp-fp32  build-bench/bench/lowp_bench --precision fp32  (engine from Builder::build, no reduced precision)
    lowp-bf16  build-bench/bench/lowp_bench --precision bf16  (engine from Builder::build with kBF16)
    lowp-int8  build-bench/bench/lowp_bench --precision int8 --calib C  (Builder::build with kINT8, scales from C)
    ort        node bench/ort_bench.js                       (npm onnxruntime-node, CPU execution provider)
    ort-int8   node bench/ort_bench.js on Q                  (the same ONNX Runtime on lowp's QDQ export Q)
    torch      /usr/bin/python3 bench/torch_bench.py         (eager, torch.inference_mode())

and then times them INTERLEAVED: in each of several rounds every worker in turn (the order rotates from round
to round) runs a block of timed executions while the others sit idle, so slow drifts of the machine (other
processes, frequency, thermal) hit all alike. Only one worker computes at any time. Each reports the median
of all its timed executions; the speed-ups are each peer's median over each lowp runner's (> 1: lowp faster),
checked against the acceptance lines (ACCEPT_* below).

Then, one program at a time: the build time of ResNet-50 batch 8 with every flag, without and with a timing
cache (--build-time), and bench/conv_kernel_bench.cpp, a 3x3 convolution against the measured peak of the
machine's vector (or, with AMX, tile) multiply units (--kernels).

lowp and ORT run the same ONNX file (tests/models/export_models.py, opset 17); PyTorch runs the module that
file was exported from (export_models.build(), same seeds, same shapes). All use --threads threads.

The INT8 runners share one set of scales per model: before timing a model the harness writes a folder of
seeded standard-normal float32 batches (the distribution of the models' test inputs) and runs
`lowp calibrate --calibAlgo minmax --calib C --export-qdq Q` on it once. lowp INT8 (and lowp best) read the
calibration cache C; ONNX Runtime INT8 runs Q, the model with those scales as QuantizeLinear /
DequantizeLinear nodes, which ONNX Runtime fuses into its integer kernels. MinMax, not entropy, so that both
quantize by the same rule. The graph ONNX Runtime really runs for Q (its optimized-model dump) is recorded.

Everything the script needs and lacks it makes: the models (export_models.py into --models-dir), the ONNX
Runtime npm packages (`npm pack` into --cache-dir, unpacked without running any install script), and
the bench programs (`cmake --build BUILD --target lowp_bench conv_kernel_bench`, and `lowp_cli`, the `lowp`
command line, for the INT8 runners). A full run takes about 20 to
30 minutes on 2 cores; --quick is a smoke run (a few minutes) that writes its table to build/bench-results/
instead of docs/.
"""

import argparse
import datetime
import json
import os
import platform
import re
import select
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
EXPORT_SCRIPT = os.path.join(ROOT, "tests", "models", "export_models.py")

MODEL_LABELS = {
    "resnet50": "ResNet-50",
    "mobilenet_v2": "MobileNetV2",
    "resnet18": "ResNet-18",
    "encoder": "Encoder (4 layers)",
}
MODEL_INPUTS = {
    "resnet50": "3x224x224",
    "mobilenet_v2": "3x224x224",
    "resnet18": "3x224x224",
    "encoder": "128x256",
}
# lowp-<precision>: bench/lowp_bench.cpp --precision <precision> (an engine built with the Builder, as
# `lowp build` makes it; lowp-runtime is the plain FP32 runtime, Engine::fromOnnxFile, nothing timed).
LOWP_RUNNERS = ("lowp-fp32", "lowp-bf16", "lowp-int8", "lowp-fp16", "lowp-best", "lowp-runtime")
PEERS = ("ort", "ort-int8", "torch")
DEFAULT_RUNNERS = ("lowp-fp32", "lowp-bf16", "lowp-int8", "ort", "ort-int8", "torch")
# A direct kernel measured up to this fraction of the peak loop is within the two measurements' spread.
PEAK_SPREAD = 1.05
RUNNER_LABELS = {"lowp-fp32": "lowp FP32", "lowp-bf16": "lowp BF16", "lowp-int8": "lowp INT8",
                 "lowp-fp16": "lowp FP16", "lowp-best": "lowp best", "lowp-runtime": "lowp runtime FP32",
                 "ort": "ONNX Runtime FP32", "ort-int8": "ONNX Runtime INT8 (QDQ)", "torch": "PyTorch FP32"}
PEER_SHORT = {"ort": "ORT", "ort-int8": "ORT INT8", "torch": "PyTorch"}
# Runners that read the per-model calibration (prepare_int8): the cache C (lowp) or the QDQ export Q (ORT).
CALIBRATED_RUNNERS = ("lowp-int8", "lowp-best", "ort-int8")
CALIB_ALGORITHM = "minmax"  # ORT runs the QDQ scales as given; minmax makes both engines quantize alike
CALIB_SEED = 0
# The acceptance lines the benchmark checks (ratio = ORT median / lowp median, > 1: lowp is faster).
ACCEPT_FP32_VS_ORT = 1.0  # lowp FP32 at least as fast as ORT FP32 on every model and batch
ACCEPT_BF16_VS_ORT = 1.6  # lowp BF16 on ResNet-50 batch 8
ACCEPT_BF16_CONFIG = ("resnet50", 8)
ACCEPT_INT8_VS_ORT = 3.0  # lowp INT8 over ORT FP32, ResNet-50 batch 8, 2 threads
ACCEPT_INT8_VS_ORT_INT8 = 1.3  # lowp INT8 over ORT INT8 on lowp's QDQ export, the same configuration
ACCEPT_INT8_CONFIG = ("resnet50", 8)
ACCEPT_INT8_THREADS = 2
# Ops of ONNX Runtime's optimized graph that compute on integers (its QDQ fusions) or still in float.
ORT_INTEGER_OPS = ("QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "MatMulIntegerToFloat",
                   "DynamicQuantizeMatMul", "QGemm", "QLinearAdd", "QLinearMul", "QLinearSigmoid",
                   "QLinearLeakyRelu", "QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearConcat",
                   "QLinearSoftmax", "QAttention")
ORT_FLOAT_COMPUTE_OPS = ("Conv", "FusedConv", "NchwcConv", "ConvTranspose", "MatMul", "FusedMatMul", "Gemm",
                         "FusedGemm")
ACCEPT_BUILD_COLD_S = 60.0  # ResNet-50 batch 8, --best, no timing cache
ACCEPT_BUILD_WARM_S = 5.0  # the same with a warm timing cache

RESULTS_BEGIN = "<!-- bench/run_benchmarks.py: results begin (everything up to 'results end' is rewritten) -->"
RESULTS_END = "<!-- bench/run_benchmarks.py: results end -->"


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rel(path):
    return os.path.relpath(path, ROOT)


# ---------------------------------------------------------------------------------------------------------------
# Preparation: models, ONNX Runtime packages, lowp_bench.


def ensure_models(models_dir, models, opset):
    missing = [m for m in models if not os.path.exists(os.path.join(models_dir, f"{m}_opset{opset}", "model.onnx"))]
    if missing:
        log(f"exporting {','.join(missing)} into {rel(models_dir)}")
        subprocess.run(["/usr/bin/python3", EXPORT_SCRIPT, models_dir, "--models", ",".join(missing)], check=True,
                       cwd=ROOT)
    return {m: os.path.join(models_dir, f"{m}_opset{opset}", "model.onnx") for m in models}


def read_package_version(folder):
    try:
        with open(os.path.join(folder, "package.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def unpack_npm_tarball(tarball, destination):
    """Unpacks an npm tarball (files under package/) into destination; runs nothing from it."""
    if os.path.exists(destination):
        shutil.rmtree(destination)
    os.makedirs(destination)
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.split("/", 1)[1] if "/" in member.name else ""
            if not name or name.startswith("/") or ".." in name.split("/"):
                continue
            if not (member.isfile() or member.isdir()):
                continue
            member.name = name
            tar.extract(member, destination)


def ensure_ort(cache_dir, version):
    """Makes cache_dir/node_modules/onnxruntime-{node,common} hold the npm packages of `version`."""
    modules = os.path.join(cache_dir, "node_modules")
    node_pkg = os.path.join(modules, "onnxruntime-node")
    meta = read_package_version(node_pkg)
    if meta and meta.get("version") == version:
        common = read_package_version(os.path.join(modules, "onnxruntime-common"))
        if common and common.get("version") == meta.get("dependencies", {}).get("onnxruntime-common"):
            return cache_dir
    npm_dir = os.path.join(cache_dir, "npm")
    os.makedirs(npm_dir, exist_ok=True)
    tarball = os.path.join(npm_dir, f"onnxruntime-node-{version}.tgz")
    if not os.path.exists(tarball):
        log(f"npm pack onnxruntime-node@{version} into {rel(npm_dir)}")
        subprocess.run(["npm", "pack", f"onnxruntime-node@{version}"], check=True, cwd=npm_dir,
                       stdout=subprocess.DEVNULL)
    unpack_npm_tarball(tarball, node_pkg)
    common_version = read_package_version(node_pkg)["dependencies"]["onnxruntime-common"]
    common_tarball = os.path.join(npm_dir, f"onnxruntime-common-{common_version}.tgz")
    if not os.path.exists(common_tarball):
        log(f"npm pack onnxruntime-common@{common_version} into {rel(npm_dir)}")
        subprocess.run(["npm", "pack", f"onnxruntime-common@{common_version}"], check=True, cwd=npm_dir,
                       stdout=subprocess.DEVNULL)
    unpack_npm_tarball(common_tarball, os.path.join(modules, "onnxruntime-common"))
    return cache_dir


def program_path(build_dir, target):
    """Where CMake puts `target`: the lowp command line (lowp_cli) at build_dir/lowp, the bench programs in
    build_dir/bench."""
    return os.path.join(build_dir, "lowp") if target == "lowp_cli" else os.path.join(build_dir, "bench", target)


def ensure_bench_programs(build_dir, build, targets):
    """Builds (unless build is False) and returns {target: path} of the bench programs (program_path)."""
    if build:
        if not os.path.exists(os.path.join(build_dir, "build.ninja")):
            subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, "-G", "Ninja"], check=True, cwd=ROOT)
        log(f"cmake --build {rel(build_dir)} --target {' '.join(targets)}")
        subprocess.run(["cmake", "--build", build_dir, "-j", str(os.cpu_count() or 2), "--target", *targets],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    binaries = {}
    for target in targets:
        binaries[target] = program_path(build_dir, target)
        if not os.path.exists(binaries[target]):
            raise SystemExit(f"run_benchmarks: {rel(binaries[target])} does not exist (build target {target}, or drop "
                             "--no-build)")
        # Every program links the library statically: one older than it would measure or calibrate with old code.
        library = os.path.join(build_dir, "liblowp.a")
        if os.path.exists(library) and os.path.getmtime(binaries[target]) < os.path.getmtime(library):
            raise SystemExit(f"run_benchmarks: {rel(binaries[target])} is older than {rel(library)} (build target "
                             f"{target}, or drop --no-build)")
    return binaries


# ---------------------------------------------------------------------------------------------------------------
# Facts about the machine and the builds, all read, none assumed.


def cpu_info():
    model, flags, logical, physical = "unknown", set(), 0, set()
    core_id, phys_id = None, None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "processor":
                    logical += 1
                elif key == "model name":
                    model = value
                elif key == "flags":
                    flags = set(value.split())
                elif key == "physical id":
                    phys_id = value
                elif key == "core id":
                    core_id = value
                    physical.add((phys_id, core_id))
    except OSError:
        pass
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
                       "amx_int8", "amx_bf16") if f in flags]
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:
        available = os.cpu_count() or 0
    mem_gib = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_gib = int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    os_name = platform.system()
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "cpu_model": model,
        "logical_cpus": logical,
        "physical_cores": len(physical) or None,
        "cpus_available": available,
        "isa": isa,
        "memory_gib": round(mem_gib, 1) if mem_gib else None,
        "os": os_name,
        "kernel": platform.release(),
    }


def git_state():
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    head = git("rev-parse", "--short", "HEAD")
    porcelain = git("status", "--porcelain")
    return {"commit": head or "unknown", "uncommitted_changes": bool(porcelain)}


def cmake_cache(build_dir):
    values = {}
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt"), encoding="utf-8") as f:
            for line in f:
                if line.startswith(("#", "//")) or "=" not in line:
                    continue
                key, value = line.rstrip("\n").split("=", 1)
                values[key.split(":", 1)[0]] = value
    except OSError:
        pass
    return values


def build_flags(build_dir):
    """Optimisation flags lowp_bench.cpp was compiled with, from compile_commands.json."""
    try:
        with open(os.path.join(build_dir, "compile_commands.json"), encoding="utf-8") as f:
            for entry in json.load(f):
                if entry.get("file", "").endswith("bench/lowp_bench.cpp"):
                    words = shlex.split(entry.get("command", "")) or entry.get("arguments", [])
                    flags = [w for w in words if w.startswith(("-O", "-march", "-mtune")) or w == "-DNDEBUG"]
                    return " ".join(flags) or "no -O flag"
    except (OSError, ValueError):
        pass
    return "flags unknown"


def compiler_version(path):
    try:
        return subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return path


def tool_version(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_snapshot():
    """(wall s, busy CPU s of the whole machine from /proc/stat, CPU s of this process and its reaped children).
    Busy excludes idle, iowait and steal."""
    try:
        with open("/proc/stat", encoding="utf-8") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
        busy = (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        busy = None
    t = os.times()
    return time.monotonic(), busy, t.user + t.system + t.children_user + t.children_system


def other_cpu_share(before, after, cpus):
    """The share of the machine's CPU time that processes other than the harness and its runners used between
    two snapshots (every runner of a configuration has exited, and been reaped, when the second is taken)."""
    wall = after[0] - before[0]
    if before[1] is None or after[1] is None or wall <= 0 or cpus <= 0:
        return None
    return max(0.0, (after[1] - before[1]) - (after[2] - before[2])) / (wall * cpus)


# ---------------------------------------------------------------------------------------------------------------
# Workers.


class WorkerError(RuntimeError):
    pass


class Worker:
    """One long-lived benchmark process speaking the --serve protocol of bench/lowp_bench.cpp."""

    def __init__(self, name, command, log_path, timeout_s):
        self.name = name
        self.command = command
        self.log_path = log_path
        self.timeout_s = timeout_s
        self.log_file = open(log_path, "w", encoding="utf-8")  # pylint: disable=consider-using-with
        self.log_file.write("$ " + shlex.join(command) + "\n")
        self.log_file.flush()
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log_file, text=True,
            bufsize=1)
        self.ready = self._read()
        if not self.ready.get("ready"):
            raise WorkerError(f"{name}: unexpected first message {self.ready}")

    def _read(self):
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout_s)
        if not ready:
            self.close()
            raise WorkerError(f"{self.name}: no answer within {self.timeout_s:.0f} s (log: {rel(self.log_path)})")
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            self.log_file.flush()
            tail = ""
            try:
                with open(self.log_path, encoding="utf-8", errors="replace") as f:
                    tail = " | ".join(f.read().strip().splitlines()[-3:])
            except OSError:
                pass
            raise WorkerError(f"{self.name}: exited with status {code}: {tail}")
        message = json.loads(line)
        if "error" in message:
            raise WorkerError(f"{self.name}: {message['error']}")
        return message

    def run(self, count):
        self.process.stdin.write(f"{count}\n")
        self.process.stdin.flush()
        return self._read()["times_ms"]

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


def calibration_file(paths, key):
    """The calibration cache ("cache") or QDQ export ("qdq") prepare_int8 made for this model."""
    int8 = paths.get("int8") or {"error": "the model was not calibrated"}
    if "error" in int8:
        raise WorkerError(f"no INT8 calibration: {int8['error']}")
    return int8[key]


def worker_command(runner, args, model, model_path, batch, paths):
    common = ["--batch", str(batch), "--threads", str(args.threads), "--warmup", str(args.warmup), "--serve"]
    if runner in LOWP_RUNNERS:
        precision = runner.split("-", 1)[1]
        cache = [] if precision == "runtime" else ["--timing-cache", paths["timing_cache"]]
        if runner in CALIBRATED_RUNNERS:
            cache += ["--calib", calibration_file(paths, "cache")]
        return [paths["lowp_bench"], "--onnx", model_path, "--precision", precision, *cache, *common]
    if runner == "ort":
        return ["node", os.path.join(BENCH, "ort_bench.js"), "--ort", paths["ort"], "--onnx", model_path, *common]
    if runner == "ort-int8":
        return ["node", os.path.join(BENCH, "ort_bench.js"), "--ort", paths["ort"], "--onnx",
                calibration_file(paths, "qdq"), "--runner", runner, *common]
    return ["/usr/bin/python3", os.path.join(BENCH, "torch_bench.py"), "--model", model, *common]


def summarize(times):
    times_sorted = sorted(times)
    n = len(times_sorted)

    def quantile(q):
        position = q * (n - 1)
        low = int(position)
        high = min(low + 1, n - 1)
        return times_sorted[low] + (times_sorted[high] - times_sorted[low]) * (position - low)

    return {"n": n, "median_ms": statistics.median(times), "min_ms": times_sorted[0], "p25_ms": quantile(0.25),
            "p75_ms": quantile(0.75), "max_ms": times_sorted[-1]}


def bench_config(args, model, model_path, batch, paths, log_dir):
    """Times the runners on one (model, batch), interleaved. Returns {runner: result}."""
    results = {}
    workers = {}
    try:
        for runner in args.runners:
            log_path = os.path.join(log_dir, f"{model}_b{batch}_{runner}.log")
            start = time.perf_counter()
            try:
                workers[runner] = Worker(runner, worker_command(runner, args, model, model_path, batch, paths),
                                         log_path, args.timeout)
            except (WorkerError, OSError, ValueError) as error:
                results[runner] = {"error": str(error)}
                log(f"  {runner}: FAILED to start: {error}")
                continue
            ready = workers[runner].ready
            warm = ready.get("warmup_ms") or []
            log(f"  {runner}: ready in {time.perf_counter() - start:.1f} s "
                f"(load {ready.get('load_ms', 0):.0f} ms, warm-up {', '.join(f'{t:.1f}' for t in warm)} ms)")
            if ready.get("build_summary"):
                log(f"  {runner}: {ready['build_summary']}; layers by precision {ready.get('layer_precisions')}")
            results[runner] = {"ready": ready, "times_ms": [], "round_medians_ms": []}

        # Executions per round: enough to fill about round_seconds, judged first by the fastest warm-up run and
        # then, round after round, by the median of the runner's previous block.
        def runs_for(estimate_ms):
            return max(1, min(args.max_per_round, int(args.round_seconds * 1e3 / max(estimate_ms, 1e-3))))

        per_round = {}
        for runner, worker in workers.items():
            warm = worker.ready.get("warmup_ms") or []
            per_round[runner] = runs_for(min(warm) if warm else worker.run(1)[0])

        order = list(workers)
        rounds_start = time.perf_counter()
        rounds_done = 0
        for round_index in range(args.rounds):
            elapsed = time.perf_counter() - rounds_start
            if rounds_done and rounds_done >= args.min_rounds and elapsed / rounds_done * (rounds_done + 1) > args.config_seconds:
                log(f"  stopping after {rounds_done} rounds: the next would pass --config-seconds "
                    f"{args.config_seconds:g}")
                break
            shift = round_index % len(order) if order else 0
            for runner in order[shift:] + order[:shift]:
                if "error" in results[runner]:
                    continue
                try:
                    times = workers[runner].run(per_round[runner])
                except (WorkerError, OSError, ValueError) as error:
                    results[runner] = {"error": str(error)}
                    log(f"  {runner}: FAILED: {error}")
                    continue
                results[runner]["times_ms"].extend(times)
                results[runner]["round_medians_ms"].append(statistics.median(times))
                results[runner].setdefault("runs_per_round", []).append(len(times))
                per_round[runner] = runs_for(statistics.median(times))
                time.sleep(args.pause)  # lets the previous runner's worker threads go idle
            rounds_done += 1
            log(f"  round {round_index + 1}/{args.rounds}: " + ", ".join(
                f"{r} {results[r]['round_medians_ms'][-1]:.1f} ms" for r in order if "error" not in results[r]))
    finally:
        for worker in workers.values():
            worker.close()

    for runner, result in results.items():
        if "error" not in result and result["times_ms"]:
            result.update(summarize(result["times_ms"]))
            result["rounds"] = len(result["round_medians_ms"])
    return results

# ---------------------------------------------------------------------------------------------------------------
# Build time and the convolution kernel benchmark: separate programs, run one at a time after the models.


def run_json(command, log_path, timeout_s):
    """Runs a bench program that prints one JSON object on stdout; its stderr goes to log_path."""
    with open(log_path, "a", encoding="utf-8") as log_file:
        log_file.write("$ " + shlex.join(command) + "\n")
        log_file.flush()
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log_file, text=True,
                              timeout=timeout_s, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = ""
        try:
            with open(log_path, encoding="utf-8", errors="replace") as f:
                tail = " | ".join(f.read().strip().splitlines()[-3:])
        except OSError:
            pass
        raise WorkerError(f"{command[0]} exited with status {done.returncode}: {tail}")
    return json.loads(lines[-1])


def timings_from_summary(summary):
    """(measured, from cache) out of the builder's closing summary line, or None."""
    match = re.search(r"(\d+) timings measured, (\d+) from the timing cache", summary or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def measure_build_times(args, model, model_path, batch, paths, log_dir):
    """Builds `model` at `batch` with every flag (lowp build --best) once with no timing cache and then
    --build-warm-runs times with the cache the first build wrote. Returns the measurements."""
    cache = os.path.join(args.results_dir, "build-time-cache.json")
    if os.path.exists(cache):
        os.remove(cache)
    log_path = os.path.join(log_dir, f"build_time_{model}_b{batch}.log")
    if os.path.exists(log_path):
        os.remove(log_path)
    command = [paths["lowp_bench"], "--onnx", model_path, "--batch", str(batch), "--precision", "best",
               "--threads", str(args.threads), "--timing-cache", cache, "--build-only"]
    result = {"model": model, "batch": batch, "precision": "best", "threads": args.threads,
              "command": shlex.join([rel(command[0]), *[rel(c) if os.path.isabs(c) else c for c in command[1:]]])}
    try:
        cold = run_json(command, log_path, args.timeout)
        result["cold_s"] = cold["build_s"]
        result["cold_summary"] = cold.get("build_summary", "")
        result["layer_precisions"] = cold.get("layer_precisions", {})
        log(f"  build without a timing cache: {cold['build_s']:.1f} s ({cold.get('build_summary', '')})")
        warm = []
        for _ in range(args.build_warm_runs):
            run = run_json(command, log_path, args.timeout)
            warm.append(run["build_s"])
            result["warm_summary"] = run.get("build_summary", "")
        result["warm_s"] = warm
        result["warm_median_s"] = statistics.median(warm)
        log(f"  build with a warm timing cache: {', '.join(f'{w:.2f}' for w in warm)} s "
            f"({result['warm_summary']})")
    except (WorkerError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as error:
        result["error"] = str(error)
        log(f"  build time: FAILED: {error}")
    return result


def run_kernel_bench(args, paths, log_dir):
    """conv_kernel_bench --json: the 3x3 convolution in GFLOP/s against the measured peak."""
    threads = sorted({1, args.threads})
    command = [paths["conv_kernel_bench"], "--json", "--batches", args.kernel_batches,
               "--threads", ",".join(str(t) for t in threads), "--seconds", f"{args.kernel_seconds:g}"]
    log_path = os.path.join(log_dir, "conv_kernel_bench.log")
    if os.path.exists(log_path):
        os.remove(log_path)
    try:
        result = run_json(command, log_path, args.timeout)
    except (WorkerError, OSError, ValueError, subprocess.TimeoutExpired) as error:
        log(f"  conv_kernel_bench: FAILED: {error}")
        return {"error": str(error), "command": shlex.join([rel(command[0]), *command[1:]])}
    result["command"] = shlex.join([rel(command[0]), *command[1:]])
    for peak in result.get("peaks", []):
        log(f"  peak {peak['instruction']}, {peak['threads']} thread(s): {peak['gflops']:.1f} GFLOP/s")
    for r in result.get("results", []):
        if "error" in r:
            log(f"  conv {r['precision']} batch {r['batch']} threads {r['threads']}: FAILED: {r['error']}")
        else:
            log(f"  conv {r['precision']} batch {r['batch']} threads {r['threads']}: {r['conv_ms']:.3f} ms, "
                f"{r['gflops']:.1f} GFLOP/s ({r['tactic']})")
    return result


# ---------------------------------------------------------------------------------------------------------------
# INT8: one calibration per model, shared by lowp INT8 (the cache) and ONNX Runtime INT8 (the QDQ export).


def model_float_inputs(model_path, batch):
    """[(name, shape)] of the model's graph inputs, dynamic dimensions (first only) set to `batch`."""
    import onnx  # pylint: disable=import-outside-toplevel  (only the INT8 runners need it)

    model = onnx.load(model_path, load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    inputs = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        if tensor.elem_type != onnx.TensorProto.FLOAT:
            raise ValueError(f"{rel(model_path)}: input '{value.name}' is not float32; the harness calibrates only "
                             "float32 inputs")
        shape = []
        for index, dim in enumerate(tensor.shape.dim):
            if dim.HasField("dim_value"):
                shape.append(dim.dim_value)
            elif index == 0:
                shape.append(batch)
            else:
                raise ValueError(f"{rel(model_path)}: input '{value.name}' has a dynamic dimension other than the "
                                 "first")
        inputs.append((value.name, shape))
    return inputs


def write_calibration_data(model_path, folder, batches, batch_size):
    """Writes `batches` batches of seeded standard-normal float32 values for every input of the model into
    folder, in the layout `lowp calibrate --calibData` reads: one .npy per batch for a single input, else one
    subfolder per batch holding <input name>.npy. Returns the inputs' batch shapes."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    inputs = model_float_inputs(model_path, batch_size)
    rng = np.random.default_rng(CALIB_SEED)
    for index in range(batches):
        for name, shape in inputs:
            if len(inputs) == 1:
                path = os.path.join(folder, f"batch_{index:04d}.npy")
            else:
                os.makedirs(os.path.join(folder, f"batch_{index:04d}"), exist_ok=True)
                path = os.path.join(folder, f"batch_{index:04d}", f"{name}.npy")
            np.save(path, rng.standard_normal(shape, dtype=np.float32))
    return {name: shape for name, shape in inputs}


def count_ops(model_path):
    """{op type: count} of an ONNX file, ops of other domains as domain:op."""
    import onnx  # pylint: disable=import-outside-toplevel

    counts = {}
    for node in onnx.load(model_path, load_external_data=False).graph.node:
        key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}:{node.op_type}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def ort_graph_summary(counts):
    """The integer and float compute ops of an ONNX Runtime optimized graph, and the Q/DQ nodes left in it."""
    bare = {}
    for key, n in counts.items():
        op = key.split(":")[-1]
        bare[op] = bare.get(op, 0) + n
    return {"integer_ops": {op: bare[op] for op in ORT_INTEGER_OPS if op in bare},
            "float_compute_ops": {op: bare[op] for op in ORT_FLOAT_COMPUTE_OPS if op in bare},
            "quantize_linear": bare.get("QuantizeLinear", 0), "dequantize_linear": bare.get("DequantizeLinear", 0)}


def prepare_int8(args, model, model_path, paths, log_dir):
    """Calibrates `model` for the INT8 runners: calibration data, then `lowp calibrate --calibAlgo minmax`
    writing the cache (lowp INT8) and the QDQ export (ONNX Runtime INT8) from the same scales, then, where ORT
    runs, the graph ORT makes of the QDQ export. Returns what it made, or {"error": ...}."""
    folder = os.path.join(args.results_dir, "int8", model)
    data = os.path.join(folder, "calib-data")
    info = {"cache": os.path.join(folder, "calibration.cache"), "qdq": os.path.join(folder, "model_qdq.onnx")}
    log_path = os.path.join(log_dir, f"{model}_calibrate.log")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(data)
    try:
        info["shapes"] = write_calibration_data(model_path, data, args.calib_batches, args.calib_batch_size)
        command = [paths["lowp_cli"], "calibrate", "--onnx", model_path, "--calibData", data, "--calibAlgo",
                   CALIB_ALGORITHM, "--calib", info["cache"], "--export-qdq", info["qdq"], "--threads",
                   str(args.threads)]
        info["command"] = shlex.join([rel(c) if os.path.isabs(c) else c for c in command])
        start = time.perf_counter()
        with open(log_path, "w", encoding="utf-8") as log_file:
            log_file.write("$ " + shlex.join(command) + "\n")
            log_file.flush()
            done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log_file, text=True,
                                  timeout=args.timeout, check=False)
            log_file.write(done.stdout)
        info["calibrate_s"] = round(time.perf_counter() - start, 2)
        if done.returncode != 0:
            with open(log_path, encoding="utf-8", errors="replace") as f:
                tail = " | ".join(f.read().strip().splitlines()[-3:])
            raise WorkerError(f"lowp calibrate exited with status {done.returncode}: {tail}")
        scales = re.search(r"wrote (\d+) scales", done.stdout)
        quantized = re.search(r": (\d+) layers quantized \(([^)]*)\)(?:, (\d+) left in fp32)?", done.stdout)
        if not (scales and quantized and os.path.exists(info["cache"]) and os.path.exists(info["qdq"])):
            raise WorkerError(f"lowp calibrate wrote no cache or QDQ model (log: {rel(log_path)})")
        info["scales"] = int(scales.group(1))
        info["qdq_layers"] = int(quantized.group(1))
        info["qdq_form"] = quantized.group(2)
        info["qdq_left_fp32"] = int(quantized.group(3) or 0)
        info["qdq_ops"] = count_ops(info["qdq"])
        log(f"  calibrated in {info['calibrate_s']:.1f} s: {info['scales']} scales, {info['qdq_layers']} layers in "
            f"the QDQ export ({info['qdq_form']}), {info['qdq_left_fp32']} left in fp32")
        if "ort" in paths:
            info["ort_graph"] = inspect_ort_int8(args, model, info["qdq"], paths, folder, log_dir)
    except (WorkerError, OSError, ValueError, subprocess.TimeoutExpired) as error:
        info["error"] = str(error)
        log(f"  INT8 calibration of {model}: FAILED: {error}")
    return info


def inspect_ort_int8(args, model, qdq, paths, folder, log_dir):
    """Loads the QDQ export once in ONNX Runtime (batch 1, one run) with its optimized-model dump on, and counts
    the ops of the graph ORT runs: QLinearConv & co. where it fused the Q/DQ pairs into integer kernels, Conv /
    MatMul where it did not."""
    dump = os.path.join(folder, "ort_optimized.onnx")
    command = ["node", os.path.join(BENCH, "ort_bench.js"), "--ort", paths["ort"], "--onnx", qdq, "--batch", "1",
               "--threads", str(args.threads), "--warmup", "0", "--iters", "1", "--runner", "ort-int8",
               "--optimized-model", dump]
    try:
        run_json(command, os.path.join(log_dir, f"{model}_ort_int8_graph.log"), args.timeout)
        counts = count_ops(dump)
    except (WorkerError, OSError, ValueError, subprocess.TimeoutExpired) as error:
        log(f"  ONNX Runtime's graph of the QDQ export: FAILED: {error}")
        return {"error": str(error)}
    summary = ort_graph_summary(counts)
    log("  ONNX Runtime runs the QDQ export as: "
        + (", ".join(f"{n} {op}" for op, n in summary["integer_ops"].items()) or "no integer op")
        + "; float " + (", ".join(f"{n} {op}" for op, n in summary["float_compute_ops"].items()) or "none")
        + f"; {summary['quantize_linear']} QuantizeLinear, {summary['dequantize_linear']} DequantizeLinear left")
    return {"dump": rel(dump), "ops": counts, **summary}


# ---------------------------------------------------------------------------------------------------------------
# Report.


def fmt_ms(value):
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def speedup(results, lowp_runner, peer, key="median_ms"):
    """peer's time over lowp's: above 1 means lowp is faster. None when either failed."""
    ra, rb = results.get(lowp_runner, {}), results.get(peer, {})
    if key in ra and key in rb and ra[key] > 0:
        return rb[key] / ra[key]
    return None


def compared(peer, lowp_runner):
    """Whether the tables quote peer / lowp_runner: ORT INT8 only against the lowp engines that may run int8."""
    return peer != "ort-int8" or lowp_runner in ("lowp-int8", "lowp-best")


def label(model):
    return MODEL_LABELS.get(model, model)


def verdict(ok):
    return "**pass**" if ok else "**FAIL**"


OTHER_CPU_LOADED = 0.05  # other processes took more than this share of the CPUs' time in some step


def loaded(meta):
    """Whether other processes competed for the CPUs during the run: measured from /proc/stat where the run
    recorded it (the load average counts the runners themselves), else judged from the 1-minute load average."""
    if "other_cpu" in meta:
        return meta["other_cpu"]["max"] > OTHER_CPU_LOADED
    return meta["loadavg_1min"]["max_between_configs"] > meta["machine"]["cpus_available"] * 0.75


def ort_int8_caveat(meta, model):
    """A warning for comparisons with ONNX Runtime INT8 where ORT did not run the QDQ export's layers as
    integer kernels (float Conv / MatMul left in its optimized graph): then it is no INT8 engine."""
    graph = meta.get("int8", {}).get("models", {}).get(model, {}).get("ort_graph") or {}
    if "float_compute_ops" not in graph:
        return "; ONNX Runtime's graph of the QDQ export was not inspected"
    left = graph["float_compute_ops"]
    if not left:
        return ""
    fused = sum(graph["integer_ops"].values())
    return ("; but ONNX Runtime fused only " + str(fused) + " layer(s) of the QDQ export into integer kernels and "
            "ran " + ", ".join(f"{n} {op}" for op, n in left.items()) + " in fp32 (see INT8 calibration): the "
            "ratio is not against an all-INT8 ONNX Runtime")


def render_acceptance(report):
    """The acceptance lines, each with the numbers that decide it."""
    lines = ["### Acceptance", ""]
    meta = report["meta"]
    if loaded(meta):
        lines += ["Not conclusive: other processes competed for the CPUs during this run (see Load above), "
                  "and the runners suffer unequally from it (ONNX Runtime's median more than lowp's); rerun on a quiet "
                  "machine before reading the verdicts below.", ""]
    runners = meta["runners"]
    entries = report["results"]
    if "lowp-fp32" in runners and "ort" in runners:
        cells, all_ok, missing = [], True, False
        for entry in entries:
            s = speedup(entry["results"], "lowp-fp32", "ort")
            if s is None:
                missing = True
                cells.append(f"{label(entry['model'])} b{entry['batch']} failed")
                continue
            all_ok &= s >= ACCEPT_FP32_VS_ORT
            cells.append(f"{label(entry['model'])} b{entry['batch']} {s:.2f}")
        state = verdict(all_ok and not missing) if entries else "not measured"
        lines.append(f"- lowp FP32 at least as fast as ONNX Runtime FP32 on every model and batch (ORT / lowp FP32 "
                     f">= {ACCEPT_FP32_VS_ORT:g}): {state} ({'; '.join(cells) or 'no configuration measured'}).")
    if "lowp-bf16" in runners and "ort" in runners:
        model, batch = ACCEPT_BF16_CONFIG
        entry = next((e for e in entries if e["model"] == model and e["batch"] == batch), None)
        s = speedup(entry["results"], "lowp-bf16", "ort") if entry else None
        state = (verdict(s >= ACCEPT_BF16_VS_ORT) + f" ({s:.2f}x)") if s is not None else (
            "failed" if entry else "not measured in this run")
        lines.append(f"- lowp BF16 at least {ACCEPT_BF16_VS_ORT:g}x ONNX Runtime FP32 on {label(model)} batch {batch}: "
                     f"{state}.")
    if "lowp-int8" in runners:
        model, batch = ACCEPT_INT8_CONFIG
        entry = next((e for e in entries if e["model"] == model and e["batch"] == batch), None)
        for peer, target, what in (("ort", ACCEPT_INT8_VS_ORT, "ONNX Runtime FP32"),
                                   ("ort-int8", ACCEPT_INT8_VS_ORT_INT8,
                                    "ONNX Runtime INT8 running lowp's QDQ export (the same scales)")):
            if peer not in runners:
                continue
            s = speedup(entry["results"], "lowp-int8", peer) if entry else None
            if meta["threads"] != ACCEPT_INT8_THREADS:
                state = f"not measured at {ACCEPT_INT8_THREADS} threads (this run: {meta['threads']})"
            elif s is not None:
                state = verdict(s >= target) + f" ({s:.2f}x)"
            else:
                state = "failed" if entry else "not measured in this run"
            if peer == "ort-int8" and s is not None:
                state += ort_int8_caveat(meta, model)
            lines.append(f"- lowp INT8 at least {target:g}x {what} on {label(model)} batch {batch}, "
                         f"{ACCEPT_INT8_THREADS} threads: {state}.")
    build = report.get("build_time")
    if build:
        what = f"{label(build['model'])} batch {build['batch']}, all flags (`--best`)"
        if "error" in build:
            lines.append(f"- Build time of {what}: failed ({build['error']}).")
        else:
            lines.append(f"- Build time of {what} without a timing cache under {ACCEPT_BUILD_COLD_S:g} s: "
                         f"{verdict(build['cold_s'] < ACCEPT_BUILD_COLD_S)} ({build['cold_s']:.1f} s).")
            lines.append(f"- The same with a warm timing cache under {ACCEPT_BUILD_WARM_S:g} s: "
                         f"{verdict(build['warm_median_s'] < ACCEPT_BUILD_WARM_S)} (median "
                         f"{build['warm_median_s']:.2f} s of {len(build['warm_s'])} builds).")
    else:
        lines.append(f"- Build time (ResNet-50 batch 8, `--best`, targets {ACCEPT_BUILD_COLD_S:g} s cold and "
                     f"{ACCEPT_BUILD_WARM_S:g} s warm): not measured in this run.")
    return lines + [""]


def render_engines(report):
    """What the builder made of each model for each lowp runner."""
    lowp = [r for r in report["meta"]["runners"] if r in LOWP_RUNNERS and r != "lowp-runtime"]
    if not lowp:
        return []
    int8 = any(r in ("lowp-int8", "lowp-best") for r in lowp)  # engines that need INT8 scales
    lines = ["### lowp engines", "",
             "What the builder made for each benchmark configuration: the time `Builder::build` took (import, "
             "rewrites, timing of every tactic not in the timing cache, search), the layers by the precision "
             "they compute in (conversions it inserted, casts, reformats, quantize and dequantize, counted apart)"
             + (", where its INT8 scales came from" if int8 else "") + ", and how many tactic timings it measured "
             "or took from the timing cache.", "",
             "| model | batch | engine | build (s) | layers by precision | conversions | "
             + ("INT8 scales | " if int8 else "") + "timings measured / cached |",
             "|---|---:|---|---:|---|---:|" + ("---|" if int8 else "") + "---|"]
    for entry in report["results"]:
        for runner in lowp:
            r = entry["results"].get(runner, {})
            if "build_s" not in r:
                continue
            precisions = ", ".join(f"{n} {p}" for p, n in sorted(r.get("layer_precisions", {}).items()))
            timings = timings_from_summary(r.get("build_summary"))
            scales = {"calibration-cache": "calibration cache", "random-input": "random input (speed only)"}.get(
                r.get("scales"), "–")
            lines.append(f"| {label(entry['model'])} | {entry['batch']} | {RUNNER_LABELS[runner]} | "
                         f"{r['build_s']:.1f} | {precisions} | {r.get('conversions', '–')} | "
                         + (f"{scales} | " if int8 else "")
                         + (f"{timings[0]} / {timings[1]}" if timings else "–") + " |")
    return lines + [""]


def render_int8(report):
    """How the INT8 runners got their scales, and what ONNX Runtime made of the QDQ export."""
    int8 = report["meta"].get("int8")
    if not int8:
        return []
    lines = ["### INT8 calibration", "",
             f"One calibration per model, shared by every INT8 engine of the run: {int8['batches']} batches of "
             f"{int8['batch_size']} samples of {int8['data']}, seed {int8['seed']} (the models' test inputs are "
             f"standard normal), through `lowp calibrate --calibAlgo {int8['algorithm']}`, which wrote the "
             "calibration cache lowp INT8 reads and the QDQ model ONNX Runtime INT8 runs. MinMax (amax = the largest "
             "|x| seen), not entropy, so that both engines quantize every tensor by the same rule and the same "
             "scale: symmetric int8 activations, one scale per tensor; weights per output channel. The scales come "
             "from random data, so they say nothing of accuracy; the timings do not depend on them.", "",
             "ONNX Runtime's graph is its optimized-model dump of the QDQ export (`bench/ort_bench.js "
             "--optimized-model`, the same session options): integer ops are its fusions of Q/DQ pairs; float "
             "compute ops are layers it left in fp32; Q/DQ nodes left are conversions it runs.", "",
             "| model | calibrate (s) | scales | QDQ export: layers quantized (left fp32) | ORT integer ops | "
             "ORT float compute ops | ORT Q / DQ left |",
             "|---|---:|---:|---|---|---|---|"]
    for model, info in int8["models"].items():
        if "error" in info:
            lines.append(f"| {label(model)} | failed: {info['error']} | | | | | |")
            continue
        graph = info.get("ort_graph") or {}

        def ops(counts):
            return ", ".join(f"{n} {op}" for op, n in counts.items()) or "none"

        if "error" in graph or not graph:
            ort = [f"failed: {graph['error']}" if graph else "not inspected"] + ["", ""]
        else:
            ort = [ops(graph["integer_ops"]), ops(graph["float_compute_ops"]),
                   f"{graph['quantize_linear']} / {graph['dequantize_linear']}"]
        lines.append(f"| {label(model)} | {info['calibrate_s']:.1f} | {info['scales']} | {info['qdq_layers']} "
                     f"({info['qdq_left_fp32']}), {info['qdq_form']} | " + " | ".join(ort) + " |")
    commands = [info["command"] for info in int8["models"].values() if "command" in info]
    if commands:
        lines += ["", f"`{commands[0]}`" + (" (and likewise for the other models)" if len(commands) > 1 else "")]
    return lines + [""]


def render_build_time(report):
    build = report.get("build_time")
    if not build:
        return []
    lines = ["### Build time", "",
             f"`{build['command']}`, run once after deleting the timing cache and then "
             f"{len(build.get('warm_s', []))} times with the cache the first build wrote (one build at a time, "
             f"{build['threads']} threads).", ""]
    if "error" in build:
        return lines + [f"Failed: {build['error']}", ""]
    cold = timings_from_summary(build.get("cold_summary"))
    warm = timings_from_summary(build.get("warm_summary"))
    lines += ["| timing cache | build (s) | timings measured / cached |", "|---|---:|---|",
              f"| none | {build['cold_s']:.1f} | " + (f"{cold[0]} / {cold[1]}" if cold else "–") + " |",
              f"| warm | {build['warm_median_s']:.2f} (median of {', '.join(f'{w:.2f}' for w in build['warm_s'])}) | "
              + (f"{warm[0]} / {warm[1]}" if warm else "–") + " |", ""]
    return lines


def render_kernels(report):
    kernels = report.get("kernels")
    if not kernels:
        return []
    lines = ["### 3x3 convolution kernel", "",
             "`bench/conv_kernel_bench.cpp` (target `conv_kernel_bench`): x [N, 64, 56, 56] * w [64, 64, 3, 3], "
             "pad 1, stride 1, no bias, 2·N·64·64·56·56·9 flops, as a one-layer network built with "
             "`lowp::Builder` (the builder picks the kernel among the registry's tactics; bf16 is forced with "
             "kObeyPrecisionConstraints and bf16 network input and output, so no cast is timed; int8 is a Q/DQ network the "
             "builder fuses into one QuantizedConv, the quantize and dequantize around it timed apart as other "
             "layers). The time is the convolution layer's alone (ExecutionContext profiler), median of the timed "
             "runs. The peak is measured on this machine by a loop of independent `vfmadd231ps zmm` (fp32), "
             "`vdpbf16ps zmm` (bf16) or `vpdpbusd zmm` (int8: 4 multiply-adds per lane) instructions on 24 "
             "accumulators; where the CPU has AMX, whose tile multiplies oneDNN runs bf16 and int8 convolutions on, "
             "the bf16 and int8 peaks are `tdpbf16ps` and `tdpbusd` on 4 accumulator tiles instead. One pinned "
             "thread per CPU, the best of 200 runs of 2 ms before and after the convolutions; no clock is "
             "assumed. GFLOP/s counts the direct convolution's flops: a Winograd kernel (a tactic ending "
             "`-winograd`) does fewer multiplications, so its rate and fraction are effective ones and may pass "
             "100%; for any other kernel a few percent above 100% is the spread of two measurements (the clock "
             "may differ between them), and more can only mean that other processes held the CPUs while the "
             "peak was measured.", "",
             f"`{kernels.get('command', '')}`", ""]
    if "error" in kernels:
        return lines + [f"Failed: {kernels['error']}", ""]
    lines += ["| peak loop | threads | GFLOP/s |", "|---|---:|---:|"]
    for peak in kernels.get("peaks", []):
        lines.append(f"| `{peak['instruction']}` | {peak['threads']} | {peak['gflops']:.1f} |")
    if not kernels.get("peaks"):
        lines.append("| no AVX-512 (or not enabled by the OS) | – | – |")
    lines += ["", "| precision | batch | threads | kernel | conv (ms) | GFLOP/s | peak (GFLOP/s) | of peak | "
              "other layers (ms) |", "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in kernels.get("results", []):
        if "error" in r:
            lines.append(f"| {r['precision']} | {r['batch']} | {r['threads']} | failed: {r['error']} | | | | | |")
            continue
        fraction = f"{100 * r['fraction_of_peak']:.0f}%" if r.get("fraction_of_peak") is not None else "–"
        lines.append(f"| {r['precision']} | {r['batch']} | {r['threads']} | `{r['tactic']}` | {r['conv_ms']:.3f} | "
                     f"{r['gflops']:.1f} | {r['peak_gflops']:.1f} | {fraction} | "
                     + (f"{r['other_ms']:.3f}" if r.get("other_layers") else "none") + " |")
    if any((r.get("fraction_of_peak") or 0) > PEAK_SPREAD and not r.get("tactic", "").endswith("-winograd")
           for r in kernels.get("results", [])):
        lines += ["", f"A fraction above {100 * PEAK_SPREAD:.0f}%: other processes held the CPUs while the peak "
                  "was measured; these fractions mean nothing (rerun on a quiet machine)."]
    return lines + [""]


def upgrade_report(report):
    """Reads a results.json of the harness before the lowp runners were split by precision: its one lowp
    runner was the plain FP32 runtime (Engine::fromOnnxFile), now called lowp-runtime."""
    meta = report["meta"]
    if "runners" not in meta:
        meta["runners"] = ["lowp-runtime", "ort", "torch"]
        meta["single_lowp_runner"] = True
        for entry in report["results"]:
            if "lowp" in entry["results"]:
                entry["results"]["lowp-runtime"] = entry["results"].pop("lowp")
    return report


def load_line(meta):
    machine = meta["machine"]
    load = meta["loadavg_1min"]
    line = (f"- Load: 1-minute load average {load['start']:g} at the start, {load['end']:g} at the end, at most "
            f"{load['max_between_configs']:g} between configurations, on {machine['cpus_available']} CPUs")
    other = meta.get("other_cpu")
    if other:
        line += (f" (the runners' own threads included); processes other than the harness and its runners used "
                 f"{100 * other['run']:.1f}% of the CPUs' time over the run, at most {100 * other['max']:.1f}% "
                 "during one configuration (from /proc/stat, less the CPU time of the harness and its runners)")
    if loaded(meta):
        line += (": other processes were competing for the CPUs; expect a long tail of slow runs in every runner, "
                 "and more noise in longer runs.")
    return line + ("" if loaded(meta) else ".")


def render_results(report):
    meta = report["meta"]
    machine = meta["machine"]
    runners = meta["runners"]
    lowp = [r for r in runners if r in LOWP_RUNNERS]
    peers = [r for r in runners if r in PEERS]
    lines = [RESULTS_BEGIN, "", "## Results", ""]
    lowp_state = meta["lowp"]
    commit = lowp_state["commit"] + (" with uncommitted changes" if lowp_state["uncommitted_changes"] else "")
    kernels = ("the kernels of lowp's registry, oneDNN's included (built with LOWP_WITH_ONEDNN=1)"
               if lowp_state["with_onednn"] else "the kernels of lowp's registry, built without oneDNN")
    cores = f"{machine['cpus_available']} CPUs available"
    if machine.get("physical_cores"):
        cores += f" ({machine['logical_cpus']} logical, {machine['physical_cores']} physical cores)"
    how_made = {"lowp-runtime": "`Engine::fromOnnxFile`, no builder",
                "lowp-fp32": "`Builder::build` with no reduced-precision flag",
                "lowp-bf16": "`Builder::build` with kBF16", "lowp-fp16": "`Builder::build` with kFP16",
                "lowp-best": "`Builder::build` with every flag (`--best`)",
                "lowp-int8": "`Builder::build` with kINT8 (int8 where the builder measured it faster, else fp32)"}
    if meta.get("int8"):
        for runner in ("lowp-int8", "lowp-best"):
            how_made[runner] += (", INT8 scales from the calibration cache of `lowp calibrate` (see INT8 "
                                 "calibration below)")
    engines = [f"{RUNNER_LABELS[runner]}: {how_made[runner]}" for runner in lowp]
    cache_note = ""
    if any(r != "lowp-runtime" for r in lowp):
        cache_note = (f"; input shapes fixed at the benchmark batch; one timing cache for every build, "
                      f"`{meta.get('timing_cache', '?')}`"
                      + (" (deleted before the run)" if meta.get("fresh_timing_cache") else
                         " (kept from earlier runs where it existed: see the timings cached below)"))
    lines += [
        f"Measured {meta['date']} by `{meta['command']}`{' (quick smoke run)' if meta['quick'] else ''}.",
        "",
    ]
    if meta.get("single_lowp_runner"):
        lines += ["This run predates the engines built by `Builder::build`: its one lowp row is the plain FP32 "
                  "runtime (`Engine::fromOnnxFile`), and it measured no BF16 engine, build time or kernel. "
                  "`make bench` measures them.", ""]
    lines += [
        f"- Machine: {machine['cpu_model']}, {cores}, {machine['memory_gib']} GiB; "
        f"ISA: {', '.join(machine['isa']) or 'none of AVX2/AVX-512/AMX'}; {machine['os']}, Linux {machine['kernel']}.",
        f"- lowp: commit {commit}, build `{lowp_state['build_dir']}` ({lowp_state['build_type']}, "
        f"{lowp_state['flags']}, {lowp_state['compiler']}); {kernels}. "
        + "; ".join(engines) + cache_note + ".",
    ]
    if "ort" in peers:
        lines.append(f"- ONNX Runtime {meta['ort_version']} (npm `onnxruntime-node`, CPU execution provider), FP32, "
                     f"Node.js {meta['node_version']}; intraOpNumThreads {meta['threads']}, interOpNumThreads 1, "
                     "sequential, graph optimization level all.")
    if "ort-int8" in peers:
        lines.append(f"- ONNX Runtime INT8 (QDQ): the same ONNX Runtime {meta['ort_version']} and session options on "
                     "lowp's QDQ export of the model (`lowp calibrate --export-qdq`, the same scales as lowp INT8); "
                     "ONNX Runtime fuses what Q/DQ patterns it can into integer kernels and runs the rest in fp32 "
                     "(counted under INT8 calibration below).")
    if "torch" in peers:
        lines.append(
            f"- PyTorch {meta['torch_version']} eager, FP32 (Debian `python3-torch`), "
            f"torch.set_num_threads({meta['threads']}), `torch.inference_mode()`; built with "
            f"BLAS_INFO={meta.get('torch_blas_info') or 'unknown'}, BLAS library loaded: "
            f"{', '.join('`' + b + '`' for b in meta.get('torch_blas_libraries') or []) or 'none found'}"
            + (" (the unoptimised netlib reference BLAS of Debian's `libblas3`, on which its matrix products run: "
               "Linear layers and attention are slow for that reason)" if any("/blas/libblas" in b for b in
                                                                            meta.get('torch_blas_libraries') or [])
               else "") + ".")
    lines += [
        f"- Protocol: {meta['threads']} threads each; models exported at opset {meta['opset']} by "
        "`tests/models/export_models.py` (random seeded weights); random inputs. "
        f"{meta['warmup']} warm-up run{'s' if meta['warmup'] != 1 else ''} each, then up to {meta['rounds']} "
        f"interleaved rounds, each giving every runner about {meta['round_seconds']:g} s (at least one run; "
        "the count follows the runner's speed in its previous round); "
        "the order rotates from round to round."
        + (f" All runners ran at nice {meta['nice']}, ahead of other processes." if meta.get("nice", 0) < 0 else ""),
        load_line(meta),
        "",
    ]
    if not meta.get("single_lowp_runner"):
        lines += render_acceptance(report)
    pairs = [(peer, r) for peer in peers for r in lowp if compared(peer, r)]
    lines += [
        "### Latency",
        "",
        "Median latency per inference call (milliseconds; lower is better). Speed-ups are the peer's median over "
        "lowp's: above 1 means lowp is faster.",
        "",
        "| model | input | batch | " + " | ".join(f"{RUNNER_LABELS[r]} (ms)" for r in runners) + " | "
        + " | ".join(f"{PEER_SHORT[p]} / {RUNNER_LABELS[r]}" for p, r in pairs) + " |",
        "|---|---|---:|" + "---:|" * (len(runners) + len(pairs)),
    ]
    failures = []
    for entry in report["results"]:
        res = entry["results"]
        cells = []
        for runner in runners:
            r = res.get(runner, {})
            if "median_ms" in r:
                cells.append(fmt_ms(r["median_ms"]))
            else:
                cells.append("failed")
                failures.append(f"{label(entry['model'])}, batch {entry['batch']}, "
                                f"{RUNNER_LABELS[runner]}: {r.get('error', 'no measurement')}")
        for peer, runner in pairs:
            s = speedup(res, runner, peer)
            cells.append(f"{s:.2f}" if s is not None else "–")
        lines.append(f"| {label(entry['model'])} | {MODEL_INPUTS.get(entry['model'], '')} "
                     f"| {entry['batch']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Spread: minimum and interquartile range (p25–p75) of all timed runs and how many runs (n) each median is "
        "of; the speed-ups of the minima (the fastest run each runner managed: less sensitive to other load).",
        "",
        "| model | batch | rounds | " + " | ".join(f"{RUNNER_LABELS[r]} min · p25–p75 (n)" for r in runners) + " | "
        + " | ".join(f"{PEER_SHORT[p]} / {RUNNER_LABELS[r]}, minima" for p, r in pairs) + " |",
        "|---|---:|---:|" + "---|" * len(runners) + "---:|" * len(pairs),
    ]
    for entry in report["results"]:
        cells = []
        for runner in runners:
            r = entry["results"].get(runner, {})
            if "median_ms" in r:
                cells.append(f"{fmt_ms(r['min_ms'])} · {fmt_ms(r['p25_ms'])}–{fmt_ms(r['p75_ms'])} ({r['n']})")
            else:
                cells.append("failed")
        for peer, runner in pairs:
            s = speedup(entry["results"], runner, peer, "min_ms")
            cells.append(f"{s:.2f}" if s is not None else "–")
        rounds = max((r.get("rounds", 0) for r in entry["results"].values()), default=0)
        lines.append(f"| {label(entry['model'])} | {entry['batch']} | {rounds} | " + " | ".join(cells) + " |")
    if failures:
        lines += ["", "Failures (no number is quoted for these):", ""]
        lines += [f"- {f}" for f in failures]
    lines.append("")
    lines += render_engines(report)
    lines += render_int8(report)
    lines += render_build_time(report)
    lines += render_kernels(report)
    lines += [f"Raw timings: `{meta['json']}` (not committed; rerun to regenerate).", "", RESULTS_END]
    return "\n".join(lines) + "\n"


DOC_HEADER = """# Benchmarks

lowp is measured side by side with its peers, in one run, on one machine, by `bench/run_benchmarks.py`:
the project quotes no number it did not measure, and every number below comes from the run it names.

    make bench                                    # builds build-bench/ (bench programs only) and runs the full set
    /usr/bin/python3 bench/run_benchmarks.py      # the same, after the build
    /usr/bin/python3 bench/run_benchmarks.py --quick   # smoke run, table in build/bench-results/

What runs:

| runner | program | what it times |
|---|---|---|
| lowp FP32 | `bench/lowp_bench.cpp --precision fp32` (target `lowp_bench`, public API only) | `ExecutionContext::execute` of the engine `Builder::build` makes with no reduced-precision flag (what `lowp build` gives) |
| lowp BF16 | `bench/lowp_bench.cpp --precision bf16` | the same, built with kBF16 (`lowp build --bf16`): bf16 where the builder measured it faster |
| lowp INT8 | `bench/lowp_bench.cpp --precision int8 --calib CACHE` | the same, built with kINT8 and the scales of the model's calibration cache |
| ONNX Runtime FP32 | `bench/ort_bench.js` on the npm package `onnxruntime-node` (CPU execution provider) | `InferenceSession.run` |
| ONNX Runtime INT8 (QDQ) | `bench/ort_bench.js` on lowp's QDQ export of the model | `InferenceSession.run` of the model with the same scales as Q/DQ nodes |
| PyTorch FP32 | `bench/torch_bench.py` on Debian's `python3-torch` (eager) | `model(x)` under `torch.inference_mode()` |

`--runners` picks others too: `lowp-fp16`, `lowp-best` (every flag, as `--best`) and `lowp-runtime` (the plain
FP32 runtime, `Engine::fromOnnxFile`, which times nothing and builds nothing).

The INT8 engines share their scales. Once per model the harness writes calibration batches of seeded
standard-normal float32 values (the models' test inputs are standard normal) and runs
`lowp calibrate --calibAlgo minmax --calib CACHE --export-qdq QDQ` on them: lowp INT8 (and lowp best) read CACHE,
ONNX Runtime INT8 runs QDQ. MinMax rather than entropy so that both quantize by the same rule. The harness also
records the graph ONNX Runtime makes of QDQ (its optimized-model dump): QLinearConv and the like where it fused
the Q/DQ pairs into integer kernels.

lowp and ONNX Runtime load the same ONNX file written by `tests/models/export_models.py`; PyTorch runs the
very module that file was exported from (`export_models.build()`: same architecture, seeds and shapes).
lowp's engines are built for the benchmark's input shapes (the batch), on the benchmark's threads, with one
timing cache for every build (`build-bench/bench-cache/timing.json` by default; the cache refuses times from
another device or lowp version; `--fresh-timing-cache` deletes it first so every tactic is timed in this run).
Each runner is a long-lived process that loads (or builds) its model once, warms up, and then answers "run K
times" requests. The harness interleaves them: in every round each runner in turn runs a block of timed runs
(about `--round-seconds` of work, at most `--max-per-round` runs) while the others sit idle, and the order
rotates from round to round, so slow drifts of the machine hit all runners alike. Reported: the median of all
timed runs of each runner, and speed-ups: a peer's median over lowp's, so that above 1 means lowp is faster.
Build time, load time and warm-up runs are not counted in the latency. Inputs are random (uniform in
[-1, 1]); the timings do not depend on the values. The ONNX Runtime packages are fetched with `npm pack` into
`build/bench-cache/` and unpacked without running their install scripts. Per-runner logs go to
`build/bench-results/logs/`.

After the models, a full run also measures the build time of ResNet-50 at batch 8 with every flag (`--best`)
without a timing cache and then with the warm cache (`--build-time`), and runs `conv_kernel_bench`, which
times a 3x3 convolution (64 to 64 channels, 56x56) in fp32 and bf16 and compares its GFLOP/s with the peak of
this machine's vector units, measured by an FMA-throughput loop (`--kernels`).

The results open with the acceptance lines lowp is held to: lowp FP32 at least as fast as ONNX Runtime FP32 on
every model and batch, lowp BF16 at least 1.6x ONNX Runtime FP32 on ResNet-50 batch 8, lowp INT8 at least 3x
ONNX Runtime FP32 and 1.3x ONNX Runtime INT8 on lowp's QDQ export on ResNet-50 batch 8 at 2 threads, and the
`--best` build of ResNet-50 batch 8 under 60 s without a timing cache and 5 s with a warm one. They are conclusive only on a quiet machine: other load
slows the runners unequally (ONNX Runtime's threads more than lowp's), and the page says so when the 1-minute
load average passed three quarters of the CPUs.

The harness raises its own priority and its runners' to nice -10 (`--nice`) when it may, so that other work on
the machine disturbs the measurement less; whatever load remains is reported with the results (1-minute load
averages), and it shows as a long tail of slow runs: the medians and minima below are robust to it, the means
would not be. Every run is capped: after three rounds, no round starts that would take one configuration past
`--config-seconds` (150 s).

Options of `bench/run_benchmarks.py`: `--models`, `--batches`, `--runners`, `--threads`, `--rounds`,
`--round-seconds`, `--warmup`, `--nice`, `--build-dir`, `--timing-cache`, `--fresh-timing-cache`,
`--build-time`, `--kernels`, `--calib-batches`, `--calib-batch-size`, `--ort-version`, `--output`, `--quick`,
`--render RESULTS_JSON` (rewrite the page from a saved run without measuring), see `--help`. `make bench BENCH_ARGS=--quick` passes options.

"""


def write_doc(path, report):
    """Writes DOC_HEADER (the page's one source for its method text) and the results; text a person added after
    the results' end marker is kept."""
    results = render_results(report)
    after = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            existing = f.read()
        if RESULTS_END in existing:
            after = existing.split(RESULTS_END, 1)[1].lstrip("\n")
    text = DOC_HEADER + results + (("\n" + after) if after else "")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# ---------------------------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="resnet50,mobilenet_v2,encoder",
                        help="comma-separated subset of " + ",".join(MODEL_LABELS))
    parser.add_argument("--batches", default=None, help="comma-separated batch sizes (default 1,8; --quick: 1)")
    parser.add_argument("--runners", default=",".join(DEFAULT_RUNNERS),
                        help="comma-separated runners, in table order (default %(default)s; also "
                             + ", ".join(r for r in LOWP_RUNNERS if r not in DEFAULT_RUNNERS) + ")")
    parser.add_argument("--opset", type=int, default=17, choices=(13, 17))
    parser.add_argument("--threads", type=int, default=2, help="threads of every runner (default 2)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 8; --quick: 2)")
    parser.add_argument("--round-seconds", type=float, default=None,
                        help="wall time each runner gets per round (default 3; --quick: 0.5)")
    parser.add_argument("--max-per-round", type=int, default=50, help="most runs of one runner in one round")
    parser.add_argument("--min-rounds", type=int, default=3, help="rounds run even past --config-seconds")
    parser.add_argument("--config-seconds", type=float, default=None,
                        help="after --min-rounds, start no round that would end past this many seconds of one "
                             "configuration's timed rounds (default 150; --quick: 20)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up runs per runner (default 2; --quick: 1)")
    parser.add_argument("--nice", type=int, default=-10,
                        help="scheduling priority of the harness and the runners it starts (default -10, i.e. ahead "
                             "of other processes, when allowed; 0 leaves it alone)")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds of idle between two runners' blocks")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds a worker may take for one answer (its build included)")
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--no-build", action="store_true", help="use the existing bench programs, do not rebuild")
    parser.add_argument("--timing-cache", default=None,
                        help="the timing cache of every lowp build (default BUILD_DIR/bench-cache/timing.json)")
    parser.add_argument("--fresh-timing-cache", action="store_true",
                        help="delete the timing cache first, so that every tactic is timed in this run")
    parser.add_argument("--build-time", action=argparse.BooleanOptionalAction, default=None,
                        help="measure the build time of ResNet-50 batch 8 with --best, without and with a timing "
                             "cache (default: on; --quick: off)")
    parser.add_argument("--build-warm-runs", type=int, default=3, help="builds with the warm cache (default 3)")
    parser.add_argument("--kernels", action=argparse.BooleanOptionalAction, default=None,
                        help="run conv_kernel_bench (default: on; --quick: off)")
    parser.add_argument("--kernel-batches", default=None, help="batches of conv_kernel_bench (default 1,8)")
    parser.add_argument("--kernel-seconds", type=float, default=None,
                        help="timed seconds per conv_kernel_bench configuration (default 3; --quick: 0.5)")
    parser.add_argument("--calib-batches", type=int, default=None,
                        help="calibration batches of the INT8 runners (default 8; --quick: 2)")
    parser.add_argument("--calib-batch-size", type=int, default=None,
                        help="samples per calibration batch (default 4; --quick: 2)")
    parser.add_argument("--models-dir", default=os.path.join(ROOT, "build", "models"))
    parser.add_argument("--cache-dir", default=os.path.join(ROOT, "build", "bench-cache"),
                        help="where the ONNX Runtime npm packages are fetched and unpacked")
    parser.add_argument("--ort-version", default="1.30.0")
    parser.add_argument("--results-dir", default=os.path.join(ROOT, "build", "bench-results"))
    parser.add_argument("--output", default=None,
                        help="Markdown file to write (default docs/BENCHMARKS.md; --quick: in --results-dir)")
    parser.add_argument("--quick", action="store_true", help="smoke run: batch 1, 2 short rounds, 1 warm-up run")
    parser.add_argument("--render", metavar="RESULTS_JSON",
                        help="measure nothing: rewrite --output (default docs/BENCHMARKS.md) from a saved results.json")
    args = parser.parse_args()

    args.batches = args.batches or ("1" if args.quick else "1,8")
    args.rounds = args.rounds or (2 if args.quick else 8)
    args.round_seconds = args.round_seconds or (0.5 if args.quick else 3.0)
    args.config_seconds = args.config_seconds or (20.0 if args.quick else 150.0)
    args.min_rounds = min(args.min_rounds, args.rounds)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    args.build_time = args.build_time if args.build_time is not None else not args.quick
    args.kernels = args.kernels if args.kernels is not None else not args.quick
    args.kernel_batches = args.kernel_batches or "1,8"
    args.kernel_seconds = args.kernel_seconds or (0.5 if args.quick else 3.0)
    if args.calib_batches is None:
        args.calib_batches = 2 if args.quick else 8
    if args.calib_batch_size is None:
        args.calib_batch_size = 2 if args.quick else 4
    if args.calib_batches < 1 or args.calib_batch_size < 1:
        parser.error("--calib-batches and --calib-batch-size must be positive")
    models = args.models.split(",")
    unknown = sorted(set(models) - set(MODEL_LABELS))
    if unknown:
        parser.error("unknown model(s): " + ",".join(unknown))
    args.runners = args.runners.split(",")
    unknown = [r for r in args.runners if r not in RUNNER_LABELS]
    if unknown or len(set(args.runners)) != len(args.runners):
        parser.error("--runners: unknown or repeated runner(s) in " + ",".join(args.runners) + "; known: "
                     + ",".join(RUNNER_LABELS))
    try:
        batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        parser.error(f"--batches: not a list of integers: {args.batches}")
    if args.rounds < 1 or args.round_seconds <= 0 or args.threads < 1 or args.warmup < 0 or args.build_warm_runs < 1:
        parser.error("--rounds, --round-seconds, --threads and --build-warm-runs must be positive, --warmup not "
                     "negative")
    args.build_dir = os.path.abspath(args.build_dir)
    args.results_dir = os.path.abspath(args.results_dir)
    args.timing_cache = os.path.abspath(args.timing_cache or os.path.join(args.build_dir, "bench-cache", "timing.json"))
    output = args.output or (os.path.join(args.results_dir, "BENCHMARKS-quick.md") if args.quick
                             else os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    if args.render:
        with open(args.render, encoding="utf-8") as f:
            saved = json.load(f)
        output = args.output or os.path.join(ROOT, "docs", "BENCHMARKS.md")
        saved["meta"]["json"] = rel(os.path.abspath(args.render))
        write_doc(output, upgrade_report(saved))
        log(f"wrote {rel(output)} from {args.render} (measured {saved['meta']['date']})")
        return 0
    log_dir = os.path.join(args.results_dir, "logs")
    os.makedirs(log_dir, exist_ok=True)
    os.makedirs(os.path.dirname(args.timing_cache), exist_ok=True)
    if args.fresh_timing_cache and os.path.exists(args.timing_cache):
        os.remove(args.timing_cache)

    started = time.time()
    if args.nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # inherited by every runner started below
        except OSError as error:
            log(f"cannot set nice {args.nice} ({error}); running at {os.getpriority(os.PRIO_PROCESS, 0)}")
    niceness = os.getpriority(os.PRIO_PROCESS, 0)
    load_start = os.getloadavg()[0]
    command = shlex.join(["/usr/bin/python3", "bench/run_benchmarks.py", *sys.argv[1:]])
    if os.environ.get("MAKELEVEL"):
        command += "`, run by `make bench"  # rendered inside backquotes: `CMD`, run by `make bench`
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    git = git_state()  # before the run: what was built and measured

    build_time_config = ("resnet50", 8)
    model_paths = ensure_models(os.path.abspath(args.models_dir),
                                sorted(set(models) | ({build_time_config[0]} if args.build_time else set())),
                                args.opset)
    calibrate = any(r in CALIBRATED_RUNNERS for r in args.runners)
    targets = (["lowp_bench"] + (["conv_kernel_bench"] if args.kernels else [])
               + (["lowp_cli"] if calibrate else []))
    binaries = ensure_bench_programs(args.build_dir, not args.no_build, targets)
    paths = {"lowp_bench": binaries["lowp_bench"], "timing_cache": args.timing_cache,
             "conv_kernel_bench": binaries.get("conv_kernel_bench"), "lowp_cli": binaries.get("lowp_cli")}
    if "ort" in args.runners or "ort-int8" in args.runners:
        paths["ort"] = ensure_ort(os.path.abspath(args.cache_dir), args.ort_version)
    cache = cmake_cache(args.build_dir)

    report = {"meta": {
        "date": date, "command": command, "quick": args.quick, "threads": args.threads, "opset": args.opset,
        "runners": args.runners, "rounds": args.rounds, "nice": niceness, "round_seconds": args.round_seconds,
        "warmup": args.warmup, "timing_cache": rel(args.timing_cache), "fresh_timing_cache": args.fresh_timing_cache,
        "machine": cpu_info(), "ort_version": None, "torch_version": None,
        "node_version": tool_version(["node", "--version"]).lstrip("v"),
        "lowp": {**git, "build_dir": rel(args.build_dir), "build_type": cache.get("CMAKE_BUILD_TYPE") or "Release by default",
                 "flags": build_flags(args.build_dir),
                 "compiler": compiler_version(cache.get("CMAKE_CXX_COMPILER", "c++")), "with_onednn": None},
        "json": rel(os.path.join(args.results_dir, "results-quick.json" if args.quick else "results.json")),
    }, "results": []}
    if calibrate:
        report["meta"]["int8"] = {"algorithm": CALIB_ALGORITHM, "batches": args.calib_batches,
                                  "batch_size": args.calib_batch_size, "seed": CALIB_SEED,
                                  "data": "standard normal float32 (numpy default_rng)", "models": {}}
    log(f"machine: {report['meta']['machine']['cpu_model']}, {report['meta']['machine']['cpus_available']} CPUs; "
        f"lowp {git['commit']}{' (dirty)' if git['uncommitted_changes'] else ''}")

    load_seen = []
    cpus = report["meta"]["machine"]["cpus_available"]
    other_shares = {}
    run_start = cpu_snapshot()

    def measured(what, step):
        """Runs step(), recording which share of the CPUs other processes took meanwhile."""
        before = cpu_snapshot()
        result = step()
        share = other_cpu_share(before, cpu_snapshot(), cpus)
        if share is not None:
            other_shares[what] = round(share, 4)
            log(f"  other processes used {100 * share:.1f}% of the CPUs' time during {what}")
        return result

    for model in models:
        model_paths_int8 = paths
        if calibrate:
            log(f"{model}: INT8 calibration ({CALIB_ALGORITHM}, {args.calib_batches} batches of "
                f"{args.calib_batch_size})")
            int8 = prepare_int8(args, model, model_paths[model], paths, log_dir)
            report["meta"]["int8"]["models"][model] = {
                k: (rel(v) if k in ("cache", "qdq") else v) for k, v in int8.items()}
            model_paths_int8 = {**paths, "int8": int8}
        for batch in batches:
            load_seen.append(os.getloadavg()[0])
            log(f"{model} batch {batch} (1-min load average {load_seen[-1]:.2f})")
            results = measured(f"{model} b{batch}",
                               lambda m=model, b=batch, p=model_paths_int8: bench_config(args, m, model_paths[m], b,
                                                                                         p, log_dir))
            for runner, key, meta_key in (("ort", "ort_version", "ort_version"),
                                          ("ort-int8", "ort_version", "ort_version"),
                                          ("torch", "torch_version", "torch_version"),
                                          ("torch", "blas_info", "torch_blas_info"),
                                          ("torch", "blas_libraries", "torch_blas_libraries")):
                ready = results.get(runner, {}).get("ready", {})
                if ready.get(key):
                    report["meta"][meta_key] = ready[key]
            for runner in args.runners:
                ready = results.get(runner, {}).get("ready", {})
                if runner in LOWP_RUNNERS and "with_onednn" in ready:
                    report["meta"]["lowp"]["with_onednn"] = ready["with_onednn"]
            summary = {r: ({k: v for k, v in res.items() if k not in ("ready",)}) for r, res in results.items()}
            for runner in summary:
                ready = results[runner].get("ready")
                if ready:
                    for key in ("load_ms", "warmup_ms", "build_s", "build_summary", "layers", "layer_precisions",
                                "conversions", "scales", "calibration_summary"):
                        if key in ready:
                            summary[runner][key] = ready[key]
            report["results"].append({"model": model, "batch": batch, "results": summary})
            line = ", ".join(f"{r} {fmt_ms(summary[r]['median_ms'])} ms" if "median_ms" in summary[r]
                             else f"{r} failed" for r in args.runners if r in summary)
            ratios = [f"{PEER_SHORT[p]}/{r} {s:.2f}" for p in PEERS for r in args.runners
                      if r in LOWP_RUNNERS and compared(p, r) and (s := speedup(summary, r, p)) is not None]
            log(f"  median: {line}" + (f"; speed-ups {', '.join(ratios)}" if ratios else ""))

    if args.build_time:
        load_seen.append(os.getloadavg()[0])
        model, batch = build_time_config
        log(f"build time: {model} batch {batch}, --best (1-min load average {load_seen[-1]:.2f})")
        report["build_time"] = measured("the build time", lambda: measure_build_times(
            args, model, model_paths[model], batch, paths, log_dir))
    if args.kernels:
        load_seen.append(os.getloadavg()[0])
        log(f"conv_kernel_bench (1-min load average {load_seen[-1]:.2f})")
        report["kernels"] = measured("conv_kernel_bench", lambda: run_kernel_bench(args, paths, log_dir))

    report["meta"]["wall_s"] = round(time.time() - started, 1)
    report["meta"]["loadavg_1min"] = {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2),
                                      "max_between_configs": round(max(load_seen + [load_start]), 2)}
    total = other_cpu_share(run_start, cpu_snapshot(), cpus)
    if total is not None:
        report["meta"]["other_cpu"] = {"run": round(total, 4), "max": max(other_shares.values(), default=0.0),
                                       "steps": other_shares}
    json_path = os.path.join(ROOT, report["meta"]["json"])
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    write_doc(output, report)
    sys.stdout.write(render_results(report))
    log(f"wrote {rel(output)} and {rel(json_path)} in {report['meta']['wall_s']:.0f} s")
    failed = any("median_ms" not in r for e in report["results"] for r in e["results"].values())
    failed |= "error" in report.get("build_time", {}) or "error" in report.get("kernels", {})
    failed |= any("error" in r for r in report.get("kernels", {}).get("results", []))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
