#!/usr/bin/env bash
# dolor stream end to end: a tiny MP4 made by dolor's own writer from a phantom image folder, a small fastseg
# model, the overlay video, label maps and the latency CSV; bad input (truncated video, unknown codec, a
# 3-channel model, port in use) exits 2 with nothing written; the live view over HTTP (Host/Origin checks,
# non-loopback peers refused) and in headless Chromium (frames shown, counter advancing, screenshot).
. "$(dirname "$0")/lib.sh" video_stream
export OMP_WAIT_POLICY=passive
frames() { local n; n=$(grep -c ',ok,' "$1" 2>/dev/null); echo "${n:-0}"; }

# --- input: 16 phantom frames at 64x64 as a folder, then as an MP4 (dolor stream without a model transcodes) ---
"$BIN" phantom -o "$T/ph" -n 16 --size 64 --seed 5 >/dev/null 2>&1 || bad "phantom failed"
"$BIN" stream "$T/ph/images" --fps 25 -o "$T/in.mp4" -q > "$T/mk.log" 2>&1 && ok || bad "transcode: $(cat "$T/mk.log")"
[[ -s "$T/in.mp4" && $(frames "$T/in.mp4.frames.csv") -eq 16 ]] && ok || bad "in.mp4: $(frames "$T/in.mp4.frames.csv") frames"
head -1 "$T/in.mp4.frames.csv" | grep -q '^frame,pts_ms,status,decode_ms,queue_ms,infer_ms,draw_ms,latency_ms$' && ok ||
  bad "CSV header: $(head -1 "$T/in.mp4.frames.csv")"
# timestamps kept: frame 5 at 25 frames/s is at 200 ms, read back from the MP4
"$BIN" stream "$T/in.mp4" --csv "$T/back.csv" -q > /dev/null 2>&1
awk -F, '$1==5{exit !($2>199.5 && $2<200.5)}' "$T/back.csv" && ok || bad "frame 5 pts: $(awk -F, '$1==5' "$T/back.csv")"

# --- a small fastseg model ---
if "$BIN" train --data "$T/ph" --classes nerve,vessel --arch fastseg --arch-opt width=8 --size 64 --epochs 1 \
     --batch 4 -o "$T/m" -q --no-final-eval > "$T/train.log" 2>&1; then ok; else bad "train: $(tail -3 "$T/train.log")"; fi
M="$T/m/best.safetensors"

# --- file mode: every frame, label maps, overlay ---
if "$BIN" stream --model "$M" "$T/in.mp4" -o "$T/ov.mp4" --labels "$T/lab" -t 2 > "$T/s.log" 2>&1; then ok
else bad "stream: $(cat "$T/s.log")"; fi
grep -q 'frames: 16 read, 16 processed, 0 dropped' "$T/s.log" && ok || bad "summary: $(cat "$T/s.log")"
grep -Eq 'latency \(decoded -> encoded\): p50 [0-9.]+ ms, p95 [0-9.]+ ms, max [0-9.]+ ms' "$T/s.log" && ok ||
  bad "no latency line: $(cat "$T/s.log")"
[[ $(ls "$T/lab" | grep -c '^frame_0000[0-9][0-9].png$') -eq 16 ]] && ok || bad "label maps: $(ls "$T/lab" | head)"
[[ $(frames "$T/ov.mp4.frames.csv") -eq 16 ]] && ok || bad "ov CSV rows"
"$BIN" stream "$T/ov.mp4" --csv "$T/ovback.csv" -q > /dev/null 2>&1
[[ $(frames "$T/ovback.csv") -eq 16 ]] && ok || bad "overlay video holds $(frames "$T/ovback.csv") frames"
# label maps hold the model's label values only
"$BIN" info "$T/lab/frame_000003.png" > "$T/info.txt" 2>&1 && grep -q '64 x 64' "$T/info.txt" && ok || bad "label map: $(cat "$T/info.txt")"

# --- bad input: exit 2, the message names the fault, no output left behind ---
size=$(stat -c %s "$T/in.mp4")
head -c $((size * 8 / 10)) "$T/in.mp4" > "$T/cut.mp4"
out=$("$BIN" stream --model "$M" "$T/cut.mp4" -o "$T/cutov.mp4" -q 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"cut.mp4"* && "$out" =~ frame\ ([0-9]+) ]] && ok || bad "truncated: rc $rc: $out"
k=${BASH_REMATCH[1]:-0}
# the frames before the damage are processed and the overlay holds exactly them
grep -q "frames: $k read, $k processed" <<<"$out" && ((k > 0 && k < 16)) && ok || bad "truncated at $k: $out"
"$BIN" stream "$T/cutov.mp4" --csv "$T/cutback.csv" -q > /dev/null 2>&1
[[ $(frames "$T/cutback.csv") -eq $k ]] && ok || bad "overlay of the truncated input: $(frames "$T/cutback.csv") frames, not $k"

"$BIN" stream "$T/ph/images" --codec mjpeg -o "$T/mj.avi" -q > /dev/null 2>&1 || bad "mjpeg avi"
sed 's/MJPG/ZZZZ/g' "$T/mj.avi" > "$T/zz.avi"
expect_fail 2 "unsupported video codec 'ZZZZ'" -- "$BIN" stream --model "$M" "$T/zz.avi" -o "$T/zzov.mp4"
[[ ! -e "$T/zzov.mp4" ]] && ok || bad "unknown codec left an output"
expect_fail 2 "video codec 'vp99' has no encoder" -- "$BIN" stream "$T/in.mp4" --codec vp99 -o "$T/vp.mp4"

# (a model with 3 input channels: tests/test_stream_channels.c builds one)
expect_fail 2 "no-such.mp4" -- "$BIN" stream --model "$M" "$T/no-such.mp4" -o "$T/x.mp4"
expect_fail 2 "--size: '64' is not WxH" -- "$BIN" stream "$T/in.mp4" --size 64 -o "$T/x.mp4"
ls -a "$T" | grep -q '\.tmp' && bad "temporary files left: $(ls -a "$T" | grep '\.tmp')" || ok

# --- live view (needs curl; the browser part also chromium) ---
if ! command -v curl >/dev/null; then
  skip "curl not installed: live view not tested"
else
port=$((20000 + RANDOM % 20000))
"$BIN" stream --model "$M" "$T/in.mp4" --live --repeat 100000 --serve "127.0.0.1:$port" --snapshots "$T/snaps" \
  -t 1 -q > "$T/serve.log" 2>&1 &
spid=$!
up=0
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/stats.json" && { up=1; break; }; sleep 0.1; done
((up)) && ok || bad "live view did not start: $(cat "$T/serve.log")"
expect_fail 2 "port in use" -- "$BIN" stream --model "$M" "$T/in.mp4" --serve "127.0.0.1:$port"
U="http://127.0.0.1:$port"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[[ $(code "$U/") == 200 ]] && ok || bad "page"
curl -s "$U/" | grep -q '<img id="view"' && ok || bad "page has no image"
[[ $(code -H "Origin: http://evil.example" "$U/stats.json") == 403 ]] && ok || bad "foreign Origin accepted"
[[ $(code -H "Host: evil.example:$port" "$U/") == 403 ]] && ok || bad "foreign Host (DNS rebinding) accepted"
[[ $(code -X POST -H "Origin: http://evil.example" "$U/snapshot") == 403 ]] && ok || bad "cross-origin snapshot accepted"
j1=$(curl -s "$U/stats.json"); sleep 0.5; j2=$(curl -s "$U/stats.json")
f1=$(sed -E 's/.*"frame": ([0-9-]+).*/\1/' <<<"$j1"); f2=$(sed -E 's/.*"frame": ([0-9-]+).*/\1/' <<<"$j2")
((f2 > f1)) && ok || bad "frame counter did not advance: $j1 / $j2"
grep -q '"name": "nerve", "area_pct": [0-9.e+-]*, "confidence": [0-9.e+-]*' <<<"$j2" && ok || bad "stats: $j2"
# areas of the three classes add up to 100 %
awk -v j="$j2" 'BEGIN{n=split(j,a,"\"area_pct\": "); s=0; for(i=2;i<=n;i++) s+=a[i]+0; exit !(n==4 && s>99.99 && s<100.01)}' &&
  ok || bad "areas do not add up: $j2"
curl -s -o "$T/f.jpg" "$U/frame.jpg?after=0" && [[ $(head -c 3 "$T/f.jpg" | od -An -tx1 | tr -d ' ') == ffd8ff ]] && ok ||
  bad "frame.jpg is not a JPEG"
timeout 3 curl -s "$U/stream.mjpg" -o "$T/mj.bin"
[[ $(grep -c -a -- '--dolorframe' "$T/mj.bin") -ge 2 ]] && ok || bad "MJPEG stream gave $(grep -c -a -- '--dolorframe' "$T/mj.bin") parts"
curl -s -X POST -H "Origin: $U" "$U/snapshot" > "$T/snap.json"
grep -q '"saved": \["snapshot_[0-9]*.png", "snapshot_[0-9]*_labels.png"\]' "$T/snap.json" && ok || bad "snapshot: $(cat "$T/snap.json")"
[[ $(ls "$T/snaps" 2>/dev/null | wc -l) -eq 2 ]] && ok || bad "snapshot files: $(ls "$T/snaps")"
[[ $(curl -s -X POST "$U/pause") == *'"paused": true'* ]] && ok || bad "pause"
[[ $(curl -s -X POST "$U/pause") == *'"paused": false'* ]] && ok || bad "resume"
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null

# a peer outside 127.0.0.0/8: listen on every address, connect through this machine's own non-loopback address
ext=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+$' | grep -v '^127\.' | head -1)
if [[ -n "$ext" ]]; then
  "$BIN" stream --model "$M" "$T/in.mp4" --live --repeat 100000 --serve "0.0.0.0:$port" -t 1 -q > "$T/serve2.log" 2>&1 &
  spid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/stats.json" && break; sleep 0.1; done
  [[ $(code -H "Host: 127.0.0.1:$port" "http://127.0.0.1:$port/stats.json") == 200 ]] && ok || bad "loopback refused"
  [[ $(code --max-time 5 -H "Host: 127.0.0.1:$port" "http://$ext:$port/stats.json") == 000 ]] && ok ||
    bad "a request from $ext was answered"
  kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
else
  skip "no non-loopback address to test a foreign peer from"
fi

# --- headless Chromium: the page shows frames and its counter advances ---
chrome=$(command -v chromium || command -v chromium-browser)
if [[ -n "$chrome" ]]; then
  "$BIN" stream --model "$M" "$T/in.mp4" --live --repeat 100000 --serve "127.0.0.1:$port" -t 1 -q > "$T/serve3.log" 2>&1 &
  spid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/stats.json" && break; sleep 0.1; done
  shot=${DOLOR_SCREENSHOT:-$T/live.png}
  ch=("$chrome" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=700,800
      --virtual-time-budget=3000 --timeout=20000 --user-data-dir="$T/chrome")
  # --timeout: Chromium stops by itself after 20 s of real time (and writes what it has) should the page's
  # endless frame loop keep virtual time from running out on a loaded machine; a cold start can still take
  # minutes there: two retries
  # each attempt starts without a screenshot, so a file left by a failed one cannot pass the check
  for _ in 1 2 3; do
    rm -f "$shot"
    timeout 180 "${ch[@]}" --screenshot="$shot" "$U/" > "$T/chrome.log" 2>&1 && [[ -s "$shot" ]] && break
  done
  [[ -s "$shot" && $(head -c 4 "$shot" | od -An -c | tr -d ' ') == 211PNG ]] && ok || bad "no screenshot: $(tail -3 "$T/chrome.log")"
  d1=$(timeout 120 "${ch[@]}" --dump-dom "$U/" 2>/dev/null)
  d2=$(timeout 120 "${ch[@]}" --dump-dom "$U/" 2>/dev/null)
  n1=$(grep -o 'id="frame">[0-9]*' <<<"$d1" | grep -o '[0-9]*$'); n2=$(grep -o 'id="frame">[0-9]*' <<<"$d2" | grep -o '[0-9]*$')
  s2=$(grep -o 'id="shown">[0-9]*' <<<"$d2" | grep -o '[0-9]*$')
  [[ -n "$n1" && -n "$n2" ]] && ((n2 > n1)) && ok || bad "page frame counter: '$n1' then '$n2'"
  [[ -n "$s2" ]] && ((s2 >= 2)) && ok || bad "page showed '$s2' frames (the image does not update)"
  grep -q '<td>nerve</td>' <<<"$d2" && ok || bad "class table missing from the page"
  kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
else
  skip "chromium not installed (apt-get install chromium): browser check not run"
fi
fi
finish
