'use strict';
// Runs an ONNX model once on a raw float32 (little-endian) input and writes the first output as raw
// float32. Used by tools/export_onnx.py --check to compare ONNX Runtime with PyTorch.
// Usage: node check.js MODEL.onnx INPUT.bin N,C,H,W OUTPUT.bin
// With OUTPUT a folder ending in '/' (created if missing) it writes EVERY output, as OUTPUT/<k>.bin in the
// model's output order, and prints one line per output: "output K NAME D0,D1,..." (tests/test_nn_onnx.c).
const fs = require('fs');
const { ort, openSession } = require('./common');

async function main() {
  const [model, input, shapeArg, output] = process.argv.slice(2);
  if (!output) {
    console.error('usage: node check.js MODEL.onnx INPUT.bin N,C,H,W OUTPUT.bin');
    process.exit(2);
  }
  const shape = shapeArg.split(',').map((s) => parseInt(s, 10));
  const buf = fs.readFileSync(input);
  const count = shape.reduce((a, b) => a * b, 1);
  if (buf.length !== 4 * count) {
    console.error(`${input}: ${buf.length} bytes, expected ${4 * count} for shape [${shape}]`);
    process.exit(2);
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = buf.readFloatLE(4 * i);
  const session = await openSession(model);
  const res = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, shape) });
  const all = output.endsWith('/');
  if (all) fs.mkdirSync(output, { recursive: true });
  const names = all ? session.outputNames : [session.outputNames[0]];
  names.forEach((name, k) => {
    const y = res[name];
    const out = Buffer.alloc(4 * y.data.length);
    for (let i = 0; i < y.data.length; i++) out.writeFloatLE(y.data[i], 4 * i);
    fs.writeFileSync(all ? `${output}${k}.bin` : output, out);
    if (all) console.log(`output ${k} ${name} ${y.dims.join(',')}`);
  });
}

main().catch((e) => {
  console.error(`check.js: ${e.message}`);
  process.exit(1);
});
