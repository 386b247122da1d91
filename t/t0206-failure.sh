#!/bin/sh
# A step that fails: exit status 1, one message with the pipeline's place,
# the step and the plugin, no output file left (committed or half written),
# and provenance.json with status "failed" and the same message.
. "${top_srcdir:?}/t/t0200-lib.sh"

run "$QIB" run "$pipes/rt-fail.yaml" --out "$tmp/f" -q
is_rc 1 "a failing step fails the run"
msg="$pipes/rt-fail.yaml:14:5: step \"bad\" (export.rt_csv 1.0.0): sub/bad.csv: failing on purpose after the header"
[ "$out" = "$msg" ]
ok $? "one message: place, step, plugin, the plugin's reason"
[ "$out" = "$msg" ] || diag "got: $out" "want: $msg"
left=$(cd "$tmp/f" && find . ! -type d | sort | tr '\n' ' ')
[ "$left" = "./provenance.json " ]
ok $? "only provenance.json is left (got: $left)"
p="$tmp/f/provenance.json"
jcheck "$p" 'j["status"]' failed "status failed"
jcheck "$p" 'j["error"]' "$msg" "with the error"
jcheck "$p" '[s["status"] for s in j["steps"]]' "['ok', 'ok', 'ok', 'failed', 'not run']" \
    "each step's status"
jcheck "$p" 'j["steps"][3]["error"]' "sub/bad.csv: failing on purpose after the header" "the step's own error"
jcheck "$p" '[f["path"] for f in j["files_removed"]]' "['first.csv']" "the committed file was removed"
jcheck "$p" 'j["files"]' "[]" "no output files"

run "$QIB" run "$pipes/rt-grid.yaml" --out "$tmp/g"
is_rc 1 "a mask on another grid fails the measuring step"
has_line "$pipes/rt-grid.yaml:11:5: step \"stats\" (bio.rt_stats 1.0.0): mask: " "names the step and the problem"
has_line "qib: [3/3] stats (bio.rt_stats 1.0.0): failed after " "the step line says failed"
jcheck "$tmp/g/provenance.json" '[s["status"] for s in j["steps"]]' "['ok', 'ok', 'failed']" "recorded"

# An output directory that cannot be created.
printf 'x' > "$tmp/file"
run "$QIB" run "$pipes/rt-last.yaml" --out "$tmp/file/sub"
is_rc 1 "an output directory that cannot be created"
has_line "$tmp/file/sub: cannot create the output directory" "says why"
finish
