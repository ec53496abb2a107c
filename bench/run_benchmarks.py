#!/usr/bin/python3
"""Run lowp, ONNX Runtime (CPU) and PyTorch eager side by side and write docs/BENCHMARKS.md.

usage: /usr/bin/python3 bench/run_benchmarks.py [--quick] [options]

For every model and batch size this starts three long-lived workers, each of which loads the model once
and warms up:

    lowp     build-bench/bench/lowp_bench        (ExecutionContext::execute, public API only)
    ORT      node bench/ort_bench.js             (npm onnxruntime-node, CPU execution provider)
    PyTorch  /usr/bin/python3 bench/torch_bench.py (eager, torch.inference_mode())

and then times them INTERLEAVED: in each of several rounds every worker in turn (the order rotates from round
to round) runs a block of timed executions while the others sit idle, so slow drifts of the machine (other
processes, frequency, thermal) hit all three alike. Only one worker computes at any time. Each reports the
median of all its timed executions; the ratios are lowp's median over each peer's.

lowp and ORT run the same ONNX file (tests/models/export_models.py, opset 17); PyTorch runs the module that
file was exported from (export_models.build(), same seeds, same shapes). All use --threads threads.

Everything the script needs and lacks it makes: the models (export_models.py into --models-dir), the ONNX
Runtime npm packages (`npm pack` into --cache-dir, unpacked without running any install script), and
lowp_bench (`cmake --build BUILD --target lowp_bench`). A full run takes about 10 to 15 minutes on 2 cores;
--quick is a smoke run (about 2 minutes) that writes its table to build/bench-results/ instead of docs/.
"""

import argparse
import datetime
import json
import os
import platform
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
RUNNERS = ("lowp", "ort", "torch")
RUNNER_LABELS = {"lowp": "lowp", "ort": "ONNX Runtime", "torch": "PyTorch"}

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


def ensure_lowp_bench(build_dir, build):
    binary = os.path.join(build_dir, "bench", "lowp_bench")
    if build:
        if not os.path.exists(os.path.join(build_dir, "build.ninja")):
            subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, "-G", "Ninja"], check=True, cwd=ROOT)
        log(f"cmake --build {rel(build_dir)} --target lowp_bench")
        subprocess.run(["cmake", "--build", build_dir, "-j", str(os.cpu_count() or 2), "--target", "lowp_bench"],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    if not os.path.exists(binary):
        raise SystemExit(f"run_benchmarks: {rel(binary)} does not exist (build it, or drop --no-build)")
    return binary


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


def worker_command(runner, args, model, model_path, batch, paths):
    common = ["--batch", str(batch), "--threads", str(args.threads), "--warmup", str(args.warmup), "--serve"]
    if runner == "lowp":
        return [paths["lowp_bench"], "--onnx", model_path, *common]
    if runner == "ort":
        return ["node", os.path.join(BENCH, "ort_bench.js"), "--ort", paths["ort"], "--onnx", model_path, *common]
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
    """Times the three runners on one (model, batch), interleaved. Returns {runner: result}."""
    results = {}
    workers = {}
    try:
        for runner in RUNNERS:
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
# Report.


def fmt_ms(value):
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def ratio(results, a, b):
    ra, rb = results.get(a, {}), results.get(b, {})
    if "median_ms" in ra and "median_ms" in rb:
        return ra["median_ms"] / rb["median_ms"]
    return None


def render_results(report):
    meta = report["meta"]
    machine = meta["machine"]
    lines = [RESULTS_BEGIN, "", "## Results", ""]
    lowp_state = meta["lowp"]
    commit = lowp_state["commit"] + (" with uncommitted changes" if lowp_state["uncommitted_changes"] else "")
    kernels = ("reference FP32 kernels plus the oneDNN kernels (built with LOWP_WITH_ONEDNN=1)"
               if lowp_state["with_onednn"] else "reference FP32 kernels (built without oneDNN)")
    cores = f"{machine['cpus_available']} CPUs available"
    if machine.get("physical_cores"):
        cores += f" ({machine['logical_cpus']} logical, {machine['physical_cores']} physical cores)"
    lines += [
        f"Measured {meta['date']} by `{meta['command']}`{' (quick smoke run)' if meta['quick'] else ''}.",
        "",
        f"- Machine: {machine['cpu_model']}, {cores}, {machine['memory_gib']} GiB; "
        f"ISA: {', '.join(machine['isa']) or 'none of AVX2/AVX-512/AMX'}; {machine['os']}, Linux {machine['kernel']}.",
        f"- lowp: commit {commit}, build `{lowp_state['build_dir']}` ({lowp_state['build_type']}, "
        f"{lowp_state['flags']}, {lowp_state['compiler']}); {kernels}; FP32.",
        f"- ONNX Runtime {meta['ort_version']} (npm `onnxruntime-node`, CPU execution provider), Node.js "
        f"{meta['node_version']}; intraOpNumThreads {meta['threads']}, interOpNumThreads 1, sequential, "
        "graph optimization level all.",
        f"- PyTorch {meta['torch_version']} eager (Debian `python3-torch`), torch.set_num_threads({meta['threads']}), "
        f"`torch.inference_mode()`; built with BLAS_INFO={meta.get('torch_blas_info') or 'unknown'}, BLAS library "
        f"loaded: {', '.join('`' + b + '`' for b in meta.get('torch_blas_libraries') or []) or 'none found'}"
        + (" (the unoptimised netlib reference BLAS of Debian's `libblas3`, on which its matrix products run: "
           "Linear layers and attention are slow for that reason)" if any("/blas/libblas" in b for b in
                                                                        meta.get('torch_blas_libraries') or [])
           else "") + ".",
        f"- Protocol: {meta['threads']} threads each; models exported at opset {meta['opset']} by "
        "`tests/models/export_models.py` (random seeded weights); random inputs. "
        f"{meta['warmup']} warm-up run{'s' if meta['warmup'] != 1 else ''} each, then up to {meta['rounds']} "
        f"interleaved rounds, each giving every runner about {meta['round_seconds']:g} s (at least one run; "
        "the count follows the runner's speed in its previous round); "
        "the order rotates from round to round."
        + (f" All runners ran at nice {meta['nice']}, ahead of other processes." if meta.get("nice", 0) < 0 else ""),
        f"- Load: 1-minute load average {meta['loadavg_1min']['start']:g} at the start, "
        f"{meta['loadavg_1min']['end']:g} at the end, at most {meta['loadavg_1min']['max_between_configs']:g} "
        f"between configurations, on {machine['cpus_available']} CPUs"
        + (" (other processes were competing for the CPUs: expect a long tail of slow runs in every runner, "
           "and more noise in longer runs)." if meta['loadavg_1min']['max_between_configs'] > machine['cpus_available'] * 0.75
           else "."),
        "",
        "Median latency per inference call (milliseconds; lower is better). A ratio below 1 means lowp is faster.",
        "",
        "| model | input | batch | lowp (ms) | ONNX Runtime (ms) | PyTorch (ms) | lowp / ORT | lowp / PyTorch |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    failures = []
    for entry in report["results"]:
        res = entry["results"]
        cells = []
        for runner in RUNNERS:
            r = res.get(runner, {})
            if "median_ms" in r:
                cells.append(fmt_ms(r["median_ms"]))
            else:
                cells.append("failed")
                failures.append(f"{MODEL_LABELS.get(entry['model'], entry['model'])}, batch {entry['batch']}, "
                                f"{RUNNER_LABELS[runner]}: {r.get('error', 'no measurement')}")
        ratios = [ratio(res, "lowp", "ort"), ratio(res, "lowp", "torch")]
        cells += [f"{x:.2f}" if x is not None else "–" for x in ratios]
        lines.append(f"| {MODEL_LABELS.get(entry['model'], entry['model'])} | {MODEL_INPUTS.get(entry['model'], '')} "
                     f"| {entry['batch']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Spread: minimum and interquartile range (p25–p75) of all timed runs, how many runs (n) each median is of, "
        "and the ratios of the minima (the fastest run each runner managed: less sensitive to other load).",
        "",
        "| model | batch | rounds | lowp min · p25–p75 (n) | ONNX Runtime min · p25–p75 (n) | "
        "PyTorch min · p25–p75 (n) | lowp / ORT, minima | lowp / PyTorch, minima |",
        "|---|---:|---:|---|---|---|---:|---:|",
    ]
    for entry in report["results"]:
        cells = []
        for runner in RUNNERS:
            r = entry["results"].get(runner, {})
            if "median_ms" in r:
                cells.append(f"{fmt_ms(r['min_ms'])} · {fmt_ms(r['p25_ms'])}–{fmt_ms(r['p75_ms'])} ({r['n']})")
            else:
                cells.append("failed")
        res = entry["results"]
        for peer in ("ort", "torch"):
            if "min_ms" in res.get("lowp", {}) and "min_ms" in res.get(peer, {}):
                cells.append(f"{res['lowp']['min_ms'] / res[peer]['min_ms']:.2f}")
            else:
                cells.append("–")
        rounds = max((r.get("rounds", 0) for r in entry["results"].values()), default=0)
        lines.append(f"| {MODEL_LABELS.get(entry['model'], entry['model'])} | {entry['batch']} | {rounds} | "
                     + " | ".join(cells) + " |")
    if failures:
        lines += ["", "Failures (no number is quoted for these):", ""]
        lines += [f"- {f}" for f in failures]
    lines += ["", f"Raw timings: `{meta['json']}` (not committed; rerun to regenerate).", "", RESULTS_END]
    return "\n".join(lines) + "\n"


DOC_HEADER = """# Benchmarks

lowp is measured side by side with its peers, in one run, on one machine, by `bench/run_benchmarks.py`:
the project quotes no number it did not measure, and every number below comes from the run it names.

    make bench                                    # builds build-bench/ (lowp_bench only) and runs the full set
    /usr/bin/python3 bench/run_benchmarks.py      # the same, after the build
    /usr/bin/python3 bench/run_benchmarks.py --quick   # smoke run, table in build/bench-results/

What runs:

| runner | program | what it times |
|---|---|---|
| lowp | `bench/lowp_bench.cpp` (target `lowp_bench`, public API only) | `ExecutionContext::execute` |
| ONNX Runtime | `bench/ort_bench.js` on the npm package `onnxruntime-node` (CPU execution provider) | `InferenceSession.run` |
| PyTorch | `bench/torch_bench.py` on Debian's `python3-torch` (eager) | `model(x)` under `torch.inference_mode()` |

lowp and ONNX Runtime load the same ONNX file written by `tests/models/export_models.py`; PyTorch runs the
very module that file was exported from (`export_models.build()`: same architecture, seeds and shapes).
Each runner is a long-lived process that loads its model once, warms up, and then answers "run K times"
requests. The harness interleaves them: in every round each runner in turn runs a block of timed runs (about
`--round-seconds` of work, at most `--max-per-round` runs) while the other two sit idle, and the order rotates
from round to round, so slow drifts of the machine hit all three alike. Reported: the median of all timed runs of each runner, and lowp's median divided by each peer's.
Load time and warm-up runs are not counted. Inputs are random (uniform in [-1, 1]); the timings do not depend
on the values. The ONNX Runtime packages are fetched with `npm pack` into `build/bench-cache/` and unpacked
without running their install scripts. Per-runner logs go to `build/bench-results/logs/`.

The harness raises its own priority and its runners' to nice -10 (`--nice`) when it may, so that other work on
the machine disturbs the measurement less; whatever load remains is reported with the results (1-minute load
averages), and it shows as a long tail of slow runs: the medians and minima below are robust to it, the means
would not be. Every run is capped: after three rounds, no round starts that would take one configuration past
`--config-seconds` (150 s).

Options of `bench/run_benchmarks.py`: `--models`, `--batches`, `--threads`, `--rounds`, `--round-seconds`,
`--warmup`, `--nice`, `--build-dir`, `--ort-version`, `--output`, `--quick`, `--render RESULTS_JSON` (rewrite
the page from a saved run without measuring), see `--help`. `make bench BENCH_ARGS=--quick` passes options.

"""


def write_doc(path, report):
    results = render_results(report)
    existing = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            existing = f.read()
    if existing and RESULTS_BEGIN in existing and RESULTS_END in existing:
        before = existing.split(RESULTS_BEGIN, 1)[0]
        after = existing.split(RESULTS_END, 1)[1].lstrip("\n")
        text = before + results + (("\n" + after) if after else "")
    else:
        text = DOC_HEADER + results
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# ---------------------------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="resnet50,mobilenet_v2,encoder",
                        help="comma-separated subset of " + ",".join(MODEL_LABELS))
    parser.add_argument("--batches", default=None, help="comma-separated batch sizes (default 1,8; --quick: 1)")
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
    parser.add_argument("--timeout", type=float, default=600, help="seconds a worker may take for one answer")
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--no-build", action="store_true", help="use the existing lowp_bench, do not rebuild it")
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
    models = args.models.split(",")
    unknown = sorted(set(models) - set(MODEL_LABELS))
    if unknown:
        parser.error("unknown model(s): " + ",".join(unknown))
    try:
        batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        parser.error(f"--batches: not a list of integers: {args.batches}")
    if args.rounds < 1 or args.round_seconds <= 0 or args.threads < 1 or args.warmup < 0:
        parser.error("--rounds, --round-seconds and --threads must be positive, --warmup not negative")
    args.build_dir = os.path.abspath(args.build_dir)
    args.results_dir = os.path.abspath(args.results_dir)
    output = args.output or (os.path.join(args.results_dir, "BENCHMARKS-quick.md") if args.quick
                             else os.path.join(ROOT, "docs", "BENCHMARKS.md"))
    if args.render:
        with open(args.render, encoding="utf-8") as f:
            saved = json.load(f)
        output = args.output or os.path.join(ROOT, "docs", "BENCHMARKS.md")
        write_doc(output, saved)
        log(f"wrote {rel(output)} from {args.render} (measured {saved['meta']['date']})")
        return 0
    log_dir = os.path.join(args.results_dir, "logs")
    os.makedirs(log_dir, exist_ok=True)

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

    model_paths = ensure_models(os.path.abspath(args.models_dir), models, args.opset)
    paths = {"ort": ensure_ort(os.path.abspath(args.cache_dir), args.ort_version),
             "lowp_bench": ensure_lowp_bench(args.build_dir, not args.no_build)}
    cache = cmake_cache(args.build_dir)

    report = {"meta": {
        "date": date, "command": command, "quick": args.quick, "threads": args.threads, "opset": args.opset,
        "rounds": args.rounds, "nice": niceness, "round_seconds": args.round_seconds, "warmup": args.warmup,
        "machine": cpu_info(), "ort_version": None, "torch_version": None,
        "node_version": tool_version(["node", "--version"]).lstrip("v"),
        "lowp": {**git, "build_dir": rel(args.build_dir), "build_type": cache.get("CMAKE_BUILD_TYPE") or "Release by default",
                 "flags": build_flags(args.build_dir),
                 "compiler": compiler_version(cache.get("CMAKE_CXX_COMPILER", "c++")), "with_onednn": None},
        "json": rel(os.path.join(args.results_dir, "results-quick.json" if args.quick else "results.json")),
    }, "results": []}
    log(f"machine: {report['meta']['machine']['cpu_model']}, {report['meta']['machine']['cpus_available']} CPUs; "
        f"lowp {git['commit']}{' (dirty)' if git['uncommitted_changes'] else ''}")

    load_seen = []
    for model in models:
        for batch in batches:
            load_seen.append(os.getloadavg()[0])
            log(f"{model} batch {batch} (1-min load average {load_seen[-1]:.2f})")
            results = bench_config(args, model, model_paths[model], batch, paths, log_dir)
            for runner, key, meta_key in (("ort", "ort_version", "ort_version"),
                                          ("torch", "torch_version", "torch_version"),
                                          ("torch", "blas_info", "torch_blas_info"),
                                          ("torch", "blas_libraries", "torch_blas_libraries")):
                ready = results.get(runner, {}).get("ready", {})
                if ready.get(key):
                    report["meta"][meta_key] = ready[key]
            ready = results.get("lowp", {}).get("ready", {})
            if "with_onednn" in ready:
                report["meta"]["lowp"]["with_onednn"] = ready["with_onednn"]
            summary = {r: ({k: v for k, v in res.items() if k not in ("ready",)}) for r, res in results.items()}
            for runner in summary:
                if "ready" in results[runner]:
                    summary[runner]["load_ms"] = results[runner]["ready"].get("load_ms")
                    summary[runner]["warmup_ms"] = results[runner]["ready"].get("warmup_ms")
            report["results"].append({"model": model, "batch": batch, "results": summary})
            line = ", ".join(f"{r} {fmt_ms(summary[r]['median_ms'])} ms" if "median_ms" in summary[r]
                             else f"{r} failed" for r in RUNNERS if r in summary)
            r_ort, r_torch = ratio(summary, "lowp", "ort"), ratio(summary, "lowp", "torch")
            log(f"  median: {line}" + (f"; lowp/ORT {r_ort:.2f}" if r_ort else "")
                + (f", lowp/PyTorch {r_torch:.2f}" if r_torch else ""))

    report["meta"]["wall_s"] = round(time.time() - started, 1)
    report["meta"]["loadavg_1min"] = {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2),
                                      "max_between_configs": round(max(load_seen + [load_start]), 2)}
    json_path = os.path.join(ROOT, report["meta"]["json"])
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    write_doc(output, report)
    sys.stdout.write(render_results(report))
    log(f"wrote {rel(output)} and {rel(json_path)} in {report['meta']['wall_s']:.0f} s")
    failed = any("median_ms" not in r for e in report["results"] for r in e["results"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
