#!/bin/sh
# Registration through the runner: a phantom CT moved by a translation read
# from an ITK file (reg.apply, cubic), registered back with reg.rigid (mean
# squares), written as ITK text and JSON.  Moving(x) = CT(x + t), so the
# result maps x to x - t: translation (-3, 2, 0) mm (in-plane: the padding
# beyond the last slice would otherwise weigh in).
set -u
: "${QIB:?}" "${top_srcdir:?}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "1..7"
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

"$QIB" phantom ct-lesion --out "$tmp/data" --size 48 --slices 24 --spacing 1,1,2 \
    --radius 8 --noise 0 > "$tmp/phantom.out" 2>&1
t $? "phantom written"
cat > "$tmp/shift.tfm" <<'TFM'
#Insight Transform File V1.0
#Transform 0
Transform: TranslationTransform_double_3_3
Parameters: 3 -2 0
FixedParameters:
TFM
cat > "$tmp/p.yaml" <<'YAML'
qib: 1
name: reg-pipeline-test
description: move a CT by a known translation and register it back
inputs:
  ct: {type: path, help: "CT"}
  shift: {type: path, help: "ITK translation"}
steps:
  - id: ct
    plugin: read.nifti
    with: {path: "${inputs.ct}"}
  - id: shift
    plugin: read.transform
    with: {path: "${inputs.shift}"}
  - id: moved
    plugin: reg.apply
    in: {image: ct, transform: shift}
    with: {interpolation: cubic, outside: -1000}
  - id: reg
    plugin: reg.rigid
    in: {fixed: ct, moving: moved}
    with: {metric: mean_squares, shrink_factors: [2, 1], smoothing_sigmas: [1, 0],
           sampling: all, resample: false}
  - id: itk
    plugin: write.transform
    in: {transform: reg.transform}
    with: {path: rigid.tfm}
  - id: json
    plugin: write.transform
    in: {transform: reg.transform}
    with: {path: rigid.json}
  - id: levels
    plugin: export.csv
    in: {table: reg.table}
    with: {path: levels.csv}
YAML
"$QIB" run "$tmp/p.yaml" --input ct="$tmp/data/ct.nii.gz" --input shift="$tmp/shift.tfm" \
    --out "$tmp/out" -q --threads 2 > "$tmp/run.out" 2>&1
rc=$?
t $rc "the pipeline runs"
[ $rc = 0 ] || sed 's/^/# /' "$tmp/run.out"
grep -q '^Transform: Euler3DTransform_double_3_3$' "$tmp/out/rigid.tfm" 2> /dev/null
t $? "rigid.tfm holds an Euler3D transform"
# Parameters: ax ay az tx ty tz (translation of the centre; no rotation).
awk '/^Parameters:/ {
    ok = ($5 + 3) ^ 2 < 0.01 && ($6 - 2) ^ 2 < 0.01 && $7 ^ 2 < 0.01
    exit !ok }' "$tmp/out/rigid.tfm" 2> /dev/null
t $? "translation (-3, 2, 0) mm within 0.1 mm"
awk '/^Parameters:/ { exit !($2 ^ 2 < 1e-6 && $3 ^ 2 < 1e-6 && $4 ^ 2 < 1e-6) }' \
    "$tmp/out/rigid.tfm" 2> /dev/null
t $? "rotation below 1 mrad"
grep -q '"space": "LPS"' "$tmp/out/rigid.json" 2> /dev/null
t $? "rigid.json written in LPS"
[ "$(wc -l < "$tmp/out/levels.csv" 2> /dev/null)" = 3 ]
t $? "levels.csv has a header and two levels"
