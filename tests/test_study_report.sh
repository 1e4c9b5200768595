#!/usr/bin/env bash
# report.html in headless Chromium (Debian chromium; skipped when it is not installed): a tiny segmentation study
# (box plots, loss curves, overlay grid, ICC table) and a tiny classification study (ROC curves, loss curves).
# For each report: the DOM as Chromium parsed it (--dump-dom) holds every figure of the HTML as an <svg> with
# marks in it and every overlay as a decoded <img>; the screenshot is a PNG far larger than the screenshot of an
# empty page taken the same way (a blank or failed render compresses to a few kB). DOLOR_SCREENSHOT_DIR=DIR keeps
# the screenshots (report-seg.png, report-cls.png) for a person to look at.
set -u
. "$(dirname "$0")/lib.sh" study_report

CHROME=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$CHROME" ]]; then
  echo "SKIP: chromium not installed (scripts/install-deps.sh installs it)" >&2
  echo "0 passed, 0 failed, 1 skipped"
  exit 77
fi
shot() { # shot HTML PNG HEIGHT
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="1200,$3" \
    --screenshot="$2" "file://$1" > /dev/null 2>&1
}
dom() { timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --dump-dom "file://$1" 2> /dev/null; }

# ---- the two studies ----
"$BIN" phantom -o "$T/ph" -n 8 --size 64 --seed 3 > /dev/null 2>&1 || bad "phantom failed"
mkdir -p "$T/ph/masks2"
files=($(ls "$T/ph/masks" | sort))
for ((i = 0; i < ${#files[@]}; i++)); do
  j=$i; ((i % 3 == 0)) && j=$(((i + 1) % ${#files[@]}))
  cp "$T/ph/masks/${files[$j]}" "$T/ph/masks2/${files[$i]}"
done
cat > "$T/seg.yaml" <<EOF2
study: {name: report-seg, task: segmentation}
dataset: {images: ph/images, masks: ph/masks, masks2: ph/masks2, classes: [nerve, vessel]}
split: {method: kfold, folds: 2, val_share: 0.25, seed: 7}
models:
  - {name: unet8, base: 8, depth: 2, size: 32, epochs: 2, batch: 4}
run: {quiet: true}
EOF2
"$BIN" phantom --kind multifidus3d -o "$T/mf" -n 16 --width 64 --height 64 --slices 16 --seed 5 > /dev/null 2>&1 ||
  bad "phantom failed"
cat > "$T/cls.yaml" <<EOF2
study: {name: report-cls, task: classification}
dataset: {csv: mf/grades.csv, image_column: volume, label_column: grade, roi_column: roi}
split: {method: kfold, folds: 2, val_share: 0.25, seed: 3}
models:
  - {name: rf, arch: forest, trees: 50, levels: [8], distances: [1]}
  - {name: r10, arch: resnet, depth: 10, base: 4, shape: [16, 32, 32], epochs: 2, batch: 4, warmup: 0}
run: {quiet: true}
EOF2
for k in seg cls; do
  "$BIN" study run "$T/$k.yaml" -o "$T/$k" > "$T/$k.log" 2>&1 && ok || bad "$k study failed: $(tail -3 "$T/$k.log")"
done

# ---- an empty page, the reference for "blank" ----
echo "<!DOCTYPE html><html><body></body></html>" > "$T/empty.html"
shot "$T/empty.html" "$T/empty.png" 3000
blank=$(stat -c %s "$T/empty.png" 2> /dev/null || echo 0)
[[ $blank -gt 0 ]] && ok || bad "chromium wrote no screenshot of an empty page"

for k in seg cls; do
  R="$T/$k/report.html"
  # the figures the HTML declares
  figs=$(grep -o "data-figure='[^']*'" "$R" | sed "s/data-figure='//; s/'$//")
  nfig=$(echo "$figs" | grep -c .)
  want=$([[ $k == seg ]] && echo 3 || echo 2) # seg: box-iou, box-dice, loss-unet8; cls: roc, loss-r10
  [[ $nfig -eq $want ]] && ok || bad "$k: $nfig figures in the HTML (want $want)"
  dom "$R" > "$T/$k.dom.html"
  [[ -s "$T/$k.dom.html" ]] && ok || bad "$k: chromium --dump-dom gave nothing"
  for f in $figs; do
    # marks inside the parsed <svg data-figure="f"> (Chromium writes double quotes)
    n=$(awk -v f="data-figure=\"$f\"" '{
          s = $0
          while (length(s)) {
            if (!on) { i = index(s, f); if (!i) break; on = 1; s = substr(s, i + length(f)) }
            j = index(s, "</svg>"); seg = j ? substr(s, 1, j) : s
            c += gsub(/<(polyline|circle|rect|line|path)[ >]/, "", seg)
            if (j) { on = 0; s = substr(s, j + 6) } else break
          }
        } END {print c + 0}' "$T/$k.dom.html")
    [[ $n -ge 3 ]] && ok || bad "$k: figure $f has $n marks in Chromium's DOM"
  done
  nimg=$(grep -o "data:image/png;base64,iVBOR" "$R" | wc -l)
  ndom=$(grep -o '<img[^>]*src="data:image/png;base64,iVBOR' "$T/$k.dom.html" | wc -l)
  [[ $ndom -eq $nimg ]] && ok || bad "$k: $ndom of $nimg overlay images in the DOM"
  shot "$R" "$T/report-$k.png" 3000
  size=$(stat -c %s "$T/report-$k.png" 2> /dev/null || echo 0)
  [[ $size -gt $((10 * blank)) && $size -gt 50000 ]] && ok ||
    bad "$k: screenshot of $size bytes (an empty page: $blank): blank?"
  if [[ -n "${DOLOR_SCREENSHOT_DIR:-}" ]]; then
    mkdir -p "$DOLOR_SCREENSHOT_DIR" && cp "$T/report-$k.png" "$DOLOR_SCREENSHOT_DIR/"
  fi
done
[[ $(grep -c "<img" "$T/seg.dom.html") -ge 1 ]] && ok || bad "seg: no overlay grid in the DOM"
grep -q "icc.csv" "$T/seg.dom.html" && ok || bad "seg: the ICC table is not in the DOM"
finish
