'use strict';
// ONNX Runtime column of dolor's benchmark: inference of the exported U-Net (tools/export_onnx.py)
// on a random [1,1,256,256] input with the CPU execution provider, intraOpNumThreads =
// OMP_NUM_THREADS (or 2). Two warm-up runs (as bench_nn.c and bench_torch_unet.py), then ITERS
// timed runs; prints the median and minimum wall time and the mean process CPU time per run in the
// format of bench/bench_nn.c, the label matching dolor's so bench/run.sh can compute the ratio.
// Usage: node bench.js MODEL.onnx [ITERS (30)] [N,C,[D,]H,W (1,1,256,256)] [MAX_SECONDS]
// With MAX_SECONDS, timing stops once that many seconds of timed runs have passed (at least 1 run),
// and a second line "RESULT median_ms M min_ms M cpu_ms M runs R" follows, for bench/bench_table.py.
const { ort, threads, openSession, version } = require('./common');

const WARMUP = 2;

// Deterministic standard normal input (xorshift32 + Box-Muller), like torch.randn in the twins.
function randn(n, seed) {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const a = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())), t = 2 * Math.PI * u();
    a[i] = r * Math.cos(t);
    if (i + 1 < n) a[i + 1] = r * Math.sin(t);
  }
  return a;
}

// Same columns as bench_nn.c and bench_torch_unet.py (printf "%-32s median %8.1f ms   min %8.1f ms
// cpu %8.1f ms/run   (%d runs)"): bench/run.sh reads the value by its position from the end of the line.
function report(label, t, cpu) {
  t.sort((a, b) => a - b);
  const f = (v) => v.toFixed(1).padStart(8);
  console.log(`${label.padEnd(32)} median ${f(t[Math.floor(t.length / 2)])} ms   min ${f(t[0])} ms   ` +
              `cpu ${f(cpu / t.length)} ms/run   (${t.length} runs)`);
}

async function main() {
  const model = process.argv[2];
  const iters = process.argv[3] === undefined ? 30 : parseInt(process.argv[3], 10);
  const shape = process.argv[4] === undefined ? [1, 1, 256, 256] : process.argv[4].split(',').map((v) => parseInt(v, 10));
  const maxS = process.argv[5] === undefined ? Infinity : parseFloat(process.argv[5]);
  if (!model || !Number.isFinite(iters) || iters < 1 || shape.some((v) => !(v >= 1)) || !(maxS > 0)) {
    console.error('usage: node bench.js MODEL.onnx [ITERS >= 1] [N,C,[D,]H,W] [MAX_SECONDS]');
    process.exit(2);
  }
  const session = await openSession(model);
  const name = session.inputNames[0];
  const x = new ort.Tensor('float32', randn(shape.reduce((a, b) => a * b, 1), 42), shape);
  console.log(`onnxruntime-node ${version()}, CPU execution provider, intra-op threads ${threads()}, ${model}`);
  const t = [];
  let cpu = 0, spent = 0;
  for (let it = 0; it < WARMUP + iters; it++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const out = await session.run({ [name]: x });
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    const dc = process.cpuUsage(c0);
    if (it === 0) {
      const y = out[session.outputNames[0]];
      // a segmenter's one output has the input's spatial size; a multi-output head (YOLOv8's maps) only its batch
      const seg = y.dims.length === shape.length && session.outputNames.length === 1;
      if (y.dims[0] !== shape[0] || (seg && y.dims.slice(2).some((d, i) => d !== shape[2 + i]))) {
        console.error(`unexpected output shape [${y.dims}]`);
        process.exit(1);
      }
    }
    if (it >= WARMUP) {
      t.push(dt);
      cpu += (dc.user + dc.system) / 1e3;
      spent += dt / 1e3;
      if (spent > maxS) break;
    }
  }
  report(`inference [${shape}]`, t, cpu);
  if (Number.isFinite(maxS)) {
    console.log(`RESULT median_ms ${t[Math.floor(t.length / 2)].toFixed(3)} min_ms ${t[0].toFixed(3)} ` +
                `cpu_ms ${(cpu / t.length).toFixed(3)} runs ${t.length}`);
  }
}

main().catch((e) => {
  console.error(`bench.js: ${e.message}`);
  process.exit(1);
});
