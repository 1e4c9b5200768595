#!/usr/bin/env bash
# dolor export --onnx: a checkpoint of a tiny trained U-Net and an untrained registry net written as ONNX models;
# bad input exits 2 with a clear message and writes nothing. The numerical agreement with ONNX Runtime is
# tests/test_nn_onnx.c (ctest test_nn_onnx_ort); here, with python3-onnx, the file's input shape and its
# initializer names are checked against the checkpoint's safetensors header.
set -u
. "$(dirname "$0")/lib.sh" cli_export

no_tmp_files() {
  if find "$1" -name '.*tmp*' 2>/dev/null | grep -q .; then bad "temporary files left in $1"; else ok; fi
}

"$BIN" phantom -o "$T/ph" -n 8 --size 64 --seed 5 >/dev/null 2>&1 || bad "phantom failed"
if "$BIN" train --data "$T/ph" --classes nerve,vessel --labels 1,2 -o "$T/run" --size 32 --base 4 --depth 2 \
     --epochs 1 --batch 4 --quiet > "$T/train.log" 2>&1; then ok; else bad "train failed: $(tail -5 "$T/train.log")"; fi
ckpt="$T/run/best.safetensors"

# --- a checkpoint: the default shape is 1 and its network input size ---
if "$BIN" export --onnx "$T/m.onnx" --model "$ckpt" > "$T/e1.log" 2>&1; then ok; else bad "export failed: $(cat "$T/e1.log")"; fi
grep -q 'input "image" \[1, 1, 32, 32\], outputs logits' "$T/e1.log" && ok || bad "export line: $(cat "$T/e1.log")"
[[ -s "$T/m.onnx" ]] && ok || bad "no model written"
if "$BIN" export --onnx "$T/m2.onnx" -m "$ckpt" --shape 2,1,64,48 > "$T/e2.log" 2>&1 &&
   grep -q '\[2, 1, 64, 48\]' "$T/e2.log"; then ok; else bad "export --shape: $(cat "$T/e2.log")"; fi
no_tmp_files "$T"

if /usr/bin/python3 -c 'import onnx' >/dev/null 2>&1; then
  if /usr/bin/python3 - "$T/m.onnx" "$ckpt" > "$T/py.log" 2>&1 <<'EOF'
import json, struct, sys
import onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
assert m.graph.input[0].name == "image" and dims == [1, 1, 32, 32], (m.graph.input[0].name, dims)
assert [o.name for o in m.graph.output] == ["logits"], [o.name for o in m.graph.output]
with open(sys.argv[2], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
names = [k for k in header if k != "__metadata__" and not k.startswith("optimizer.")]
inits = [t.name for t in m.graph.initializer]
assert sorted(inits) == sorted(names), (set(inits) ^ set(names))
meta = {p.key: p.value for p in m.metadata_props}
assert meta["dolor_architecture"] == "unet", meta
print("ok", len(inits), "initializers named as the checkpoint's tensors")
EOF
  then ok; else bad "the exported model does not match the checkpoint: $(cat "$T/py.log")"; fi
else
  skip "python3-onnx absent: the model's names and shapes are not read back here"
fi

# --- an untrained registry net ---
if "$BIN" export --onnx "$T/r.onnx" --arch resnet --arch-opt depth=10,width=4,in_channels=1,num_classes=3 --seed 7 \
     --shape 1,1,32,32 > "$T/e3.log" 2>&1; then ok; else bad "export --arch failed: $(cat "$T/e3.log")"; fi
cmp -s "$T/r.onnx" /dev/null && bad "empty model" || ok
"$BIN" export --onnx "$T/r2.onnx" --arch resnet --arch-opt depth=10,width=4,in_channels=1,num_classes=3 --seed 7 \
  --shape 1,1,32,32 > /dev/null 2>&1 && cmp -s "$T/r.onnx" "$T/r2.onnx" && ok || bad "the same seed gave another model"
"$BIN" export --onnx "$T/r3.onnx" --arch resnet --arch-opt depth=10,width=4,in_channels=1,num_classes=3 --seed 8 \
  --shape 1,1,32,32 > /dev/null 2>&1 && ! cmp -s "$T/r.onnx" "$T/r3.onnx" && ok || bad "another seed gave the same model"

# --- bad input: exit 2, a message, no file ---
expect_fail 2 "--onnx OUT.onnx is required" -- "$BIN" export --model "$ckpt"
expect_fail 2 "give either --model" -- "$BIN" export --onnx "$T/x.onnx"
expect_fail 2 "give either --model" -- "$BIN" export --onnx "$T/x.onnx" --model "$ckpt" --arch unet
expect_fail 2 "--seed is for an untrained net" -- "$BIN" export --onnx "$T/x.onnx" --model "$ckpt" --seed 3
expect_fail 2 "no_such.safetensors" -- "$BIN" export --onnx "$T/x.onnx" --model "$T/no_such.safetensors"
head -c 100 "$ckpt" > "$T/trunc.safetensors"
expect_fail 2 "trunc.safetensors" -- "$BIN" export --onnx "$T/x.onnx" --model "$T/trunc.safetensors"
expect_fail 2 "'abc' is not an integer" -- "$BIN" export --onnx "$T/x.onnx" --model "$ckpt" --shape 1,1,abc,32
expect_fail 2 "has 3 entries" -- "$BIN" export --onnx "$T/x.onnx" --model "$ckpt" --shape 1,32,32
expect_fail 2 "0 is outside" -- "$BIN" export --onnx "$T/x.onnx" --model "$ckpt" --shape 1,1,0,32
expect_fail 2 "input has 3 channels, the net takes 1" -- "$BIN" export --onnx "$T/x.onnx" --model "$ckpt" --shape 1,3,32,32
expect_fail 2 "not a multiple of 4" -- "$BIN" export --onnx "$T/x.onnx" --model "$ckpt" --shape 1,1,30,32
expect_fail 2 "input shape has 5 dims" -- "$BIN" export --onnx "$T/x.onnx" --model "$ckpt" --shape 1,1,8,32,32
expect_fail 2 "is not in the registry" -- "$BIN" export --onnx "$T/x.onnx" --arch unett
expect_fail 2 "'depth' is not KEY=VALUE" -- "$BIN" export --onnx "$T/x.onnx" --arch unet --arch-opt depth
expect_fail 2 "unknown key \"colour\"" -- "$BIN" export --onnx "$T/x.onnx" --arch unet --arch-opt colour=1
expect_fail 2 "--epochs is not an option of dolor export" -- "$BIN" export --onnx "$T/x.onnx" --arch unet --epochs 3
[[ ! -e "$T/x.onnx" ]] && ok || bad "a failed export wrote its output"
expect_fail 1 "no/dir/x.onnx" -- "$BIN" export --onnx "$T/no/dir/x.onnx" --model "$ckpt"
no_tmp_files "$T"
"$BIN" export --help | grep -q "usage: dolor export --onnx OUT.onnx" && ok || bad "export --help"
finish
