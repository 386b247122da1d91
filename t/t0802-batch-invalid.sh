#!/bin/sh
# qib batch checks the pipeline and the whole cohort table before running
# anything: each problem named (exit 2), no directory made; and usage.
. "${top_srcdir:?}/t/t0800-lib.sh"

phantoms 1 || { echo "Bail out! qib phantom failed"; exit 1; }
d="$tmp/data"

# bad NAME CSV-TEXT EXPECTED-MESSAGE [options]: exit 2, the message, no DIR.
bad() {
    name=$1
    printf '%s' "$2" > "$d/$name.csv"
    msg=$3
    shift 3
    run "$QIB" batch "$pipeline" "$d/$name.csv" --out "$tmp/o-$name" "$@"
    is_rc 2 "$name: refused"
    has "$msg" "$name: says why"
    [ ! -e "$tmp/o-$name" ]
    ok $? "$name: nothing was made"
}

bad no-case "$(printf 'id,ct,roi\na,p1/ct.nii.gz,p1/roi.nii.gz\n')" \
    "no-case.csv: the header has no \"case\" column"
bad unknown-col "$(printf 'case,ct,rio\na,p1/ct.nii.gz,p1/roi.nii.gz\n')" \
    "column \"rio\" is neither \"case\", an input of the pipeline nor param:NAME (did you mean \"roi\"?)"
bad missing-input "$(printf 'case,ct\na,p1/ct.nii.gz\n')" \
    "no column for the pipeline's input \"roi\""
bad unsafe-id "$(printf 'case,ct,roi\n../x,p1/ct.nii.gz,p1/roi.nii.gz\n')" \
    "record 2: case \"../x\" is not a safe identifier: it starts with '.' or '-'"
bad slash-id "$(printf 'case,ct,roi\na/b,p1/ct.nii.gz,p1/roi.nii.gz\n')" \
    "case \"a/b\" is not a safe identifier: only letters"
bad dup-id "$(printf 'case,ct,roi\na,p1/ct.nii.gz,p1/roi.nii.gz\na,p1/ct.nii.gz,p1/roi.nii.gz\n')" \
    "record 3: case \"a\" already appears in record 2"
bad short-row "$(printf 'case,ct,roi\na,p1/ct.nii.gz\n')" \
    "record 2 has 2 fields; the header has 3"
bad empty-input "$(printf 'case,ct,roi\na,,p1/roi.nii.gz\n')" \
    "record 2: case \"a\": input \"ct\" is empty (it is required)"
bad bad-quote "$(printf 'case,ct,roi\n"a,p1/ct.nii.gz,p1/roi.nii.gz\n')" \
    "bad-quote.csv: line 2: a quoted field is not closed"
bad no-cases "$(printf 'case,ct,roi\n')" "no cases"
bad param-col "$(printf 'case,ct,roi,param:lowr\na,p1/ct.nii.gz,p1/roi.nii.gz,1\n')" \
    "column \"param:lowr\": the pipeline has no parameter \"lowr\""
bad param-value "$(printf 'case,ct,roi,param:lower\na,p1/ct.nii.gz,p1/roi.nii.gz,1\nb,p1/ct.nii.gz,p1/roi.nii.gz,abc\n')" \
    "demo-ct-lesion.yaml (case b): -p lower=abc: "
bad global-param "$(printf 'case,ct,roi\na,p1/ct.nii.gz,p1/roi.nii.gz\n')" \
    "-p lowr=1: the pipeline has no parameter \"lowr\" (did you mean \"lower\"?)" -p lowr=1

# Two problems at once: both reported.
printf 'case,ct,rio\n../x,p1/ct.nii.gz,p1/roi.nii.gz\n' > "$d/two.csv"
run "$QIB" batch "$pipeline" "$d/two.csv" --out "$tmp/o-two"
has "column \"rio\"" "every problem of the header is reported (1)"
has "no column for the pipeline's input \"roi\"" "every problem of the header is reported (2)"
has "2 errors; nothing was run" "and counted"

# An invalid pipeline: reported as qib validate does.
printf 'qib: 1\nname: x\nsteps:\n  - id: a\n    plugin: read.nifty\n' > "$tmp/bad.yaml"
printf 'case\na\n' > "$d/one.csv"
run "$QIB" batch "$tmp/bad.yaml" "$d/one.csv" --out "$tmp/o-pipe"
is_rc 2 "an invalid pipeline"
has "$tmp/bad.yaml:5:13: " "with the place of the error"

# Usage.
run "$QIB" batch "$pipeline" --out "$tmp/o"
is_rc 2 "usage: no cohort table"
run "$QIB" batch "$pipeline" "$d/one.csv"
is_rc 2 "usage: no --out"
run "$QIB" batch "$pipeline" "$d/one.csv" --out "$tmp/o" -j 0
is_rc 2 "usage: -j 0"
run "$QIB" batch --help
is_rc 0 "--help"
has "param:NAME" "--help explains the table"
run "$QIB" status "$tmp/nothing"
is_rc 2 "status: not a cohort directory"
run "$QIB" gather
is_rc 2 "gather: usage"
finish
