#!/bin/sh
# A case killed by a signal fails alone: the other cases finish, its
# status.json names the signal.  SIGTERM to the batch stops the running
# cases cleanly (exit 130, status "interrupted") and starts no other.
# Uses the runner's fixture plugins and the slow pipeline of t0205.
. "${top_srcdir:?}/t/t0800-lib.sh"
QIB_PLUGIN_PATH="$top_builddir/t/fixtures/runner/.libs"
export QIB_PLUGIN_PATH
slow="$top_srcdir/t/data/pipelines/rt-slow.yaml"
if ! command -v ps >/dev/null 2>&1; then
    echo "1..0 # SKIP ps is needed to find a case's process"
    exit 0
fi

# wait_tmp DIR: until the slow step holds its half-written file in DIR.
wait_tmp() {
    i=0
    while [ $i -lt 400 ]; do
        ls -A "$1" 2>/dev/null | grep -q '^\.slow\.csv\.tmp-' && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

# A crash: case b is killed with SIGKILL while a and c run.
printf 'case,param:wait\na,1500\nb,5000\nc,1500\n' > "$tmp/three.csv"
"$QIB" batch "$slow" "$tmp/three.csv" --out "$tmp/k" -j 3 > "$tmp/klog" 2>&1 &
bpid=$!
wait_tmp "$tmp/k/cases/b"
ok $? "case b reached its slow step"
cpid=$(ps -o pid= -o args= --ppid $bpid | awk '/cases\/b/ { print $1 }')
[ -n "$cpid" ] && kill -KILL "$cpid"
wait $bpid
rc=$?
out=$(cat "$tmp/klog")
is_rc 1 "the batch goes on and fails"
has "2 ok, 1 failed" "the other two cases succeeded"
jcheck "$tmp/k/cases/b/status.json" 'j["status"], j["exit_status"], j["signal"]' \
    "('failed', None, 'KILL')" "b: failed, killed by SIGKILL"
jcheck "$tmp/k/cases/b/status.json" 'j["error"]' "killed by signal 9 (Killed)" \
    "b: the error says so"
jcheck "$tmp/k/cases/a/status.json" 'j["status"]' ok "a: ok"
jcheck "$tmp/k/cases/c/status.json" 'j["status"]' ok "c: ok"

# SIGTERM to the batch: two cases running, one waiting.
printf 'case\nx\ny\nz\n' > "$tmp/i.csv"
"$QIB" batch "$slow" "$tmp/i.csv" --out "$tmp/i" -j 2 -p wait=5000 > "$tmp/ilog" 2>&1 &
bpid=$!
wait_tmp "$tmp/i/cases/x" && wait_tmp "$tmp/i/cases/y"
ok $? "two cases are in their slow step"
kill -TERM $bpid
wait $bpid
rc=$?
out=$(cat "$tmp/ilog")
is_rc 130 "interrupted"
has "0 ok, 0 failed, 0 up to date, 3 interrupted or not run" "the summary says so"
jcheck "$tmp/i/cases/x/status.json" 'j["status"], j["exit_status"]' "('interrupted', 130)" \
    "x: interrupted, its run exited 130"
jcheck "$tmp/i/cases/x/provenance.json" 'j["status"]' interrupted "x: provenance.json agrees"
jcheck "$tmp/i/cases/y/status.json" 'j["status"]' interrupted "y: interrupted"
[ ! -e "$tmp/i/cases/z" ]
ok $? "z never started"
run "$QIB" status "$tmp/i"
has "3 cases: 0 ok, 0 failed, 2 interrupted, 1 not run" "status counts them"
finish
