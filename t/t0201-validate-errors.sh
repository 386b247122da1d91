#!/bin/sh
# qib validate: each class of pipeline error gives exactly one message, at the
# right line and column, saying what is wrong (t/data/pipelines/bad-*.yaml).
. "${top_srcdir:?}/t/t0200-lib.sh"

# file, expected "FILE:LINE:COL: start of message", fragments of the message
check() {
    file=$1
    shift
    run "$QIB" validate "$pipes/$file"
    is_rc 2 "$file: qib validate fails"
    n=$(count_lines "^$pipes/$file:[0-9]*:[0-9]*: \|^$pipes/$file: [^0-9]")
    [ "$n" -eq 1 ]
    ok $? "$file: exactly one message (got $n)"
    has_line "$pipes/$@" "$file: the message and its place"
}


check bad-syntax.yaml "bad-syntax.yaml:6:26: YAML syntax error: " "did not find expected ',' or ']'" \
    "while parsing a flow sequence at line 6, column 18"
check bad-not-mapping.yaml "bad-not-mapping.yaml:1:1: a pipeline file is a mapping" "found a list"
check bad-top-key.yaml "bad-top-key.yaml:3:1: unknown key \"descripton\" at the top level" \
    "(did you mean \"description\"?)"
check bad-version.yaml "bad-version.yaml:1:6: format version \"2\" is not supported" "qib: 1"
check bad-plugin.yaml "bad-plugin.yaml:7:13: step \"stats\": unknown plugin \"bio.rt_stat\"" \
    "(did you mean \"bio.rt_stats\"?)"
check bad-param-name.yaml "bad-param-name.yaml:9:12: step \"stats\" (bio.rt_stats 1.0.0): " \
    "unknown parameter \"scal\"" "did you mean \"scale\"?"
check bad-param-type.yaml "bad-param-type.yaml:10:14: step \"stats\" (bio.rt_stats 1.0.0): " \
    "parameter \"scale\"" "number" "\"abc\""
check bad-param-range.yaml "bad-param-range.yaml:6:18: step \"src\" (read.rt_source 1.0.0): " \
    "parameter \"size\"" "100" "maximum 64"
check bad-param-missing.yaml "bad-param-missing.yaml:7:13: step \"roi\" (seg.rt_threshold 1.0.0): " \
    "missing required parameter \"lower\""
check bad-port-unwired.yaml "bad-port-unwired.yaml:7:13: step \"stats\" (bio.rt_stats 1.0.0): " \
    "required input \"image\" (volume) is not wired"
check bad-port-unknown.yaml "bad-port-unknown.yaml:8:22: step \"stats\" (bio.rt_stats 1.0.0): " \
    "no input port \"maks\"" "(did you mean \"mask\"?)"
check bad-port-table.yaml "bad-port-table.yaml:11:17: step \"again\" (bio.rt_stats 1.0.0): " \
    "input \"image\" takes a volume" "is a table"
check bad-port-mask.yaml "bad-port-mask.yaml:11:28: step \"stats\" (bio.rt_stats 1.0.0): " \
    "input \"mask\" takes a mask" "is a volume that is not a mask" "set as: mask in step \"roi\""
check bad-dup-id.yaml "bad-dup-id.yaml:6:9: duplicate step id \"src\"" "(first at line 4)"
check bad-ref-later.yaml "bad-ref-later.yaml:6:17: step \"stats\" (bio.rt_stats 1.0.0): " \
    "step \"src\" comes later (line 7)"
check bad-ref-unknown.yaml "bad-ref-unknown.yaml:8:17: step \"stats\" (bio.rt_stats 1.0.0): " \
    "no step \"sourc\"" "(did you mean \"source\"?)"
check bad-ref-port.yaml "bad-ref-port.yaml:8:17: step \"stats\" (bio.rt_stats 1.0.0): " \
    "step \"src\" (read.rt_source) has no output \"volume\"" "its outputs: image"
check bad-subst-input.yaml "bad-subst-input.yaml:8:19: \"\${inputs.nte}\": " \
    "no input \"nte\"" "(did you mean \"note\"?)"
check bad-subst-param.yaml "bad-subst-param.yaml:8:25: \"\${params.strat}\": " \
    "no parameter \"strat\"" "(did you mean \"start\"?)"
check bad-subst-other.yaml "bad-subst-other.yaml:7:17: unknown substitution \"\${env.HOME}\"" \
    "\${inputs.NAME}, \${params.NAME} or \${out}"
check bad-out-escape.yaml "bad-out-escape.yaml:12:18: step \"save\" (export.rt_csv 1.0.0): " \
    "parameter \"path\"" "\"../escaped.csv\" leaves the output directory"
check bad-dup-key.yaml "bad-dup-key.yaml:6:22: duplicate key \"start\"" "(first at line 6, column 12)"
check bad-deep.yaml "bad-deep.yaml:3:39: nesting deeper than 32 levels"
check bad-utf8.yaml "bad-utf8.yaml:2:6: not UTF-8 text: byte 0xE9"

# The alias bomb: refused at its first anchor, at once, and nothing expanded.
start=$(date +%s)
check bad-alias-bomb.yaml "bad-alias-bomb.yaml:3:7: YAML anchors and aliases (&a, *a) are not allowed"
end=$(date +%s)
[ $((end - start)) -le 5 ]
ok $? "the alias bomb is refused quickly ($((end - start)) s)"

# Three errors of three kinds in one file: all three, in file order.
run "$QIB" validate "$pipes/bad-three.yaml"
is_rc 2 "bad-three.yaml: qib validate fails"
n=$(count_lines "^$pipes/bad-three.yaml:[0-9]*:[0-9]*: ")
[ "$n" -eq 3 ]
ok $? "bad-three.yaml: three messages (got $n)"
has_line "$pipes/bad-three.yaml:5:13: " "unknown plugin \"read.rt_sorce\"" "(did you mean \"read.rt_source\"?)" \
    "bad-three.yaml: the unknown plugin"
has_line "$pipes/bad-three.yaml:9:19: " "parameter \"scale\"" "1000" "maximum 100" \
    "bad-three.yaml: the value out of range"
has_line "$pipes/bad-three.yaml:13:19: " "\"\${params.out}\"" "no parameter \"out\"" \
    "bad-three.yaml: the unknown substitution"
lines=$(printf '%s\n' "$out" | sed -n "s|^$pipes/bad-three.yaml:\([0-9]*\):.*|\1|p" | tr '\n' ' ')
[ "$lines" = "5 9 13 " ]
ok $? "bad-three.yaml: messages in file order (lines $lines)"
has_line "$pipes/bad-three.yaml: 3 errors" "bad-three.yaml: the count"

# The valid pipeline passes.
run "$QIB" validate "$pipes/rt-good.yaml"
is_rc 0 "rt-good.yaml is valid"
has_line "$pipes/rt-good.yaml: valid" "pipeline \"rt-good\", 5 steps" "rt-good.yaml: says so"
finish
