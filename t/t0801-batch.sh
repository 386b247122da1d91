#!/bin/sh
# qib batch, status and gather on eight phantom cases, one with a truncated
# CT: seven succeed, one fails without stopping the others; status.json per
# case; the cohort table has the seven; --resume reruns exactly the fixed
# case, then exactly the case whose input changed.
. "${top_srcdir:?}/t/t0800-lib.sh"

phantoms 1 2 3 4 5 6 7 8 || { echo "Bail out! qib phantom failed"; exit 1; }
d="$tmp/data"
good8=$(sha "$d/p8/ct.nii.gz")
cp "$d/p8/ct.nii.gz" "$d/p8/full.nii.gz"
head -c 300 "$d/p8/full.nii.gz" > "$d/p8/ct.nii.gz"
{
    echo "case,ct,roi"
    for i in 1 2 3 4 5 6 7 8; do echo "p$i,p$i/ct.nii.gz,p$i/roi.nii.gz"; done
} > "$d/cohort.csv"

# Relative paths are taken from the CSV's directory, not the current one.
cd "$tmp" || exit 1
run "$QIB" batch "$pipeline" data/cohort.csv --out "$tmp/out" -j 3
is_rc 1 "one failed case: exit 1"
has "qib batch: case p8 failed after " "the failed case is named"
has "truncated .gz file" "with its cause"
has "7 ok, 1 failed" "the summary counts"
n=0
for i in 1 2 3 4 5 6 7; do
    [ -f "$tmp/out/cases/p$i/lesion-intensity.csv" ] && [ -f "$tmp/out/cases/p$i/provenance.json" ] &&
        [ "$(json "$tmp/out/cases/p$i/status.json" 'j["status"]')" = ok ] && n=$((n + 1))
done
is "$n" 7 "seven cases have their table, provenance.json and status ok"
s8="$tmp/out/cases/p8/status.json"
jcheck "$s8" 'j["status"], j["exit_status"], j["signal"]' "('failed', 1, None)" "p8: failed, exit 1"
jcheck "$s8" '"truncated .gz file" in j["error"] and "step \"ct\" (read.nifti" in j["error"]' true \
    "p8: the error is the run's message"
[ ! -f "$tmp/out/cases/p8/lesion-intensity.csv" ]
ok $? "p8 left no table"
s1="$tmp/out/cases/p1/status.json"
jcheck "$s1" 'j["pipeline"]["sha256"]' "$(sha "$pipeline")" "status.json: the pipeline's SHA-256"
jcheck "$s1" '[(i["name"], i["sha256"]) for i in j["inputs"]]' \
    "[('ct', '$(sha "$d/p1/ct.nii.gz")'), ('roi', '$(sha "$d/p1/roi.nii.gz")')]" \
    "status.json: each input's SHA-256"
jcheck "$s1" 'j["qib_version"] == json.load(open(sys.argv[1].replace("status.json", "provenance.json")))["qib"]["version"]' \
    true "status.json: the qib version"
jcheck "$s1" 'j["exit_status"], j["error"], j["slurm"], j["threads"]' "(0, None, None, 1)" \
    "status.json: exit 0, no error, no Slurm, one thread"
jcheck "$s1" 'j["wall_seconds"] > 0 and j["started"] <= j["finished"] and bool(j["host"]["hostname"])' \
    true "status.json: timings and host"
jcheck "$tmp/out/batch.json" 'j["cases"]' "['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8']" \
    "batch.json lists the cases in the table's order"

run "$QIB" status "$tmp/out"
is_rc 1 "status: not every case is ok"
has "8 cases: 7 ok, 1 failed, 0 interrupted, 0 not run" "status counts"
line=$(printf '%s\n' "$out" | grep '^p8 ')
case $line in
*failed*"truncated .gz file"*) ok 0 "status: p8's line has its cause" ;;
*) ok 1 "status: p8's line has its cause"; diag "$out" ;;
esac

run "$QIB" gather "$tmp/out"
is_rc 0 "gather"
has "case p8 left out: failed" "gather names the case left out"
c="$tmp/out/cohort.csv"
is "$(wc -l < "$c" | tr -d ' ')" 8 "cohort.csv: a header and seven rows"
is "$(head -n 1 "$c")" "case,$(head -n 1 "$tmp/out/cases/p1/lesion-intensity.csv")" \
    "cohort.csv: \"case\" first, then the table's columns"
is "$(grep '^p5,' "$c")" "p5,$(sed -n 2p "$tmp/out/cases/p5/lesion-intensity.csv")" \
    "cohort.csv: p5's row is p5's table row"
is "$(cut -d, -f1 "$c" | tr '\n' ' ')" "case p1 p2 p3 p4 p5 p6 p7 " "cohort.csv: cases in order, no p8"
before=$(sha "$c")
run "$QIB" gather "$tmp/out" --all
is_rc 1 "gather --all with a failed case"
has "1 of 8 cases not ok (--all); no table written" "gather --all says how many and that nothing was written"
is "$(sha "$c")" "$before" "gather --all: cohort.csv untouched"

# Fix p8: --resume reruns it and nothing else.
cp "$d/p8/full.nii.gz" "$d/p8/ct.nii.gz"
[ "$(sha "$d/p8/ct.nii.gz")" = "$good8" ]
before=$(cat "$tmp/out/cases/p1/status.json")
run "$QIB" batch "$pipeline" data/cohort.csv --out "$tmp/out" -j 2 --resume
is_rc 0 "resume: every case ok now"
is "$(printf '%s\n' "$out" | grep -c 'runs again')" 1 "resume: one case runs again"
has "case p8 runs again: its last run did not succeed" "resume: it is p8, and why"
has "1 ok, 0 failed, 7 up to date" "resume: seven up to date"
is "$(cat "$tmp/out/cases/p1/status.json")" "$before" "resume: p1's status.json untouched"
run "$QIB" status "$tmp/out"
is_rc 0 "status: all ok"
run "$QIB" gather "$tmp/out" --all
is_rc 0 "gather --all: every case ok"
is "$(wc -l < "$c" | tr -d ' ')" 9 "gather after resume: eight rows"

# A changed input file: that case, and only it, runs again.
cp "$d/p4/ct.nii.gz" "$d/p3/ct.nii.gz"
run "$QIB" batch "$pipeline" data/cohort.csv --out "$tmp/out" --resume
is_rc 0 "resume after an input changed"
is "$(printf '%s\n' "$out" | grep 'runs again')" \
    "qib batch: case p3 runs again: its inputs, parameters or the pipeline changed" \
    "only p3 runs again"
jcheck "$tmp/out/cases/p3/status.json" '[i["sha256"] for i in j["inputs"]][0]' \
    "$(sha "$d/p4/ct.nii.gz")" "p3's status.json has the new digest"
run "$QIB" batch "$pipeline" data/cohort.csv --out "$tmp/out" --resume -q
is_rc 0 "resume with nothing to do"
is "$out" "" "-q: silent"

# A table with a units row: gathered once, under the header.
sed 's/with: {path: lesion-intensity.csv}/with: {path: lesion-intensity.csv, units_row: true}/' \
    "$pipeline" > "$tmp/units.yaml"
printf 'case,ct,roi\nu1,p1/ct.nii.gz,p1/roi.nii.gz\nu2,p2/ct.nii.gz,p2/roi.nii.gz\n' > "$d/units.csv"
run "$QIB" batch "$tmp/units.yaml" "$d/units.csv" --out "$tmp/units" -q
is_rc 0 "a pipeline writing a units row"
u="$tmp/units/cases/u1/lesion-intensity.csv"
case $(sed -n 2p "$u") in
*mL*) ok 0 "the case's table has its units row" ;;
*) ok 1 "the case's table has its units row"; diag "$(cat "$u")" ;;
esac
run "$QIB" gather "$tmp/units"
is "$(sed -n 2p "$tmp/units/cohort.csv")" ",$(sed -n 2p "$u")" "the units row once, case cell empty"
is "$(sed -n '3,$p' "$tmp/units/cohort.csv" | cut -d, -f1 | tr '\n' ' ')" "u1 u2 " "then one row per case"
is "$(sed -n 4p "$tmp/units/cohort.csv")" "u2,$(sed -n 3p "$tmp/units/cases/u2/lesion-intensity.csv")" \
    "u2's data row"

# On a terminal: the progress line (script(1) gives the batch one).
if command -v script >/dev/null 2>&1; then
    out=$(script -qc "'$QIB' batch '$tmp/units.yaml' '$d/units.csv' --out '$tmp/tty' -j 2" /dev/null \
        2>&1 | tr '\r' '\n')
    has "qib batch: 0 done, 0 failed, 2 running, 0 left; 0:00 elapsed, ETA ?" "progress: both running"
    has "qib batch: 2 done, 0 failed, 0 running, 0 left; " "progress: both done"
else
    tap_n=$((tap_n + 2))
    echo "ok $((tap_n - 1)) # SKIP script(1) is needed for a terminal"
    echo "ok $tap_n # SKIP script(1) is needed for a terminal"
fi

# Per-case parameters (param:NAME columns) and the Slurm variables.
{
    echo "case,roi,ct,param:lower"
    echo "a,p1/roi.nii.gz,p1/ct.nii.gz,100"
    echo "b,p1/roi.nii.gz,p1/ct.nii.gz,"
} > "$d/params.csv"
SLURM_JOB_ID=4242 SLURM_ARRAY_TASK_ID=7 run "$QIB" batch "$pipeline" "$d/params.csv" \
    --out "$tmp/par" -p upper=2000
is_rc 0 "per-case parameters"
if /usr/bin/python3 -c 'import nibabel' 2>/dev/null; then
want=$(/usr/bin/python3 -c 'import nibabel, numpy, sys
ct = numpy.asarray(nibabel.load(sys.argv[1]).dataobj)
roi = numpy.asarray(nibabel.load(sys.argv[2]).dataobj)
print(int(((roi > 0) & (ct >= 100)).sum()))' "$d/p1/ct.nii.gz" "$d/p1/roi.nii.gz" 2>&1)
got=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "voxels") k = i } NR == 2 { print $k }' \
    "$tmp/par/cases/a/lesion-intensity.csv")
is "$got" "$want" "case a: lower=100 keeps the lesion voxels >= 100 HU (nibabel count)"
else
    tap_n=$((tap_n + 1))
    echo "ok $tap_n # SKIP /usr/bin/python3 with nibabel is needed to count the voxels"
fi
got=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "voxels") k = i } NR == 2 { print $k }' \
    "$tmp/par/cases/b/lesion-intensity.csv")
is "$got" 52 "case b: an empty cell keeps the default (all 52 lesion voxels)"
jcheck "$tmp/par/cases/a/status.json" 'j["params"]' \
    "[{'name': 'upper', 'value': '2000'}, {'name': 'lower', 'value': '100'}]" \
    "status.json: the global and the case's parameters"
jcheck "$tmp/par/cases/a/provenance.json" '[(p["name"], p["value"], p["source"]) for p in j["params"]]' \
    "[('lower', 100, 'command line'), ('upper', 2000, 'command line')]" "provenance.json agrees"
jcheck "$tmp/par/cases/b/status.json" 'j["slurm"]' "{'job_id': '4242', 'array_job_id': None, 'array_task_id': '7'}" \
    "status.json: SLURM_JOB_ID and SLURM_ARRAY_TASK_ID"
finish
