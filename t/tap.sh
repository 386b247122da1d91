# TAP helpers for the shell tests, sourced, not run (the shell side of
# t/tap.h): ok, diag, run and is_rc.  The sourcing script prints the plan.
tap_n=0
tap_failed=0

# ok STATUS DESCRIPTION: one test, passed when STATUS is 0.
ok() {
    tap_n=$((tap_n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $tap_n - $2"
    else
        echo "not ok $tap_n - $2"
        tap_failed=$((tap_failed + 1))
    fi
}

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# run CMD...: run a command, keep its stdout+stderr in $out and status in $rc.
run() {
    out=$("$@" 2>&1)
    rc=$?
}

# is_rc WANT DESCRIPTION
is_rc() {
    [ "$rc" -eq "$1" ]
    ok $? "$2 (exit $rc, want $1)"
    [ "$rc" -eq "$1" ] || diag "$out"
}
