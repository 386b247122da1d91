#!/bin/sh
# SIGINT or SIGTERM during a run: the run stops after the step that is
# running, exits 130, removes every output file of the run (the half-written
# one and the ones already committed), and leaves provenance.json saying
# "interrupted".
. "${top_srcdir:?}/t/t0200-lib.sh"

# interrupt SIGNAL DIR: start the slow pipeline, send SIGNAL while its last
# step holds a half-written file, wait; $rc, $out and $seen are set.
interrupt() {
    "$QIB" run "$pipes/rt-slow.yaml" --out "$2" > "$tmp/log" 2>&1 &
    pid=$!
    seen=1
    i=0
    while [ $i -lt 400 ]; do
        if ls -A "$2" 2>/dev/null | grep -q '^\.slow\.csv\.tmp-'; then
            seen=0
            break
        fi
        sleep 0.05
        i=$((i + 1))
    done
    kill -s "$1" $pid
    wait $pid
    rc=$?
    out=$(cat "$tmp/log")
}

for sig in INT TERM; do
    d="$tmp/$sig"
    interrupt $sig "$d"
    ok $seen "SIG$sig: the slow step had its temporary file open"
    is_rc 130 "SIG$sig: exit status 130"
    left=$(ls -A "$d" | tr '\n' ' ')
    [ "$left" = "provenance.json " ]
    ok $? "SIG$sig: only provenance.json is left (got: $left)"
    p="$d/provenance.json"
    jcheck "$p" 'j["status"]' interrupted "SIG$sig: provenance says interrupted"
    jcheck "$p" 'sorted(f["path"] for f in j["files_removed"])' "['first.csv', 'slow.csv']" \
        "SIG$sig: and lists the files removed"
    jcheck "$p" 'j["files"]' "[]" "SIG$sig: no output files"
    jcheck "$p" '"finished" in j and "interrupted" in j["error"]' true "SIG$sig: with the reason"
    has_line "qib: interrupted" "SIG$sig: the command says so"
done
finish
