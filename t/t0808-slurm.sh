#!/bin/sh
# qib batch --engine slurm on a throw-away single-node Slurm (started by
# the start-slurm.sh of the shared tools, MaxArraySize 4): eight cases in
# two arrays, each task a `qib run-case`; --wait; 7 ok and 1 failed with
# Slurm's job and task ids in status.json; --resume submits the fixed one.
# Then `qib status` and `qib gather` on cases that wrote no status.json:
# pending on hold, cancelled before they started and while running.
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

# Cases that wrote no status.json, as Slurm sees them (scontrol: no
# accounting here).  Six cases on hold in two arrays: pending.  The second
# array is cancelled before it starts.  Case f blocks opening its input (a
# FIFO without a writer, read for its digest before the case starts) and is
# cancelled while it runs: it never writes a status.json.
mkdir -p "$d/f"
cp "$d/p1/ct.nii.gz" "$d/f/ct.nii.gz"
{
    echo "case,ct,roi"
    for i in 2 3 4; do echo "p$i,p$i/ct.nii.gz,p$i/roi.nii.gz"; done
    echo "f,f/ct.nii.gz,p1/roi.nii.gz"
    for i in 5 6; do echo "p$i,p$i/ct.nii.gz,p$i/roi.nii.gz"; done
} > "$d/held.csv"
run "$QIB" batch "$pipeline" "$d/held.csv" --out "$tmp/held" --engine slurm --sbatch-arg=--hold
is_rc 0 "held: submitted"
a1=$(sed -n 2p "$tmp/held/slurm/arrays.tsv" | cut -f1)
a2=$(sed -n 3p "$tmp/held/slurm/arrays.tsv" | cut -f1)
is "$(cut -f2,3 "$tmp/held/slurm/arrays.tsv" | tr '\t\n' ' ;')" "offset count;0 4;4 2;" \
    "arrays.tsv: two arrays, offsets 0 and 4"
run "$QIB" status "$tmp/held"
is_rc 1 "status while held: not every case is ok"
has "6 cases: 0 ok, 0 failed, 0 interrupted, 6 pending, 0 not run" "status: six pending"
has "(slurm job ${a2}_1: PENDING, reason JobHeldUser)" "status: a task of the second array, held"
rm "$d/f/ct.nii.gz"
mkfifo "$d/f/ct.nii.gz"
scancel "$a2"
scontrol release "$a1"
# wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
wait_for() {
    n=$(($1 * 4))
    shift
    while ! "$@"; do
        n=$((n - 1))
        [ "$n" -gt 0 ] || return 1
        sleep 0.25
    done
}
f_running() {
    [ -f "$tmp/held/cases/p2/status.json" ] && [ -f "$tmp/held/cases/p3/status.json" ] &&
        [ -f "$tmp/held/cases/p4/status.json" ] &&
        [ "$(squeue -h -j "${a1}_3" -o %T 2>/dev/null)" = RUNNING ]
}
wait_for 60 f_running
ok $? "p2, p3 and p4 done, f running"
run "$QIB" status "$tmp/held"
has "(slurm job ${a1}_3: RUNNING" "status: f running"
has "6 cases: 3 ok, 0 failed, 0 interrupted, 1 running, 2 cancelled, 0 not run" \
    "status: 3 ok, 1 running, 2 cancelled before they started"
scancel "${a1}_3"
gone() { [ -z "$(squeue -h -j "$a1" 2>/dev/null)" ]; }
wait_for 30 gone
ok $? "f's task left the queue"
run "$QIB" status "$tmp/held"
is_rc 1 "status: not every case is ok"
has "6 cases: 3 ok, 0 failed, 0 interrupted, 3 cancelled, 0 not run" "status: three cancelled"
line=$(printf '%s\n' "$out" | grep '^f ' | tr -s ' ')
case $line in
"f cancelled "*"(slurm job ${a1}_3: CANCELLED"*")") ok 0 "f: cancelled while it ran" ;;
*) ok 1 "f: cancelled while it ran"; diag "$out" ;;
esac
line=$(printf '%s\n' "$out" | grep '^p6 ' | tr -s ' ')
is "$line" "p6 cancelled - (slurm job ${a2}_1: CANCELLED)" "p6: its array cancelled before it started"
run "$QIB" gather "$tmp/held"
is_rc 0 "gather: the three cases"
is "$(wc -l < "$tmp/held/cohort.csv" | tr -d ' ')" 4 "gather: three rows"
has "qib gather: case f left out: cancelled (slurm job ${a1}_3: CANCELLED" \
    "gather names the cancelled case with Slurm's reason"
has "qib gather: case p5 left out: cancelled (slurm job ${a2}_0: CANCELLED)" \
    "gather names a case cancelled before it started"
finish
