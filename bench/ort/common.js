'use strict';
// Shared by bench.js and check.js: load onnxruntime-node and open a CPU session the same way.
let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  console.error('onnxruntime-node is not installed: run `ONNXRUNTIME_NODE_INSTALL=skip npm install` in bench/ort (' +
                e.message.split('\n')[0] + ')');
  process.exit(3);
}

// intra-op threads: OMP_NUM_THREADS (what bench/run.sh exports for dolor and PyTorch) or 2.
function threads() {
  const n = parseInt(process.env.OMP_NUM_THREADS || '', 10);
  return Number.isFinite(n) && n > 0 ? n : 2;
}

async function openSession(path) {
  return ort.InferenceSession.create(path, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

function version() {
  try {
    return require('onnxruntime-node/package.json').version;
  } catch (e) {
    return '?';
  }
}

module.exports = { ort, threads, openSession, version };
