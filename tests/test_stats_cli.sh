#!/bin/bash
# dolor stats: every subcommand rejects an option of another subcommand (exit 2, naming the option and the
# subcommand) and prints its own options in --help; output options (--format json|csv, --digits, --ref-group,
# warnings); clinical scores never tear their output.
. "$(dirname "$0")/lib.sh" stats_cli
TRIAL="$SRC/examples/table1/trial.csv"
[[ -x "$BIN" ]] || { echo "SKIP: $BIN not built"; exit 77; }

# subcommand | arguments it needs before the options | an option of ANOTHER subcommand | one of its OWN options
while IFS='|' read -r sub pre foreign own; do
  sub=${sub// /}; foreign=${foreign// /}; own=${own// /}
  [[ -z "$sub" ]] && continue
  # shellcheck disable=SC2086
  out=$("$BIN" stats "$sub" $pre "$foreign" 2>&1)
  rc=$?
  name=${foreign%%=*}
  if [[ $rc -eq 2 && "$out" == *"dolor stats $sub"* && "$out" == *"$name is not an option of this command"* &&
        "$out" == *"see dolor stats $sub --help"* ]]; then ok; else bad "stats $sub $foreign: exit $rc: $out"; fi
  help=$("$BIN" stats "$sub" --help 2>&1)
  rc=$?
  if [[ $rc -eq 0 && "$help" == *"usage: dolor stats $sub"* && "$help" == *"--$own"* &&
        "$help" != *"$name "* ]]; then ok; else bad "stats $sub --help (exit $rc) lacks --$own or shows $name: $help"; fi
done <<TABLE
describe    | $TRIAL                | --welch          | counts
shapiro     | $TRIAL                | --welch          | by
ttest       | $TRIAL                | --exact          | paired
mannwhitney | $TRIAL                | --welch          | ref-group
wilcoxon    | $TRIAL                | --by=arm         | vs
levene      | $TRIAL                | --welch          | center
anova       | $TRIAL                | --center=mean    | welch
kruskal     | $TRIAL                | --welch          | levels
pairwise    | $TRIAL                | --population     | adjust
cor         | $TRIAL                | --by=arm         | method
chisq       | $TRIAL                | --conf=0.9       | correct
fisher      | $TRIAL                | --welch          | table
kappa       | $TRIAL                | --col=x          | r1
icc         | $TRIAL                | --col=x          | cols
diag        |                       | --score=s        | tp
roc         | $TRIAL                | --score1=s       | curve
delong      | $TRIAL                | --curve=c.csv    | score2
samplesize  |                       | --seed=3         | power
randomise   |                       | --power=0.8      | blocks
table       | $TRIAL                | --no-correct     | spss
score       | odi $TRIAL            | --welch          | max-missing
TABLE

# every option in each subcommand's --help (and no other: the table is the parser)
while IFS=: read -r sub opts; do
  help=$("$BIN" stats "$sub" --help 2>&1)
  got=$(grep -oE '^ +(-., )?--[a-z0-9-]+' <<<"$help" | sed 's/.*--//' | tr '\n' ' ')
  [[ "$got" == "$opts format digits out " ]] && ok || bad "stats $sub --help lists '$got', expected '$opts format digits out'"
done <<'TABLE'
describe:col by population quantile counts ref-group levels
shapiro:col by ref-group levels
ttest:col by vs paired mu welch student conf ref-group levels
mannwhitney:col by exact approx correct ref-group levels
wilcoxon:col vs exact approx correct
levene:col by center ref-group levels
anova:col by welch ref-group levels
kruskal:col by ref-group levels
pairwise:col by adjust pool ref-group levels
cor:col vs method exact approx conf
chisq:col by table correct ref-group levels
fisher:col by table conf ref-group levels
kappa:r1 r2 weights categories conf
icc:cols conf
diag:tp fp fn tn truth test ci conf
roc:truth score direction curve conf
delong:truth score1 score2 direction unpaired conf
samplesize:proportions means alpha power one-sided cc t dropout
randomise:n seed arms ratio blocks simple strata csv
table:group vars label change spss ref-group levels alpha decimals quantile
score:id prefix max-missing scale-max col conf
TABLE

# an option of the subcommand that the chosen mode does not use is an error too
expect_fail 2 "--by is not used with --paired" -- "$BIN" stats ttest "$TRIAL" --col vas_1m --vs vas_0 --paired --by arm
expect_fail 2 "--welch is not used with --mu" -- "$BIN" stats ttest "$TRIAL" --col age --mu 50 --welch
expect_fail 2 "--by is not used with --table" -- "$BIN" stats fisher --table '1,37;7,32' --by arm
expect_fail 2 "--conf is not used with --method spearman" -- "$BIN" stats cor "$TRIAL" --col age --vs bmi --method spearman --conf 0.9
expect_fail 2 "--cc is not used with --means" -- "$BIN" stats samplesize --means 0.5,1 --cc
expect_fail 2 "--max-missing is not used by the vas score" -- "$BIN" stats score vas "$TRIAL" --col vas_0 --max-missing 3
expect_fail 2 "give --exact or --approx, not both" -- "$BIN" stats mannwhitney "$TRIAL" --col age --by arm --exact --approx
expect_fail 2 "give --welch or --student, not both" -- "$BIN" stats ttest "$TRIAL" --col age --by arm --welch --student
expect_fail 2 "--quantile is not used with --counts" -- "$BIN" stats describe "$TRIAL" --col sex --counts --quantile 6

# every subcommand of the table above is in the listing, by topic
list=$("$BIN" stats --help)
for t in "descriptive statistics:" "tests:" "contingency tables:" "agreement:" "diagnostic accuracy and ROC:" \
         "planning:" "study tables:" "clinical scores:"; do
  [[ "$list" == *"$t"* ]] && ok || bad "stats --help lacks topic '$t'"
done
expect_fail 2 "unknown option '--colum'" -- "$BIN" stats ttest "$TRIAL" --colum y --by arm
expect_fail 2 "--power: 1 must be below 1" -- "$BIN" stats samplesize --proportions 0.5,0.75 --power 1
expect_fail 2 "--digits" -- "$BIN" stats ttest "$TRIAL" --col age --by arm --digits 40
expect_fail 2 "--format: 'xml'" -- "$BIN" stats ttest "$TRIAL" --col age --by arm --format xml

# --digits and --format json
out=$("$BIN" stats ttest "$TRIAL" --col vas_1m --by arm --digits 8)
[[ "$out" == *"p-value = 0.085129515"* ]] && ok || bad "--digits 8: $out"
out=$("$BIN" stats ttest "$TRIAL" --col vas_1m --by arm --format json)
[[ "$out" == *'"command": "ttest"'* && "$out" == *'"p": 0.0851295151274431'* && "$out" == *'"warnings": []'* ]] &&
  ok || bad "ttest json: $out"
out=$("$BIN" stats ttest "$TRIAL" --col vas_1m --by arm --format csv)
[[ "$(head -1 <<<"$out")" == group1,group2,method,statistic,df,p,* && $(wc -l <<<"$out") -eq 2 ]] && ok ||
  bad "ttest csv: $out"

# options from a JSON config (a value there outlives the parse), overridden by the command line
printf '{"col": "vas_1m", "by": "arm", "welch": true, "digits": 6}\n' >"$T/t.json"
out=$("$BIN" stats ttest "$TRIAL" --config "$T/t.json" --no-welch)
[[ "$out" == *" Two Sample t-test"* && "$out" != *Welch* && "$out" == *"p-value = 0.0851295"* ]] && ok || bad "--config: $out"
printf '{"col": "vas_1m", "by": "arm", "exact": true}\n' >"$T/bad.json"
expect_fail 2 "unknown key 'exact'" -- "$BIN" stats ttest "$TRIAL" --config "$T/bad.json"

# --digits reaches the fixed-layout tables too (diag: sensitivity 45/52)
out=$("$BIN" stats diag --tp 45 --fp 12 --fn 7 --tn 86 --digits 10)
[[ "$out" == *"0.8653846154   0.7472667983 .. 0.9332311829"* ]] && ok || bad "diag --digits 10: $out"
out=$("$BIN" stats diag --tp 45 --fp 12 --fn 7 --tn 86)
[[ "$out" == *"0.8654   0.7473 .. 0.9332"* ]] && ok || bad "diag default digits: $out"

# --ref-group: W is the first group's U, so the two orders add up to n1 * n2 = 41 * 41
w1=$("$BIN" stats mannwhitney "$TRIAL" --col pfirrmann --by arm --format csv | awk -F, 'NR==2{print $4}')
w2=$("$BIN" stats mannwhitney "$TRIAL" --col pfirrmann --by arm --ref-group PRF --format csv | awk -F, 'NR==2{print $4}')
[[ $(awk -v a="$w1" -v b="$w2" 'BEGIN{print a + b}') == 1681 ]] && ok || bad "--ref-group: W $w1 and $w2"
out=$("$BIN" stats mannwhitney "$TRIAL" --col pfirrmann --by arm --levels PRF,ESI 2>&1)
[[ "$out" == *"PRF: n = 41, ESI: n = 41"* ]] && ok || bad "--levels: $out"
expect_fail 2 "no group 'XYZ'" -- "$BIN" stats mannwhitney "$TRIAL" --col age --by arm --ref-group XYZ

# Table 1 in another group order: the columns swap, the one-sided warning turns to "less"
out=$("$BIN" stats table "$TRIAL" --group arm --vars vas_1m:c --ref-group PRF 2>"$T/err")
[[ "$(sed -n 2p <<<"$out")" == "Characteristic"*"PRF (n = 41)"*"ESI (n = 41)"* && "$out" == *"only the one-sided p (less, p = 0.043)"* ]] &&
  ok || bad "table --ref-group: $out"
out=$("$BIN" stats table "$TRIAL" --group pfirrmann --vars age:c --levels 3,5 2>&1)
[[ "$out" == *"3 (n = 22)"*"5 (n = 15)"* && "$out" != *"2 (n = "* && "$out" == *"or in another group excluded"* ]] &&
  ok || bad "table --levels: $out"

# warnings where R warns: stderr and the JSON
out=$("$BIN" stats mannwhitney "$TRIAL" --col pfirrmann --by arm --exact --format json 2>"$T/err")
[[ "$(cat "$T/err")" == *"warning: cannot compute exact p-value with ties"* &&
   "$out" == *'"warnings": ["cannot compute exact p-value with ties'* ]] && ok || bad "ties warning: $out $(cat "$T/err")"
out=$("$BIN" stats chisq "$TRIAL" --col complication --by arm --format json 2>"$T/err")
[[ "$(cat "$T/err")" == *"Chi-squared approximation may be incorrect"* &&
   "$out" == *'"warnings": ["Chi-squared approximation may be incorrect'* ]] && ok || bad "chisq warning: $out"
"$BIN" stats table "$TRIAL" --group arm --vars vas_1m:c >/dev/null 2>"$T/err"
grep -q "warning: vas_1m: only the one-sided p" "$T/err" && ok || bad "one-sided warning: $(cat "$T/err")"

# scores: a patient with 3 blank ODI sections is NA with the reason; the others are scored
printf 'id,odi1,odi2,odi3,odi4,odi5,odi6,odi7,odi8,odi9,odi10\nP1,2,1,3,2,2,1,1,2,1,1\nP2,2,,3,,2,,1,2,1,1\nP3,1,1,1,1,1,1,1,1,1,1\n' >"$T/odi.csv"
out=$("$BIN" stats score odi "$T/odi.csv" --id id 2>"$T/err")
rc=$?
[[ $rc -eq 0 && "$out" == *"P1,32,16,10,moderate disability,"* && "$out" == *"P2,,,7,,3 of 10 sections blank (at most 2 allowed)"* &&
   "$out" == *"P3,20,10,10,minimal disability,"* ]] && ok || bad "odi NA row (exit $rc): $out"
grep -q "warning:.*row 2 (P2): odi not scored: 3 of 10 sections blank" "$T/err" && ok || bad "odi warning: $(cat "$T/err")"
# a malformed cell anywhere: exit 2 and nothing on stdout (no torn CSV)
printf 'id,odi1,odi2,odi3,odi4,odi5,odi6,odi7,odi8,odi9,odi10\nP1,2,1,3,2,2,1,1,2,1,1\nP2,2,1,3,2,2,1,9,2,1,1\n' >"$T/bad.csv"
out=$("$BIN" stats score odi "$T/bad.csv" 2>"$T/err")
rc=$?
[[ $rc -eq 2 && -z "$out" && "$(cat "$T/err")" == *"row 2 (line 3)"*"section 7 (sleeping): 9"* ]] && ok ||
  bad "odi bad cell (exit $rc): stdout '$out' stderr $(cat "$T/err")"
printf 'id,odi1,odi2,odi3,odi4,odi5,odi6,odi7,odi8,odi9,odi10\nP1,2,1,3,2,2,1,1,2,1,1\nP2,2,x,3,2,2,1,1,2,1,1\n' >"$T/bad.csv"
out=$("$BIN" stats score odi "$T/bad.csv" --out "$T/scores.csv" 2>"$T/err")
rc=$?
[[ $rc -eq 2 && ! -e "$T/scores.csv" && "$(cat "$T/err")" == *"column 'odi2', row 2 (line 3): 'x'"* ]] && ok ||
  bad "odi text cell (exit $rc): $(cat "$T/err")"
out=$("$BIN" stats score odi "$T/odi.csv" --id id --format json 2>/dev/null)
[[ "$out" == *'"id": "P2", "odi_percent": null, "odi_answered": 7, "reason": "3 of 10 sections blank'* ]] && ok ||
  bad "odi json: $out"
finish
