#!/bin/sh
# qib validate and qib run before any step: -p overrides (good and bad),
# --input checks, substitutions and their errors, declarations of inputs,
# parameters and outputs, output paths (escaping --out, reserved, written
# twice), and the plugin's own check().
. "${top_srcdir:?}/t/t0200-lib.sh"

# -p overrides
run "$QIB" validate "$pipes/rt-good.yaml" -p scale=5 -p lower=-2.5 -p size=[2,2,2]
is_rc 0 "valid overrides are accepted"
run "$QIB" validate "$pipes/rt-good.yaml" -p scale=11 -p lowr=3 -p size=[1,2] -p lower=abc
is_rc 2 "bad overrides are refused"
has_line "$pipes/rt-good.yaml: -p scale=11: " "parameter \"scale\"" "11" "maximum 10" "(declared at line 13)" \
    "an override out of range"
has_line "$pipes/rt-good.yaml: -p lowr=3: " "no parameter \"lowr\" (did you mean \"lower\"?)" \
    "an override of an unknown parameter, with a suggestion"
has_line "$pipes/rt-good.yaml: -p size=[1,2]: " "3 numbers" "an override of the wrong shape"
has_line "$pipes/rt-good.yaml: -p lower=abc: " "expected a number" "an override of the wrong type"
n=$(count_lines "^$pipes/rt-good.yaml: -p ")
[ "$n" -eq 4 ]
ok $? "four overrides, four messages (got $n)"
run "$QIB" validate "$pipes/rt-good.yaml" -p scale
is_rc 2 "-p without = is a usage error"
has_line "qib validate: -p scale: expected NAME=VALUE" "and says so"
# A value the pipeline allows that makes a step's output path leave --out:
run "$QIB" validate "$pipes/rt-good.yaml" -p "name=../../x.csv"
is_rc 2 "an output path from an override that leaves --out is refused"
has_line "$pipes/rt-good.yaml:38:18: step \"save\" (export.rt_csv 1.0.0): " "leaves the output directory" \
    "(after substitution)" "at the place of the value that used it"

# --input
run "$QIB" run "$pipes/rt-good.yaml" --out "$tmp/never"
is_rc 2 "a missing required input is an error"
has_line "$pipes/rt-good.yaml:8:3: input \"note\" is required: give --input note=FILE" "at the input's declaration"
[ ! -e "$tmp/never" ]
ok $? "nothing was created"
run "$QIB" run "$pipes/rt-good.yaml" --out "$tmp/never" --input nott=x --input note="$tmp/none"
is_rc 2 "unknown and missing input files are errors"
has_line "$pipes/rt-good.yaml: --input nott=x: " "no input \"nott\" (did you mean \"note\"?)" "an unknown input"
has_line "$pipes/rt-good.yaml: --input note=$tmp/none: No such file or directory" "an input file that does not exist"
run "$QIB" run "$pipes/rt-subst.yaml" --out "$tmp/never" --input case=c1 --input first=abc
is_rc 2 "a number input that is not a number"
has_line "$pipes/rt-subst.yaml: --input first=abc: " "is a number" "says what it must be"
run "$QIB" run "$pipes/rt-subst.yaml" --out "$tmp/never" --input case=../../evil
is_rc 2 "an output path built from an input that leaves --out"
has_line "$pipes/rt-subst.yaml:27:18: step \"save\" (export.rt_csv 1.0.0): " \
    "\"../../evil/stats.csv\" leaves the output directory" "is refused before anything runs"
[ ! -e "$tmp/never" ]
ok $? "and nothing was created"

# substitutions
run "$QIB" validate "$pipes/rt-subst.yaml"
is_rc 0 "inputs left out are not errors for validate"
run "$QIB" validate "$pipes/bad-subst-unclosed.yaml"
is_rc 2 "an unclosed \${"
has_line "$pipes/bad-subst-unclosed.yaml:8:38: \"\${\" is not closed" "at the second \${ of the value"
run "$QIB" validate "$pipes/bad-subst-list.yaml"
is_rc 2 "a list parameter inside a text"
has_line "$pipes/bad-subst-list.yaml:8:25: \"\${params.size}\" is a list" "can only be the whole value" "says why"
run "$QIB" validate "$pipes/rt-subst.yaml" -p size=[1,1,65]
is_rc 2 "a list substituted whole is checked against the plugin"
has_line "$pipes/rt-subst.yaml:17:13: step \"src\" (read.rt_source 1.0.0): " "parameter \"size\"" \
    "65" "maximum 64" "(after substitution)" "with the plugin's range"
run "$QIB" validate "$pipes/rt-subst.yaml" -p mode=mask
is_rc 0 "an enum substituted from a parameter"
run "$QIB" validate "$pipes/rt-subst.yaml" -p mode=label
is_rc 2 "an enum parameter refuses a value not among its choices"
has_line "$pipes/rt-subst.yaml: -p mode=label: " "\"label\"" "volume, mask" "lists the choices"

# declarations
run "$QIB" validate "$pipes/bad-decl.yaml"
is_rc 2 "bad declarations of inputs and parameters"
n=$(count_lines "^$pipes/bad-decl.yaml:[0-9]*:[0-9]*: ")
[ "$n" -eq 7 ]
ok $? "seven declaration errors, all reported (got $n)"
has_line "$pipes/bad-decl.yaml:4:14: input \"ct\": unknown type \"image\"" "an unknown input type"
has_line "$pipes/bad-decl.yaml:5:31: input \"roi\": 'optional' must be true or false" "a bad boolean"
has_line "$pipes/bad-decl.yaml:7:6: parameter \"a\" has no default" "a parameter without default"
has_line "$pipes/bad-decl.yaml:10:27: default of parameter \"d\": 20 is above the maximum 10" \
    "a default outside the declared range"
run "$QIB" validate "$pipes/bad-outputs.yaml"
is_rc 2 "bad outputs"
has_line "$pipes/bad-outputs.yaml:14:17: output \"table\": no step writes \"stat.csv\"" \
    "(files the steps write: stats.csv)" "a file output no step writes"
has_line "$pipes/bad-outputs.yaml:15:19: output \"numbers\": " "no output \"tabel\"" "an unknown output port"
has_line "$pipes/bad-outputs.yaml:16:18: output \"volume\": no step \"srcc\" (did you mean \"src\"?)" \
    "an unknown step"
has_line "$pipes/bad-outputs.yaml:17:9: output \"both\" needs exactly one of" "both file and step"

# output paths
run "$QIB" validate "$pipes/bad-reserved.yaml"
is_rc 2 "provenance.json is reserved"
has_line "$pipes/bad-reserved.yaml:12:18: step \"save\": \"provenance.json\" is the run's record" \
    "even written as ./provenance.json"
run "$QIB" validate "$pipes/bad-dup-outfile.yaml"
is_rc 2 "two steps writing one file"
has_line "$pipes/bad-dup-outfile.yaml:16:18: step \"again\" writes \"out/stats.csv\", which step \"save\" writes too" \
    "is found through different spellings of the path"

# the plugin's check()
run "$QIB" validate "$pipes/bad-check.yaml"
is_rc 2 "the plugin's check() runs at validation"
has_line "$pipes/bad-check.yaml:6:5: step \"roi\" (seg.rt_threshold 1.0.0): lower (5) is above upper (1)" \
    "and its message carries the step's place"

# usage
run "$QIB" validate
is_rc 2 "validate without a file"
run "$QIB" validate "$tmp/nosuch.yaml"
is_rc 2 "a pipeline file that does not exist"
has_line "$tmp/nosuch.yaml: cannot open: No such file or directory" "says so"
finish
