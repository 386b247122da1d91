#!/bin/sh
# qib run end to end over the fixture plugins: the numbers, the files, the
# per-step log lines, and provenance.json (every field the format promises,
# digests checked against sha256sum).
. "${top_srcdir:?}/t/t0200-lib.sh"

printf 'a note\n' > "$tmp/note.txt"
od="$tmp/od"
run "$QIB" run "$pipes/rt-good.yaml" --input note="$tmp/note.txt" --input case=c01 \
    --out "$od" -p scale=3 --threads 2
is_rc 0 "qib run succeeds"

# The ramp 0..23 (4x3x2) plus 1 is 1..24; the threshold 3 keeps 3..24:
# 22 voxels, sum 297, times scale 3 = 891, mean 891 / 22 = 40.5.
printf 'voxels,sum,mean\n22,891,40.5\n' > "$tmp/want.csv"
cmp -s "$tmp/want.csv" "$od/tables/stats.csv"
ok $? "tables/stats.csv holds the hand-computed numbers"
n=$(count_lines '^qib: \[[1-5]/5\] ')
[ "$n" -eq 5 ]
ok $? "one log line per step (got $n)"
has_line "qib: [4/5] stats (bio.rt_stats 1.0.0): " " s, peak memory " " MiB" "a step line: id, plugin, time, memory"
left=$(cd "$od" && find . -type f | sort | tr '\n' ' ')
[ "$left" = "./provenance.json ./tables/stats.csv " ]
ok $? "only the output and provenance.json are in --out (got $left)"

p="$od/provenance.json"
sha() { sha256sum "$1" | cut -d' ' -f1; }
jcheck "$p" 'j["status"]' complete "status complete"
jcheck "$p" '"error" in j' false "no error"
jcheck "$p" 'j["qib_provenance"]' 1 "record format 1"
jcheck "$p" 'j["qib"]["version"]' "$("$QIB" --version | sed -n 's/^qib //p')" "qib version"
jcheck "$p" '{"cc", "cflags", "sanitizers"} <= set(j["qib"]["build"])' true "build flags"
jcheck "$p" 'j["host"]["hostname"] != "" and j["host"]["sysname"] != ""' true "host name and system"
jcheck "$p" 'j["threads"]' 2 "thread count"
jcheck "$p" 'bool(__import__("re").match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", j["started"])) and j["finished"] >= j["started"]' \
    true "start and end times in ISO 8601 UTC"
jcheck "$p" 'j["wall_seconds"] >= 0 and j["peak_rss_kib"] > 0' true "wall time and peak memory"
jcheck "$p" 'j["command"][:2]' "['qib', 'run']" "the command line"
jcheck "$p" 'j["pipeline"]["path"]' "$pipes/rt-good.yaml" "pipeline path"
jcheck "$p" 'j["pipeline"]["sha256"]' "$(sha "$pipes/rt-good.yaml")" "pipeline SHA-256 = sha256sum"
jcheck "$p" 'j["pipeline"]["name"]' rt-good "pipeline name"
jcheck "$p" 'j["pipeline"]["references"]' "['Test fixture pipeline; no publication']" "references"
jcheck "$p" '[(x["name"], x["value"], x["source"]) for x in j["params"]]' \
    "[('lower', 3, 'default'), ('size', [4, 3, 2], 'default'), ('scale', 3, 'command line'), ('name', 'stats.csv', 'default')]" \
    "pipeline parameters: typed values, default or command line"
jcheck "$p" '[(x["name"], x["value"], x.get("kind")) for x in j["inputs"]]' \
    "[('note', '$tmp/note.txt', 'file'), ('case', 'c01', None)]" "inputs"
jcheck "$p" 'j["inputs"][0]["sha256"]' "$(sha "$tmp/note.txt")" "input SHA-256 = sha256sum"
jcheck "$p" '[x["name"] for x in j["plugins"]]' \
    "['read.rt_source', 'seg.rt_inplace', 'seg.rt_threshold', 'bio.rt_stats', 'export.rt_csv']" \
    "each plugin once, in order of use"
jcheck "$p" 'j["plugins"][3]["version"]' 1.0.0 "plugin version"
so=$(json "$p" 'j["plugins"][3]["module"]')
jcheck "$p" 'j["plugins"][3]["sha256"]' "$(sha "$so")" "plugin module SHA-256 = sha256sum"
case $so in
"$top_builddir/t/fixtures/runner/.libs/"*) r=0 ;;
*) r=1 ;;
esac
ok $r "plugin module path ($so)"
jcheck "$p" '[s["id"] for s in j["steps"]]' "['src', 'shifted', 'roi', 'stats', 'save']" "steps"
jcheck "$p" 'all(s["status"] == "ok" for s in j["steps"])' true "every step ok"
jcheck "$p" 'all(s["wall_seconds"] >= 0 and s["peak_rss_kib"] > 0 for s in j["steps"])' true \
    "per-step time and memory"
jcheck "$p" 'j["steps"][0]["params"]' \
    "{'size': [4, 3, 2], 'start': 0, 'step': 1, 'as': 'volume', 'path': '$tmp/note.txt', 'label': 'c01', 'weights': [0.5, 1, 2]}" \
    "every parameter of a step, defaults included"
jcheck "$p" 'j["steps"][0]["params_given"]' "['size', 'path', 'label', 'weights']" "which were given"
jcheck "$p" 'j["steps"][0]["records"]' "{'label': 'c01', 'weights': '3'}" "records of qib_step_record"
jcheck "$p" 'j["steps"][0]["files_read"][0]["sha256"]' "$(sha "$tmp/note.txt")" "files a step read"
jcheck "$p" 'j["steps"][0]["outputs"]["image"]["dims"]' "[4, 3, 2]" "output volume: dims"
jcheck "$p" 'j["steps"][0]["outputs"]["image"]["dtype"]' f32 "output volume: type"
jcheck "$p" 'j["steps"][0]["outputs"]["image"]["meta"]["units"]' "{'value': 'HU', 'source': 'read.rt_source'}" \
    "output volume: metadata with its source"
jcheck "$p" 'j["steps"][2]["outputs"]["mask"]["kind"]' mask "a mask is recorded as a mask"
jcheck "$p" 'j["steps"][3]["outputs"]["table"]["columns"][2]' \
    "{'name': 'mean', 'type': 'double', 'unit': 'HU', 'ibsi': 'Q4LE'}" "output table: column with unit and IBSI code"
jcheck "$p" 'j["steps"][3]["inputs"]' "{'image': 'shifted.image', 'mask': 'roi.mask'}" "a step's wiring"
jcheck "$p" '[(f["path"], f["step"]) for f in j["files"]]' "[('tables/stats.csv', 'save')]" "output files"
jcheck "$p" 'j["files"][0]["sha256"]' "$(sha "$od/tables/stats.csv")" "output SHA-256 = sha256sum"
jcheck "$p" 'j["steps"][4]["files_written"][0]["path"]' tables/stats.csv "files a step wrote"
jcheck "$p" 'j["outputs"]["stats_csv"]["sha256"]' "$(sha "$od/tables/stats.csv")" "declared file output"
jcheck "$p" 'j["outputs"]["stats"]["object"]["rows"]' "[{'voxels': 22, 'sum': 891, 'mean': 40.5}]" \
    "declared object output: the table's values"

# Quiet, threads, an optional input left out.
run "$QIB" run "$pipes/rt-good.yaml" --input note="$tmp/note.txt" --out "$tmp/q" -q -j 1
is_rc 0 "a quiet run"
[ -z "$out" ]
ok $? "prints nothing"
jcheck "$tmp/q/provenance.json" 'j["threads"]' 1 "--threads 1"
jcheck "$tmp/q/provenance.json" 'j["steps"][0]["records"]' "{'weights': '3'}" \
    "an optional input not given leaves the parameter at its default"
jcheck "$tmp/q/provenance.json" '[x["name"] for x in j["inputs"]]' "['note']" "only given inputs are recorded"

# Substitutions as the step sees them.
run "$QIB" run "$pipes/rt-subst.yaml" --input case=c7 --out "$tmp/s" -p tag=T -p size=[3,1,1] -q
is_rc 0 "substitutions"
jcheck "$tmp/s/provenance.json" 'j["steps"][0]["records"]["label"]' "\${literal} T-c7 in $tmp/s" \
    "\$\${ is a literal \${; parameters, inputs and \${out} replaced"
jcheck "$tmp/s/provenance.json" 'j["steps"][0]["params"]["size"]' "[3, 1, 1]" "a list parameter substituted whole"
[ -f "$tmp/s/c7/stats.csv" ]
ok $? "an output path from an input and a parameter"

# A directory input: its digest is that of its sorted sha256sum manifest.
mkdir -p "$tmp/dir/b" "$tmp/dir/a"
printf 'one' > "$tmp/dir/b/x"
printf 'two' > "$tmp/dir/a/y"
printf 'three' > "$tmp/dir/z"
run "$QIB" run "$pipes/rt-good.yaml" --input note="$tmp/dir" --out "$tmp/d" -q
# read.rt_source cannot open a directory as a file: the step fails, but the
# input was recorded first.
is_rc 1 "a directory where the plugin wants a file fails in the step"
want=$(cd "$tmp/dir" && find . -type f | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do sha256sum "$f"; done | sha256sum | cut -d' ' -f1)
jcheck "$tmp/d/provenance.json" 'j["inputs"][0]["kind"]' directory "a directory input is marked as one"
jcheck "$tmp/d/provenance.json" 'j["inputs"][0]["sha256"]' "$want" "its digest is the manifest's sha256sum"
jcheck "$tmp/d/provenance.json" 'j["inputs"][0]["files"]' 3 "and it counts the files"
finish
