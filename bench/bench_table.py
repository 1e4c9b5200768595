#!/usr/bin/python3
"""The network speed table of `make bench` (issue 8): dolor, PyTorch and ONNX Runtime on the same
networks, inputs and threads, in one run, with the machine's measured peak.

For each row (ROWS below) and mode (inference, training step):
  dolor        bench/bench_arch.c (the registry network, oneDNN)      BUILD/bench/bench_arch
  pytorch      bench/bench_torch.py (the PyTorch twin, torch eager)   /usr/bin/python3
  onnxruntime  bench/ort/bench.js (the twin exported by tools/export_onnx.py --arch), inference only
each in its own process, one after the other, all with OMP_NUM_THREADS threads (default 2;
onnxruntime-node's intraOpNumThreads, torch.set_num_threads). Per engine and row it prints the
median wall time per run (ms), images/s (batch / median), GFLOP/s, the fraction of the peak, and
dolor's time / this engine's time (the target of issue 8: <= 0.7 against PyTorch, <= 1 against
ONNX Runtime).

FLOPs are counted analytically from the graph of the PyTorch twin (bench_torch.py: forward hooks):
2 x the multiply-accumulates of every convolution, transposed convolution and linear layer (batch
norm, activations, pooling, attention gates' element-wise work are not counted); a training step
counts 3 x the forward (forward, gradient of the input, gradient of the weights) at its batch.
The peak is measured in the same run by bench/bench_peak.c (register-only FMA loops on all
threads; AVX-512 where the CPU has it, else AVX2).

Where dolor misses the target (dolor/pytorch > 0.7 or dolor/onnxruntime > 1), the row is run once
more with ONEDNN_VERBOSE=1 (1 timed run after the warm-up) and the oneDNN primitives' times are
summed by primitive kind and propagation kind; the rest of the wall time is dolor's own code
(its non-oneDNN operations, losses, AdamW, the verbose printing itself).

Usage: /usr/bin/python3 bench/bench_table.py [--build build] [--rows KEY,...] [--modes infer,train]
           [--csv FILE] [--no-ort] [--no-profile]
Row keys: resnet18, unet32, resnet3d18, resnet50_ta_seg, fastseg, yolov8n, yolov8s (the default set), unet16.
Environment: OMP_NUM_THREADS (2), BENCH_ROWS and BENCH_MODES (as --rows, --modes), BENCH_INFER_ITERS (20), BENCH_TRAIN_ITERS (5), BENCH_MAX_SECONDS
(10: an engine stops timing a row after this many seconds of timed runs, at least 1 run),
BENCH_PROFILE (1; 0 = --no-profile), BENCH_PROFILE_MAX_S (60: rows whose dolor run takes longer than
half of this are not profiled, to keep the run short; profile them with a larger value).
Writes the table as CSV to --csv (default bench/results/nn_speed.csv) and the profiles next to it
(nn_profile.txt).
"""
import argparse
import csv
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# key, label, registry name, config, input shape without the batch, inference batch, training batch
ROWS = [
    ("resnet18", "ResNet-18 classifier", "resnet",
     {"depth": 18, "in_channels": 3, "num_classes": 1000, "spatial_dims": 2}, [3, 224, 224], 1, 8),
    ("unet32", "U-Net (4 levels, base 32)", "unet",
     {"in_channels": 1, "num_classes": 2, "base_channels": 32, "depth": 4}, [1, 256, 256], 1, 8),
    ("resnet3d18", "3D ResNet-18 classifier", "resnet",
     {"depth": 18, "in_channels": 1, "num_classes": 2, "spatial_dims": 3}, [1, 64, 128, 128], 1, 2),
    ("resnet50_ta_seg", "ResNet-50 + triplet attention segmenter", "resnet_unet",
     {"in_channels": 3, "num_classes": 6, "encoder_depth": 50, "triplet_attention": 1}, [3, 473, 473], 1, 2),
    ("fastseg", "real-time segmenter", "fastseg", {"in_channels": 1, "num_classes": 4}, [1, 256, 256], 1, None),
    ("yolov8n", "YOLOv8-n detector (80 classes)", "yolov8", {"task": "detect", "scale": "n", "in_channels": 3},
     [3, 512, 512], 1, None),
    ("yolov8s", "YOLOv8-s detector (80 classes)", "yolov8", {"task": "detect", "scale": "s", "in_channels": 3},
     [3, 512, 512], 1, None),
]
# not in the default set (--rows unet16): the U-Net of the earlier bench (dolor_unet_config_default)
EXTRA_ROWS = [
    ("unet16", "U-Net (4 levels, base 16)", "unet",
     {"in_channels": 1, "num_classes": 2, "base_channels": 16, "depth": 4}, [1, 256, 256], 1, 8),
]


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def parse_result(text):
    """{"median_ms": .., ...} from a "RESULT k v k v ..." line, "SKIP why" -> {"skip": why}, else None."""
    out = {}
    for line in text.splitlines():
        if line.startswith("SKIP "):
            return {"skip": line[5:].strip()}
        if line.startswith("FLOPS "):
            out["flops"] = int(line.split()[1])
        if line.startswith("RESULT "):
            f = line.split()[1:]
            for k, v in zip(f[0::2], f[1::2]):
                out[k] = float(v)
    return out if "median_ms" in out or "flops" in out else None


def run(cmd, env=None, timeout=1800):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 1, "", str(e)
    return p.returncode, p.stdout, p.stderr


def machine():
    info = {"model": "?", "flags": []}
    try:
        with open("/proc/cpuinfo") as f:
            txt = f.read()
        m = re.search(r"^model name\s*:\s*(.*)$", txt, re.M)
        info["model"] = m.group(1).strip() if m else "?"
        m = re.search(r"^flags\s*:\s*(.*)$", txt, re.M)
        have = set(m.group(1).split()) if m else set()
        info["flags"] = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16",
                                     "amx_int8") if f in have]
    except OSError:
        pass
    info["cpus"] = os.cpu_count()
    return info


def ort_ready():
    """'' when node + onnxruntime-node are usable (installing the npm package if missing), else why not."""
    ortdir = os.path.join(HERE, "ort")
    if subprocess.run(["sh", "-c", "command -v node >/dev/null"]).returncode != 0:
        return "node not found (Debian: apt-get install nodejs npm)"
    if not os.path.exists(os.path.join(ortdir, "node_modules", "onnxruntime-node", "package.json")):
        print("installing onnxruntime-node into bench/ort/node_modules ...", file=sys.stderr)
        e = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
        p = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=ortdir, env=e, stdout=sys.stderr,
                           stderr=subprocess.PIPE, text=True)
        rc, err = p.returncode, p.stderr
        if rc != 0:
            return "'npm install' failed in bench/ort (see bench/ort/README.md): %s" % err.strip()[-200:]
    return ""


def export_model(row):
    """Path of the row's ONNX model (exported when missing or older than the exporter / twins),
    or (None, why)."""
    key, _, arch, cfg, shape = row[:5]
    d = os.path.join(HERE, "ort", "models")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, key + ".onnx")
    srcs = [os.path.join(ROOT, "tools", f) for f in ("export_onnx.py", "gen_nn_fixtures.py", "gen_nn_ops_fixtures.py",
                                                       "nn_twins.py")]
    newest = max(os.path.getmtime(s) for s in srcs if os.path.exists(s))
    if os.path.exists(path) and os.path.getmtime(path) >= newest:
        return path, ""
    rc, out, err = run([PY, os.path.join(ROOT, "tools", "export_onnx.py"), "--arch", arch, "--config", json.dumps(cfg),
                        "--shape", ",".join(map(str, shape)), "-o", path])
    if rc == 3:
        return None, "twin not written yet: " + err.strip().splitlines()[-1]
    if rc != 0:
        return None, "export failed: " + (err.strip().splitlines() or ["?"])[-1]
    return path, ""


def profile(build, row, mode, batch, env):
    """ONEDNN_VERBOSE summary of dolor on one row: list of (kind, ms per run), wall ms per run."""
    key, _, arch, cfg, shape = row[:5]
    e = dict(env, ONEDNN_VERBOSE="1", BENCH_MARK="1")
    rc, out, err = run([os.path.join(build, "bench", "bench_arch"), arch, json.dumps(cfg),
                        ",".join(map(str, [batch] + shape)), mode, "ce", "1", "0"], env=e)
    if rc != 0:
        return None
    res = parse_result(out)
    lines = out.split("BENCH_MARK timed runs start", 1)[-1].splitlines()
    runs = int(res.get("runs", 1)) if res else 1
    agg, count = {}, {}
    for ln in lines:
        if not ln.startswith("onednn_verbose,exec,"):
            continue
        f = ln.split(",")
        try:
            ms = float(f[-1])
        except ValueError:
            continue
        kind = f[3] + (" " + f[5] if f[5] not in ("undef", "") else "") + " [%s]" % f[4]
        agg[kind] = agg.get(kind, 0.0) + ms
        count[kind] = count.get(kind, 0) + 1
    items = sorted(((k, v / runs, count[k] // runs) for k, v in agg.items()), key=lambda t: -t[1])
    return items, (res or {}).get("median_ms", 0.0)


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--rows", default=os.environ.get("BENCH_ROWS", ""), help="comma-separated keys (default: all)")
    ap.add_argument("--csv", default=os.path.join(HERE, "results", "nn_speed.csv"))
    ap.add_argument("--modes", default=os.environ.get("BENCH_MODES", "infer,train"),
                    help="infer, train or both (default infer,train)")
    ap.add_argument("--no-ort", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    a = ap.parse_args()
    threads = env_int("OMP_NUM_THREADS", 2)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    infer_it, train_it = env_int("BENCH_INFER_ITERS", 20), env_int("BENCH_TRAIN_ITERS", 5)
    max_s = os.environ.get("BENCH_MAX_SECONDS", "10")
    do_profile = not a.no_profile and os.environ.get("BENCH_PROFILE", "1") != "0"
    rows = ROWS if not a.rows else [r for r in ROWS + EXTRA_ROWS if r[0] in a.rows.split(",")]
    bench_arch = os.path.join(a.build, "bench", "bench_arch")
    if not os.access(bench_arch, os.X_OK):
        print("bench_table: %s not built (cmake --build %s --target bench_arch bench_peak)" % (bench_arch, a.build),
              file=sys.stderr)
        return 1

    m = machine()

    def measure_peak():
        rc, out, _ = run([os.path.join(a.build, "bench", "bench_peak")], env=env)
        pk = re.search(r"^peak (\S+) ([\d.]+)", out, re.M)
        return (pk.group(1), float(pk.group(2)), out.strip().replace("\n", "; ")) if pk else ("?", None, out.strip())

    load0 = os.getloadavg()[0]
    peak_isa, peak, peak_out = measure_peak()
    rc, tv, _ = run([PY, "-c", "import torch; print(torch.__version__)"])
    torch_v = tv.strip() if rc == 0 else None
    ort_why = "disabled (--no-ort)" if a.no_ort else ort_ready()
    ort_v = "?"
    if not ort_why:
        try:
            with open(os.path.join(HERE, "ort", "node_modules", "onnxruntime-node", "package.json")) as f:
                ort_v = json.load(f).get("version", "?")
        except (OSError, ValueError):
            pass
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print("== dolor network speed, %s" % now)
    print("machine: %s, %s CPUs, flags: %s; %d threads (OMP_NUM_THREADS)" % (m["model"], m["cpus"],
          " ".join(m["flags"]) or "-", threads))
    print("measured peak at the start: %s GFLOP/s fp32 (%s FMA, bench_peak, %d threads) [%s]; load average %.2f" % (
        fmt(peak, ".1f"), peak_isa, threads, peak_out, load0))
    print("engines: dolor (oneDNN) %s; PyTorch %s (eager); ONNX Runtime %s" % (
        a.build, torch_v or "missing", ("onnxruntime-node " + ort_v) if not ort_why else "skipped: " + ort_why))
    print("FLOPs: 2 x MACs of convolutions, transposed convolutions and linear layers, counted on the PyTorch twin's "
          "graph; training step = 3 x forward at its batch")
    print("iterations: inference %d, training %d, at most %s s of timed runs per engine and row (BENCH_INFER_ITERS, "
          "BENCH_TRAIN_ITERS, BENCH_MAX_SECONDS); median of the timed runs" % (infer_it, train_it, max_s), flush=True)

    table = []
    profiles, skipped = [], []
    try:
        prof_max = float(os.environ.get("BENCH_PROFILE_MAX_S", "60"))
    except ValueError:
        prof_max = 60.0
    for row in rows:
        key, label, arch, cfg, shape, ib, tb = row
        for mode, batch in (("infer", ib), ("train", tb)):
            if batch is None or mode not in a.modes.split(","):
                continue
            sh = ",".join(map(str, [batch] + shape))
            load = os.getloadavg()[0]
            its = str(infer_it if mode == "infer" else train_it)
            res = {}
            rc, out, err = run([bench_arch, arch, json.dumps(cfg), sh, mode, "ce", its, max_s], env=env)
            res["dolor"] = parse_result(out) if rc == 0 else {"skip": "failed: " + (err.strip()[-300:] or "rc %d" % rc)}
            if torch_v:
                rc, out, err = run([PY, os.path.join(HERE, "bench_torch.py"), arch, json.dumps(cfg), sh, mode, "ce",
                                    its, max_s], env=env)
                res["pytorch"] = parse_result(out) if rc == 0 else {"skip": "failed: " + err.strip()[-300:]}
            else:
                res["pytorch"] = {"skip": "python3-torch missing"}
            if mode == "infer":
                if ort_why:
                    res["onnxruntime"] = {"skip": ort_why}
                else:
                    path, why = export_model(row)
                    if path is None:
                        res["onnxruntime"] = {"skip": why}
                    else:
                        rc, out, err = run(["node", os.path.join(HERE, "ort", "bench.js"), path, its, sh, max_s],
                                           env=env)
                        res["onnxruntime"] = parse_result(out) if rc == 0 else {"skip": "failed: " + err.strip()[-300:]}
            flops1 = (res.get("pytorch") or {}).get("flops")
            gflop = flops1 * batch * (3 if mode == "train" else 1) / 1e9 if flops1 else None
            d = res["dolor"] or {}
            for eng, r in res.items():
                r = r or {"skip": "no result"}
                ms = r.get("median_ms")
                ent = {"row": label, "key": key, "mode": "inference" if mode == "infer" else "training step",
                       "batch": batch, "input": "x".join(map(str, shape)), "engine": eng,
                       "median_ms": ms, "min_ms": r.get("min_ms"), "runs": int(r["runs"]) if "runs" in r else None,
                       "images_per_s": batch / ms * 1e3 if ms else None, "gflop": gflop,
                       "gflops": gflop / ms * 1e3 if ms and gflop else None,
                       "dolor_over": d.get("median_ms") / ms if ms and d.get("median_ms") else None,
                       "note": r.get("skip", ""), "load": load}
                ent["peak_fraction"] = ent["gflops"] / peak if ent["gflops"] and peak else None
                if r.get("skip") and eng == "dolor" and "registry" in r["skip"]:
                    ent["note"] = "(not in the registry yet)"
                elif r.get("skip") and eng != "dolor" and ("nn_twins" in r["skip"] or "twin" in r["skip"]):
                    ent["note"] = "(twin not in tools/nn_twins.py yet)"
                table.append(ent)
                line = ent
                print("%-40s %-13s b%-2d %-11s %9s ms %8s img/s %7s GFLOP/s %6s peak  dolor/%s %s %s" % (
                    label + " " + line["input"], line["mode"], batch, eng, fmt(ms, ".1f"),
                    fmt(line["images_per_s"], ".2f"), fmt(line["gflops"], ".1f"),
                    fmt(line["peak_fraction"] and 100 * line["peak_fraction"], ".1f", "-") + ("%" if line["peak_fraction"] else ""),
                    eng, "-" if eng == "dolor" else fmt(line["dolor_over"], ".2f"), line["note"]), flush=True)
            tr, orr = res.get("pytorch") or {}, res.get("onnxruntime") or {}
            miss = (d.get("median_ms") and ((tr.get("median_ms") and d["median_ms"] > 0.7 * tr["median_ms"]) or
                                            (orr.get("median_ms") and d["median_ms"] > orr["median_ms"])))
            pname = label + " " + "x".join(map(str, [batch] + shape)) + " " + mode
            if miss and do_profile and 2e-3 * d["median_ms"] > prof_max:
                skipped.append("%s: not profiled (a run takes %.0f s; BENCH_PROFILE_MAX_S=%g)" % (
                    pname, d["median_ms"] / 1e3, prof_max))
            elif miss and do_profile:
                p = profile(a.build, row, mode, batch, env)
                if p:
                    profiles.append((pname, p, d))

    # the peak again at the end (the machine may be shared): the larger of the two is the peak
    isa2, peak2, out2 = measure_peak()
    load1 = os.getloadavg()[0]
    print("measured peak at the end: %s GFLOP/s (%s) [%s]; load average %.2f" % (fmt(peak2, ".1f"), isa2, out2, load1))
    if peak2 and (not peak or peak2 > peak):
        peak_isa, peak = isa2, peak2
        for e in table:
            e["peak_fraction"] = e["gflops"] / peak if e["gflops"] else None
    # final table
    print()
    print("== table (ms: median wall time per run; dolor/x: dolor's time over x's; target <= 0.70 vs PyTorch, "
          "<= 1.00 vs ONNX Runtime)")
    hdr = "| row | mode | batch | engine | ms (median) | ms (min) | images/s | GFLOP/s | % of peak | dolor/x |"
    print(hdr)
    print("|---|---|---|---|---|---|---|---|---|---|")
    for e in table:
        print("| %s %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            e["row"], e["input"], e["mode"], e["batch"], e["engine"],
            fmt(e["median_ms"], ".1f", e["note"] or "-"), fmt(e["min_ms"], ".1f"), fmt(e["images_per_s"], ".2f"),
            fmt(e["gflops"], ".1f"),
            fmt(e["peak_fraction"] and 100 * e["peak_fraction"], ".1f"),
            "" if e["engine"] == "dolor" else fmt(e["dolor_over"], ".2f")))
    print("peak %s GFLOP/s (%s, the larger of the start and end measurements); load average %.2f at the start, "
          "%.2f at the end; GFLOP per run: %s" % (fmt(peak, ".1f"), peak_isa, load0, load1, ", ".join(
        "%s %s %s" % (e["key"], e["mode"].split()[0], fmt(e["gflop"], ".2f")) for e in table if e["engine"] == "dolor")))
    if profiles or skipped:
        print()
        print("== where dolor's time goes (rows that miss the target; ONEDNN_VERBOSE=1, 1 run after the warm-up; "
              "ms per run)")
    prof_txt = list(skipped)
    if skipped:
        print("\n".join(skipped))
    for name, (items, wall), d in profiles:
        tot = sum(v for _, v, _ in items)
        s = ["%s: %.1f ms per run under ONEDNN_VERBOSE (%.1f ms without); oneDNN primitives %.1f ms, "
             "outside oneDNN %.1f ms" % (name, wall, d.get("median_ms", 0), tot, max(0.0, wall - tot))]
        if "fwd_ms" in d:
            s.append("  phases without verbose: forward %.1f, loss %.1f, backward %.1f, AdamW %.1f ms" % (
                d["fwd_ms"], d["loss_ms"], d["bwd_ms"], d["opt_ms"]))
        for k, v, c in items[:10]:
            s.append("  %-58s %8.1f ms %5.1f%% (%d calls)" % (k, v, 100 * v / wall if wall else 0, c))
        prof_txt += s
        print("\n".join(s))

    os.makedirs(os.path.dirname(os.path.abspath(a.csv)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(a.csv)), suffix=".tmp")
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "input", "mode", "batch", "engine", "median_ms", "min_ms", "runs", "images_per_s",
                    "gflop_per_run", "gflops", "peak_fraction", "dolor_time_over_engine", "note", "threads",
                    "peak_gflops", "peak_isa", "cpu", "date", "load_avg_1min"])
        for e in table:
            w.writerow([e["row"], e["input"], e["mode"], e["batch"], e["engine"], fmt(e["median_ms"], ".2f", ""),
                        fmt(e["min_ms"], ".2f", ""), e["runs"] or "", fmt(e["images_per_s"], ".3f", ""),
                        fmt(e["gflop"], ".3f", ""), fmt(e["gflops"], ".1f", ""), fmt(e["peak_fraction"], ".4f", ""),
                        "" if e["engine"] == "dolor" else fmt(e["dolor_over"], ".3f", ""), e["note"], threads,
                        fmt(peak, ".1f", ""), peak_isa, m["model"], now, "%.2f" % e["load"]])
    os.replace(tmp, a.csv)
    ptxt = os.path.join(os.path.dirname(os.path.abspath(a.csv)), "nn_profile.txt")
    with open(ptxt + ".tmp", "w") as f:
        f.write("\n".join(prof_txt) + "\n")
    os.replace(ptxt + ".tmp", ptxt)
    print("\nwrote %s and %s" % (a.csv, ptxt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
