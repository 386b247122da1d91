#!/bin/sh
# qib status and qib gather ask Slurm about the cases that wrote no
# status.json: sacct when accounting works, else scontrol, else "not run"
# with a note.  Stand-ins for sbatch, squeue, sacct and scontrol on PATH
# answer as Slurm 22.05 does (the formats of -n -P -X -o and of scontrol -o,
# checked against a real cluster), so every state is tested everywhere;
# t0808 does the same against a real Slurm.
. "${top_srcdir:?}/t/t0800-lib.sh"

phantoms 1 2 3 4 5 6 7 8 || { echo "Bail out! qib phantom failed"; exit 1; }
d="$tmp/data"
{
    echo "case,ct,roi"
    for i in 1 2 3 4 5 6 7 8; do echo "p$i,p$i/ct.nii.gz,p$i/roi.nii.gz"; done
} > "$d/cohort.csv"

# The stand-ins: each logs its arguments to $fake/calls and answers from
# $fake/sacct.out, $fake/scontrol.JOB (absent: Slurm's own errors).
fake="$tmp/fake"
mkdir -p "$fake/bin"
cat > "$fake/bin/sbatch" <<'EOF'
#!/bin/sh
echo "sbatch $*" >> "$FAKE/calls"
n=$(cat "$FAKE/next" 2>/dev/null || echo 12)
echo $((n + 1)) > "$FAKE/next"
echo "$n"
EOF
cat > "$fake/bin/squeue" <<'EOF'
#!/bin/sh
echo "squeue $*" >> "$FAKE/calls"
EOF
cat > "$fake/bin/sacct" <<'EOF'
#!/bin/sh
echo "sacct $*" >> "$FAKE/calls"
if [ -f "$FAKE/sacct.out" ]; then cat "$FAKE/sacct.out"; exit 0; fi
echo "Slurm accounting storage is disabled"
exit 1
EOF
cat > "$fake/bin/scontrol" <<'EOF'
#!/bin/sh
echo "scontrol $*" >> "$FAKE/calls"
eval "job=\${$#}"
if [ -f "$FAKE/scontrol.$job" ]; then cat "$FAKE/scontrol.$job"; exit 0; fi
echo "slurm_load_jobs error: Invalid job id specified" >&2
exit 1
EOF
chmod +x "$fake/bin/"*
FAKE=$fake
export FAKE
fpath="$fake/bin:$PATH"

# Submission through the stand-in sbatch: two arrays of four (job ids 12
# and 13), recorded with their offsets; nothing runs, so --wait finds no
# status.json and asks sacct.
cat > "$fake/sacct.out" <<'EOF'
12_0|COMPLETED|0:0|00:00:01
12_1|TIMEOUT|0:0|00:01:00
12_2|OUT_OF_MEMORY|0:125|00:00:07
12_3|CANCELLED by 1000|0:15|00:00:03
13_0|NODE_FAIL|0:0|00:00:09
13_1|PREEMPTED|0:0|00:00:04
13_[2-3]|PENDING|0:0|00:00:00
EOF
out=$(PATH=$fpath "$QIB" batch "$pipeline" "$d/cohort.csv" --out "$tmp/out" --engine slurm \
    --max-array 4 --wait 2>&1)
rc=$?
is_rc 1 "batch --wait: cases without status.json failed"
is "$(cat "$tmp/out/slurm/jobs.txt")" "12,13" "jobs.txt: the two job ids"
is "$(cat "$tmp/out/slurm/arrays.tsv" | tr '\t\n' ' ;')" "job offset count;12 0 4;13 4 4;" \
    "arrays.tsv: each array's job id, offset in cases.txt and count"
has "qib batch: case p2 timeout (slurm job 12_1: TIMEOUT after 00:01:00) (see slurm/logs/)" \
    "batch --wait names Slurm's reason"
has "qib batch: 0 ok, 8 failed" "batch --wait counts them as failed"
is "$(grep -v '^sbatch' "$fake/calls" | tr '\n' ';')" \
    "squeue -h -j 12,13 -o %i %T;sacct -n -P -X -j 12,13 -o JobID,State,ExitCode,Elapsed;" \
    "squeue polled, then sacct asked about both arrays at once"
is "$(grep -c '^sbatch --parsable --array=0-3 --export=ALL,QIB_OFFSET=[04] ' "$fake/calls")" 2 \
    "sbatch: two arrays, offsets 0 and 4"

# The results of a local run stand for the cases that ran; the others'
# status.json files go, as if Slurm had killed them or not started them.
run "$QIB" batch "$pipeline" "$d/cohort.csv" --out "$tmp/local" -j 2 -q
is_rc 0 "a local run of the same cohort"
cp -r "$tmp/local/cases" "$tmp/out/"
for i in 2 3 4 5 6 7 8; do rm "$tmp/out/cases/p$i/status.json"; done

: > "$fake/calls"
run env PATH="$fpath" "$QIB" status "$tmp/out"
is_rc 1 "status: not every case is ok"
line() { printf '%s\n' "$out" | grep "^$1 " | tr -s ' '; }
is "$(line p1 | cut -d' ' -f1-2)" "p1 ok" "p1: its status.json says ok"
is "$(line p2)" "p2 timeout 60.0 s (slurm job 12_1: TIMEOUT after 00:01:00)" "sacct: TIMEOUT"
is "$(line p3)" "p3 out of memory 7.0 s (slurm job 12_2: OUT_OF_MEMORY after 00:00:07)" \
    "sacct: OUT_OF_MEMORY"
is "$(line p4)" "p4 cancelled 3.0 s (slurm job 12_3: CANCELLED by 1000 after 00:00:03)" \
    "sacct: CANCELLED by a user"
is "$(line p5)" "p5 node failure 9.0 s (slurm job 13_0: NODE_FAIL after 00:00:09)" "sacct: NODE_FAIL"
is "$(line p6)" "p6 preempted 4.0 s (slurm job 13_1: PREEMPTED after 00:00:04)" "sacct: PREEMPTED"
is "$(line p7)" "p7 pending - (slurm job 13_2: PENDING)" "sacct: a pending range, task 2"
is "$(line p8)" "p8 pending - (slurm job 13_3: PENDING)" "sacct: a pending range, task 3"
has "8 cases: 1 ok, 0 failed, 0 interrupted, 2 pending, 1 timeout, 1 out of memory, 1 cancelled, 1 node failure, 1 preempted, 0 not run" \
    "status: the counts name Slurm's states"
is "$(cat "$fake/calls")" "sacct -n -P -X -j 12,13 -o JobID,State,ExitCode,Elapsed" \
    "sacct answered for every case: scontrol not asked"

run env PATH="$fpath" "$QIB" gather "$tmp/out"
is_rc 0 "gather: the cases that ran are gathered"
is "$(wc -l < "$tmp/out/cohort.csv" | tr -d ' ')" 2 "gather: one row (p1)"
has "qib gather: case p2 left out: timeout (slurm job 12_1: TIMEOUT after 00:01:00)" \
    "gather names a killed case with Slurm's reason"
has "qib gather: case p7 left out: pending (slurm job 13_2: PENDING)" "and a pending one"
has "7 cases left out (not ok)" "gather counts the cases left out"
has "2 of them still queued or running in Slurm: the table is not final" \
    "gather says the table is not final"

# Without accounting: sacct fails, scontrol answers per job, with the
# pending tasks of an array in one record.
rm "$fake/sacct.out"
cat > "$fake/scontrol.12" <<'EOF'
JobId=20 ArrayJobId=12 ArrayTaskId=1 JobName=qib-demo UserId=u(1000) GroupId=u(1000) JobState=TIMEOUT Reason=TimeLimit Dependency=(null) ExitCode=0:0 RunTime=00:01:01 TimeLimit=00:01:00
JobId=21 ArrayJobId=12 ArrayTaskId=2 JobName=qib-demo UserId=u(1000) GroupId=u(1000) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=2:0 RunTime=00:00:01 TimeLimit=00:01:00
JobId=12 ArrayJobId=12 ArrayTaskId=3 JobName=qib-demo UserId=u(1000) GroupId=u(1000) JobState=RUNNING Reason=None Dependency=(null) ExitCode=0:0 RunTime=00:00:42 TimeLimit=00:01:00
EOF
cat > "$fake/scontrol.13" <<'EOF'
JobId=13 ArrayJobId=13 ArrayTaskId=0-1,3%2 JobName=qib-demo UserId=u(1000) GroupId=u(1000) JobState=PENDING Reason=Resources Dependency=(null) ExitCode=0:0 RunTime=00:00:00 TimeLimit=00:01:00
EOF
: > "$fake/calls"
run env PATH="$fpath" "$QIB" status "$tmp/out"
is "$(line p2)" "p2 timeout 61.0 s (slurm job 12_1: TIMEOUT after 00:01:01)" "scontrol: TIMEOUT"
is "$(line p3)" "p3 failed 1.0 s (slurm job 12_2: FAILED after 00:00:01, exit code 2:0)" \
    "scontrol: FAILED with its exit code"
is "$(line p4)" "p4 running 42.0 s (slurm job 12_3: RUNNING for 00:00:42)" "scontrol: RUNNING"
is "$(line p5)" "p5 pending - (slurm job 13_0: PENDING, reason Resources)" \
    "scontrol: PENDING with its reason"
is "$(line p8)" "p8 pending - (slurm job 13_3: PENDING, reason Resources)" \
    "scontrol: a task list with a throttle"
is "$(line p7)" "p7 not run - (slurm: job 13 lists no task 2: cancelled before it started, or ended longer ago than MinJobAge)" \
    "scontrol: a task its array no longer lists"
has "8 cases: 1 ok, 1 failed, 0 interrupted, 3 pending, 1 running, 1 timeout, 1 not run" \
    "status: the counts"
is "$(cat "$fake/calls" | tr '\n' ';')" \
    "sacct -n -P -X -j 12,13 -o JobID,State,ExitCode,Elapsed;scontrol -o show job 12;scontrol -o show job 13;" \
    "sacct first, then scontrol for each array"

# An array whose pending tasks were all cancelled one by one: its record
# says CANCELLED with no task.
cat > "$fake/scontrol.13" <<'EOF'
JobId=13 ArrayJobId=13 ArrayTaskId=4294967294 JobName=qib-demo UserId=u(1000) GroupId=u(1000) JobState=CANCELLED Reason=JobHeldUser Dependency=(null) ExitCode=0:0 RunTime=00:00:00 TimeLimit=00:01:00
EOF
run env PATH="$fpath" "$QIB" status "$tmp/out"
is "$(line p6)" "p6 cancelled - (slurm job 13_1: CANCELLED before it started)" \
    "scontrol: tasks cancelled before they started"

# Slurm knows nothing (its commands absent, or the jobs forgotten).
run env PATH=/nonexistent "$QIB" status "$tmp/out"
is_rc 1 "status without Slurm's commands"
is "$(line p2)" "p2 not run - (slurm: no record of job 12_1)" "not run, with a note"
has "8 cases: 1 ok, 0 failed, 0 interrupted, 7 not run" "the counts as before"
run env PATH=/nonexistent "$QIB" gather "$tmp/out"
has "qib gather: case p8 left out: not run (slurm: no record of job 13_3)" \
    "gather: not run, with the note"

# A directory written before arrays.tsv: the offsets are recovered from a
# case's status.json that records its array job and task...
cat > "$fake/sacct.out" <<'EOF'
13_[2-3]|PENDING|0:0|00:00:00
EOF
rm "$tmp/out/slurm/arrays.tsv" "$fake/scontrol.12" "$fake/scontrol.13"
python3 - "$tmp/out/cases/p1/status.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
j["slurm"] = {"job_id": "13", "array_job_id": "12", "array_task_id": "0"}
json.dump(j, open(sys.argv[1], "w"))
EOF
cp "$tmp/out/cases/p1/status.json" "$tmp/out/cases/p6/status.json"
python3 - "$tmp/out/cases/p6/status.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
j["case"] = "p6"
j["slurm"] = {"job_id": "20", "array_job_id": "13", "array_task_id": "1"}
json.dump(j, open(sys.argv[1], "w"))
EOF
run env PATH="$fpath" "$QIB" status "$tmp/out"
is "$(line p7)" "p7 pending - (slurm job 13_2: PENDING)" \
    "no arrays.tsv: offsets from a status.json's array task"
is "$(line p2)" "p2 not run - (slurm: no record of job 12_1)" "no arrays.tsv: the first array"
# ... else from the largest task Slurm knows in the first array.
rm "$tmp/out/cases/p6/status.json"
cat > "$fake/sacct.out" <<'EOF'
12_3|CANCELLED by 0|0:15|00:00:02
13_[0-3]|PENDING|0:0|00:00:00
EOF
run env PATH="$fpath" "$QIB" status "$tmp/out"
is "$(line p6)" "p6 pending - (slurm job 13_1: PENDING)" \
    "no arrays.tsv: offsets from the first array's largest task"
# One array only: its offset is 0.
echo 13 > "$tmp/out/slurm/jobs.txt"
cat > "$fake/sacct.out" <<'EOF'
13_[1-6]|PENDING|0:0|00:00:00
13_7|OUT_OF_MEMORY|0:125|00:00:05
EOF
run env PATH="$fpath" "$QIB" status "$tmp/out"
is "$(line p8)" "p8 out of memory 5.0 s (slurm job 13_7: OUT_OF_MEMORY after 00:00:05)" \
    "no arrays.tsv, one array: task 7 is the eighth case"

# A case Slurm stopped with SIGTERM stops cleanly and its status.json says
# interrupted; Slurm says why.
python3 - "$tmp/out/cases/p1/status.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
j["status"] = "interrupted"
j["error"] = "qib run: interrupted"
json.dump(j, open(sys.argv[1], "w"))
EOF
cat > "$fake/sacct.out" <<'EOF'
12_0|TIMEOUT|0:0|00:01:27
13_[0-7]|PENDING|0:0|00:00:00
EOF
: > "$fake/calls"
run env PATH="$fpath" "$QIB" status "$tmp/out"
case $(line p1) in
"p1 timeout "*" s (slurm job 12_0: TIMEOUT after 00:01:27)") ok 0 "interrupted by Slurm's time limit: timeout" ;;
*) ok 1 "interrupted by Slurm's time limit: timeout"; diag "$out" ;;
esac
is "$(cat "$fake/calls")" "sacct -n -P -X -j 13,12 -o JobID,State,ExitCode,Elapsed" \
    "the interrupted case's own array job is asked about"
run env PATH="$fpath" "$QIB" gather "$tmp/out"
has "qib gather: case p1 left out: timeout (slurm job 12_0: TIMEOUT after 00:01:27)" \
    "gather: the interrupted case with Slurm's reason"
printf '12_0|FAILED|130:0|00:00:05\n' > "$fake/sacct.out"
run env PATH="$fpath" "$QIB" status "$tmp/out"
case $(line p1) in
"p1 interrupted "*" s qib run: interrupted") ok 0 "interrupted otherwise: its own record stands" ;;
*) ok 1 "interrupted otherwise: its own record stands"; diag "$out" ;;
esac

# A cohort run here has no slurm/: Slurm is never asked.
: > "$fake/calls"
rm "$tmp/local/cases/p3/status.json"
run env PATH="$fpath" "$QIB" status "$tmp/local"
has "8 cases: 7 ok, 0 failed, 0 interrupted, 1 not run" "local cohort: not run"
is "$(cat "$fake/calls")" "" "local cohort: Slurm not asked"
finish
