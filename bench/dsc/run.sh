#!/bin/sh
# bench/dsc: BSW leakage-corrected CBV on a 128x128x25 x 60-frame DSC series
# (qib phantom dsc, written uncompressed so that inflate is not what is
# measured), qib (bio.dsc in a pipeline) against the same computation
# vectorised in numpy (bench/dsc/ref.py, nibabel load), in one run, best of
# N.  Prints load and compute times of each side (wall, and CPU seconds,
# which a loaded machine disturbs less), end to end (the whole `qib run`
# against nibabel load + numpy compute) and their ratios (goal: qib at least
# 5x faster), and checks that both give the same corrected CBV.
# Usage: bench/dsc/run.sh [N]   from a build directory
#        (QIB: the qib command, default ./qib, or the program behind
#         libtool's wrapper script when run in a build tree;
#         QIB_PLUGIN_PATH: the plugins, default ./plugins/.libs)
set -u
n=${1:-3}
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${QIB:-}" ] && [ -x .libs/qib ] && [ -d core/.libs ]; then
    # a build tree: time the program, not libtool's wrapper script (a shell
    # that starts it; an installed qib has none)
    QIB=$PWD/.libs/qib
    LD_LIBRARY_PATH=$PWD/core/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
fi
QIB=${QIB:-./qib}
QIB_PLUGIN_PATH=${QIB_PLUGIN_PATH:-$PWD/plugins/.libs}
export QIB_PLUGIN_PATH
PY=${PYTHON:-/usr/bin/python3}
"$PY" -c 'import numpy, nibabel' 2>/dev/null || { echo "needs python3 numpy and nibabel" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$QIB" phantom dsc --out "$tmp/obj" --size 128 --slices 25 --frames 60 > "$tmp/truth" || exit 1
"$PY" -c 'import sys, nibabel as nib
for n in sys.argv[2:]:
    nib.save(nib.load("%s/obj/%s.nii.gz" % (sys.argv[1], n)), "%s/%s.nii" % (sys.argv[1], n))' \
    "$tmp" dsc brain tumour || exit 1
printf '# %s, %s CPUs, load %s; series 128x128x25 x 60 float32, brain %s voxels\n' \
    "$(uname -m)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$(awk '$1 == "brain" || $1 == "nawm" || $1 == "tumour" || $1 == "lesion" { s += $3 } END { print s }' "$tmp/truth")"
now() { date +%s.%N; }
# cpu: CPU seconds of the bio.dsc step from provenance.json
cpu() { "$PY" -c 'import json, sys
print([s["cpu_seconds"] for s in json.load(open(sys.argv[1]))["steps"] if s["id"] == "perfusion"][0])' "$1"; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
for threads in 1 2; do
    best= bcpu= ball=
    i=0
    while [ $i -lt "$n" ]; do
        i=$((i + 1))
        rm -rf "$tmp/out"
        t0=$(now)
        "$QIB" run "$here/bench.yaml" --input dsc="$tmp/dsc.nii" \
            --input brain="$tmp/brain.nii" --input roi="$tmp/tumour.nii" \
            --out "$tmp/out" --threads $threads -v > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
        all=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
        if [ -z "$ball" ] || lt "$all" "$ball"; then ball=$all; fi
        step=$(sed -n 's/.*perfusion (bio.dsc[^)]*): \([0-9.]*\) s.*/\1/p' "$tmp/log")
        load=$(sed -n 's/.*\] dsc (read.nifti[^)]*): \([0-9.]*\) s.*/\1/p' "$tmp/log")
        c=$(cpu "$tmp/out/provenance.json")
        if [ -z "$best" ] || lt "$step" "$best"; then best=$step bload=$load; fi
        if [ -z "$bcpu" ] || lt "$c" "$bcpu"; then bcpu=$c; fi
    done
    eval "qib_$threads=$best qcpu_$threads=$bcpu qall_$threads=$ball"
    printf 'qib   bio.dsc (bsw), %d thread%s: compute %s s wall, %.3f s CPU (best of %s); read.nifti %s s; end to end %s s\n' \
        $threads "$([ $threads = 1 ] || echo s)" "$best" "$bcpu" "$n" "$bload" "$ball"
done
csv=$tmp/out/dsc.csv
col() { awk -F, -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
                              NR == 2 { print $c }' "$csv"; }
set -- "$(col baseline_first)" "$(col baseline_last)" "$(col window_first)" "$(col window_last)"
best= bcpu= ball=
i=0
while [ $i -lt "$n" ]; do
    i=$((i + 1))
    t0=$(now)
    r=$("$PY" "$here/ref.py" "$tmp/dsc.nii" "$tmp/brain.nii" \
        "$tmp/tumour.nii" 30 3 "$1" "$2" "$3" "$4" "$tmp/out/cbv_corr.nii") || exit 1
    proc=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "${bproc:-}" ] || lt "$proc" "$bproc"; then bproc=$proc; fi
    w=$(echo "$r" | cut -d' ' -f2) c=$(echo "$r" | cut -d' ' -f3)
    all=$(echo "$r" | awk '{ printf "%.3f", $1 + $2 }')
    if [ -z "$best" ] || lt "$w" "$best"; then
        best=$w bl=$(echo "$r" | cut -d' ' -f1) diff=$(echo "$r" | cut -d' ' -f4)
    fi
    if [ -z "$bcpu" ] || lt "$c" "$bcpu"; then bcpu=$c; fi
    if [ -z "$ball" ] || lt "$all" "$ball"; then ball=$all; fi
done
printf 'numpy same computation: compute %s s wall, %s s CPU (best of %s); nibabel load %s s; load + compute %s s; whole python3 process (imports, load, compute, comparison) %s s\n' \
    "$best" "$bcpu" "$n" "$bl" "$ball" "$bproc"
printf 'largest relative difference of corrected CBV, qib vs numpy: %s\n' "$diff"
awk -v a="$best" -v b="$qib_1" -v c="$qib_2" -v ca="$bcpu" -v cb="$qcpu_1" -v cc="$qcpu_2" \
    -v ea="$ball" -v eb="$qall_1" -v ec="$qall_2" -v ep="$bproc" 'BEGIN {
    printf "speed-up (numpy / qib), wall: %.1fx with 1 thread, %.1fx with 2\n", a / b, a / c
    printf "speed-up (numpy / qib), CPU:  %.1fx with 1 thread, %.1fx with 2 (CPU of all threads)\n", ca / cb, ca / cc
    printf "speed-up end to end (nibabel load + numpy / whole qib run), wall: %.1fx with 1 thread, %.1fx with 2\n", ea / eb, ea / ec
    printf "speed-up process to process (whole python3 ref.py / whole qib run), wall: %.1fx with 1 thread, %.1fx with 2\n", ep / eb, ep / ec }'
