#!/usr/bin/env node
// ONNX Runtime (the npm package onnxruntime-node, CPU provider) on one ONNX
// file, for bench/peers.py. One process = one measurement: load the model with
// T intra-op threads, run --warmup untimed and --repeat timed inferences on the
// input .npy, print ONE JSON object on stdout (the times, the output's shape
// and checksums, this process's peak RSS from /proc/self/status) and, with
// --output, write the first output as a float32 .npy for the agreement check.
//
//   node bench/peers_ort.js --model M.onnx --input X.npy --threads T
//        [--repeat N] [--warmup W] [--output Y.npy] [--profile PREFIX]
//
// --profile writes ONNX Runtime's own trace of every run to PREFIX_<date>.json
// (events with cat "Node" and a name ending in "_kernel_time" give each node's
// time): the per-node side of a comparison with mafat-run --profile.
//
// NODE_PATH or --ort-dir names the node_modules holding onnxruntime-node
// (bench/peers.py installs it into bench/.peers/ and passes --ort-dir).
'use strict';

const fs = require('fs');
const path = require('path');

function parseArgs(argv) {
  const a = {repeat: 10, warmup: 2, threads: 1, output: null, ortDir: null, profile: null};
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--model') a.model = v();
    else if (k === '--input') a.input = v();
    else if (k === '--output') a.output = v();
    else if (k === '--threads') a.threads = parseInt(v(), 10);
    else if (k === '--repeat') a.repeat = parseInt(v(), 10);
    else if (k === '--warmup') a.warmup = parseInt(v(), 10);
    else if (k === '--ort-dir') a.ortDir = v();
    else if (k === '--profile') a.profile = v();
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.model || !a.input) throw new Error('--model and --input are required');
  if (!(a.threads >= 1) || !(a.repeat >= 1) || !(a.warmup >= 0)) throw new Error('bad --threads/--repeat/--warmup');
  return a;
}

// A C-order little-endian float32 .npy (what numpy.save writes for '<f4').
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.readUInt32BE(0) !== 0x934e554d || buf.toString('latin1', 4, 6) !== 'PY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) {
    throw new Error(`${file}: want a C-order '<f4' array, header ${header.trim()}`);
  }
  const m = /'shape':\s*\(([^)]*)\)/.exec(header);
  const shape = m[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(count);  // a copy: the file's data offset need not be 4-aligned
  Buffer.from(data.buffer).set(buf.subarray(hstart + hlen, hstart + hlen + 4 * count));
  return {shape, data};
}

function writeNpy(file, shape, data) {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt32BE(0x934e554d, 0);
  pre.write('PY', 4, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const f32 = Float32Array.from(data);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(f32.buffer)]));
}

function peakRssBytes() {
  const m = /VmHWM:\s*(\d+)\s*kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : -1;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ortPath = a.ortDir ? path.join(path.resolve(a.ortDir), 'onnxruntime-node') : 'onnxruntime-node';
  const ort = require(ortPath);
  const version = JSON.parse(fs.readFileSync(require.resolve(path.join(ortPath, 'package.json')), 'utf8')).version;

  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,  // sequential mode: the graph runs on one inter-op thread, ops on T intra-op threads
    ...(a.profile ? {enableProfiling: true, profileFilePrefix: a.profile} : {}),
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (session.inputNames.length !== 1) throw new Error(`want one model input, got ${session.inputNames}`);
  const x = readNpy(a.input);
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape)};
  const outName = session.outputNames[0];

  let out = null;
  for (let i = 0; i < a.warmup; ++i) out = await session.run(feeds);
  const times = [];
  for (let i = 0; i < a.repeat; ++i) {
    const s = process.hrtime.bigint();
    out = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  const y = out[outName];
  let sum = 0;
  let absmax = 0;
  for (const v of y.data) {
    sum += v;
    absmax = Math.max(absmax, Math.abs(v));
  }
  if (a.output) writeNpy(a.output, y.dims, y.data);
  process.stdout.write(JSON.stringify({
    engine: 'onnxruntime-node', ort_version: version, threads: a.threads, load_ms: loadMs,
    times_ms: times, output: {name: outName, shape: y.dims, sum, absmax},
    peak_rss_bytes: peakRssBytes(), peak_rss_source: 'VmHWM',
  }) + '\n');
  if (a.profile) session.endProfiling();
  await session.release();
}

main().catch((e) => {
  process.stderr.write(`peers_ort.js: error: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
