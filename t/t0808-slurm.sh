#!/bin/sh
# qib batch --engine slurm on a throw-away single-node Slurm (started by
# the start-slurm.sh of the shared tools, MaxArraySize 4): eight cases in
# two arrays, each task a `qib run-case`; --wait; 7 ok and 1 failed with
# Slurm's job and task ids in status.json; --resume submits the fixed one.
# Skipped, with the reason, when Slurm is not installed or cannot start.
. "${top_srcdir:?}/t/t0800-lib.sh"

# The start/stop recipe lives beside the shared reference data.
tools=${QIB_SLURM_TOOLS:-${QIB_REFDATA:+$QIB_REFDATA/../tools/slurm}}
[ -n "$tools" ] || tools=$top_srcdir/../shared/tools/slurm
skip_all() {
    echo "1..0 # SKIP $1"
    exit 0
}
[ -x "$tools/start-slurm.sh" ] || skip_all "no start-slurm.sh in $tools (set QIB_SLURM_TOOLS)"
for p in sbatch squeue slurmctld slurmd munged; do
    command -v $p >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] ||
        skip_all "Slurm is not installed ($p missing; Debian: slurm-wlm)"
done
[ "$(id -u)" = 0 ] || skip_all "starting slurmd needs root"

# munged wants every directory above its socket searchable by all.
chmod a+x "$tmp"
SLURM_CI_DIR="$tmp/slurm"
SLURM_CI_INSTALL=0
SLURM_CI_MAX_ARRAY=4
SLURM_CI_TIMEOUT=30
# Ports of this test's own: another cluster may hold the default ones.
SLURM_CI_CTLD_PORT=$((20000 + ($$ % 5000) * 2))
SLURM_CI_SLURMD_PORT=$((SLURM_CI_CTLD_PORT + 1))
export SLURM_CI_DIR SLURM_CI_INSTALL SLURM_CI_MAX_ARRAY SLURM_CI_TIMEOUT SLURM_CI_CTLD_PORT \
    SLURM_CI_SLURMD_PORT
if ! "$tools/start-slurm.sh" > "$tmp/start.log" 2>&1; then
    "$tools/stop-slurm.sh" >/dev/null 2>&1
    skip_all "Slurm did not start: $(tail -n 1 "$tmp/start.log")"
fi
trap '"$tools/stop-slurm.sh" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
SLURM_CONF="$SLURM_CI_DIR/slurm.conf"
export SLURM_CONF

phantoms 1 2 3 4 5 6 7 8 || { echo "Bail out! qib phantom failed"; exit 1; }
d="$tmp/data"
cp "$d/p8/ct.nii.gz" "$d/p8/full.nii.gz"
head -c 300 "$d/p8/full.nii.gz" > "$d/p8/ct.nii.gz"
{
    echo "case,ct,roi"
    for i in 1 2 3 4 5 6 7 8; do echo "p$i,p$i/ct.nii.gz,p$i/roi.nii.gz"; done
} > "$d/cohort.csv"

run "$QIB" batch "$pipeline" "$d/cohort.csv" --out "$tmp/out" --engine slurm --wait
is_rc 1 "slurm: one case failed"
is "$(printf '%s\n' "$out" | grep -c '^qib batch: submitted job array ')" 2 \
    "MaxArraySize 4: two arrays for eight cases"
has "qib batch: case p8 failed: " "the failed case is named"
has "7 ok, 1 failed" "counts"
grep -q ' run-case ' "$tmp/out/slurm/array.sbatch"
ok $? "array.sbatch runs qib run-case"
is "$(cat "$tmp/out/slurm/cases.txt" | tr '\n' ' ')" "p1 p2 p3 p4 p5 p6 p7 p8 " "cases.txt lists the cases"
jcheck "$tmp/out/cases/p6/status.json" \
    'j["status"], j["slurm"]["array_task_id"], bool(j["slurm"]["job_id"]), bool(j["slurm"]["array_job_id"])' \
    "('ok', '1', True, True)" "p6: ok, task 1 of the second array, with the job ids"
jcheck "$tmp/out/cases/p8/status.json" 'j["status"], "truncated .gz file" in j["error"]' \
    "('failed', True)" "p8: failed, with its cause"
run "$QIB" gather "$tmp/out"
is "$(wc -l < "$tmp/out/cohort.csv" | tr -d ' ')" 8 "gather: seven rows"

cp "$d/p8/full.nii.gz" "$d/p8/ct.nii.gz"
run "$QIB" batch "$pipeline" "$d/cohort.csv" --out "$tmp/out" --engine slurm --wait --resume
is_rc 0 "resume on Slurm"
has "qib batch: submitted job array " "one array"
has "submitted job array" "submitted"
is "$(cat "$tmp/out/slurm/cases.txt")" "p8" "only p8 submitted"
has "1 ok, 0 failed" "and it succeeded"
run "$QIB" status "$tmp/out"
is_rc 0 "status: all ok"
finish
