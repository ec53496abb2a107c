// ort_bench.js: times ONNX Runtime (CPU execution provider, from the npm package onnxruntime-node) on one model.
//
//   node bench/ort_bench.js --ort DIR --onnx MODEL --batch N [--threads T] [--warmup W] [--runner NAME]
//                           [--optimized-model FILE] (--iters I | --serve)
//
// DIR is the folder that holds node_modules/onnxruntime-node and node_modules/onnxruntime-common (unpacked
// from their npm tarballs by bench/run_benchmarks.py, without running install scripts). Session options:
// intraOpNumThreads T (default 2), interOpNumThreads 1, sequential execution, all graph optimizations.
// Output and --serve protocol are those of lowp_bench: one JSON object; or {"ready":true,...} followed by
// {"times_ms":[...]} for every line "K" read on stdin.
//
// --runner names the runner in the JSON ("ort" by default; the harness says "ort-int8" for a QDQ model).
// --optimized-model FILE makes ONNX Runtime write the graph it runs, after its optimizations (QDQ fusions into
// QLinearConv / MatMulInteger ..., layout transforms), to FILE: the way to see what a model really runs as.
'use strict';

const path = require('path');
const readline = require('readline');

function usage(error) {
  process.stderr.write(`ort_bench: ${error}\nusage: node ort_bench.js --ort DIR --onnx MODEL [--batch N] ` +
                       '[--threads T] [--warmup W] [--runner NAME] [--optimized-model FILE] ' +
                       '(--iters I | --serve)\n');
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    ort: null, onnx: null, batch: 1, threads: 2, warmup: 3, iters: 10, serve: false, seed: 0, runner: 'ort',
    optimizedModel: null,
  };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`option ${arg} needs a value`);
      return argv[++i];
    };
    const int = () => {
      const text = value();
      if (!/^-?\d+$/.test(text)) usage(`option ${arg}: not an integer: '${text}'`);
      return parseInt(text, 10);
    };
    if (arg === '--ort') options.ort = value();
    else if (arg === '--onnx') options.onnx = value();
    else if (arg === '--batch') options.batch = int();
    else if (arg === '--threads') options.threads = int();
    else if (arg === '--warmup') options.warmup = int();
    else if (arg === '--iters') options.iters = int();
    else if (arg === '--seed') options.seed = int();
    else if (arg === '--serve') options.serve = true;
    else if (arg === '--runner') options.runner = value();
    else if (arg === '--optimized-model') options.optimizedModel = value();
    else usage(`unknown option '${arg}'`);
  }
  if (!options.ort) usage('--ort is required');
  if (!options.onnx) usage('--onnx is required');
  if (options.batch < 1) usage('--batch must be at least 1');
  return options;
}

// A small seeded generator (mulberry32), so inputs are reproducible.
function makeRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeFeeds(ort, session, batch, seed) {
  const random = makeRandom(seed);
  const feeds = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) throw new Error(`input '${meta.name}' is not a tensor`);
    if (meta.type !== 'float32') throw new Error(`input '${meta.name}' is ${meta.type}, not float32`);
    const dims = meta.shape.map((d, i) => {
      if (typeof d === 'number' && d >= 0) return d;
      if (i !== 0) throw new Error(`input '${meta.name}' has a dynamic dimension other than the first`);
      return batch;
    });
    const count = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    for (let i = 0; i < count; ++i) data[i] = 2 * random() - 1;
    feeds[meta.name] = new ort.Tensor('float32', data, dims);
  }
  return feeds;
}

function msSince(start) {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function timeRuns(session, feeds, count) {
  const times = [];
  for (let i = 0; i < count; ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(msSince(start));
  }
  return times;
}

const round = (x) => Math.round(x * 10000) / 10000;

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const ort = require(path.resolve(options.ort, 'node_modules', 'onnxruntime-node'));
  const loadStart = process.hrtime.bigint();
  const sessionOptions = {
    executionProviders: ['cpu'],
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  if (options.optimizedModel) sessionOptions.optimizedModelFilePath = path.resolve(options.optimizedModel);
  const session = await ort.InferenceSession.create(path.resolve(options.onnx), sessionOptions);
  const loadMs = msSince(loadStart);
  const feeds = makeFeeds(ort, session, options.batch, options.seed);
  const warmupTimes = await timeRuns(session, feeds, options.warmup);
  const common = {
    runner: options.runner, ort_version: ort.env.versions.node, model: options.onnx, batch: options.batch,
    threads: options.threads, load_ms: round(loadMs), warmup: options.warmup, warmup_ms: warmupTimes.map(round),
  };

  if (options.serve) {
    process.stdout.write(JSON.stringify({ready: true, ...common}) + '\n');
    const lines = readline.createInterface({input: process.stdin, terminal: false});
    for await (const line of lines) {
      if (line.trim() === 'quit') break;
      const count = parseInt(line, 10);
      if (!(count >= 1)) {
        process.stdout.write(JSON.stringify({error: `expected a positive count, got '${line}'`}) + '\n');
        continue;
      }
      const times = await timeRuns(session, feeds, count);
      process.stdout.write(JSON.stringify({times_ms: times.map(round)}) + '\n');
    }
    await session.release();
    return;
  }

  const times = await timeRuns(session, feeds, options.iters);
  const sorted = [...times].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  process.stdout.write(JSON.stringify({
    ...common, iters: n, median_ms: round(median), min_ms: round(sorted[0]),
    mean_ms: round(times.reduce((a, b) => a + b, 0) / n), max_ms: round(sorted[n - 1]), times_ms: times.map(round),
  }) + '\n');
  await session.release();
}

main().catch((error) => {
  process.stderr.write(`ort_bench: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
