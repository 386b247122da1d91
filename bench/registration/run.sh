#!/bin/sh
# bench/registration: rigid Mattes-MI registration of the 256x256x150 moving
# CT to the 512x512x300 fixed CT of the peers' phantom generator (known rigid
# transform), qib against elastix 5 (the peers' parameter file) in one run,
# 2 threads each: median wall time of N runs, the ratio, and the error
# at the fixed volume's corners against the generator's truth.
# Usage: bench/registration/run.sh [N]   from a build directory
#   QIB (default ./qib), QIB_PLUGIN_PATH (default ./plugins/.libs),
#   PEERS (default <source>/../shared/tools/peers: gen_phantoms.py,
#   eval_transform.py, params/elastix_rigid.txt), DATA (default
#   ./bench-reg-data, generated there when missing: a few minutes).
set -u
n=${1:-3}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
QIB=${QIB:-./qib}
QIB_PLUGIN_PATH=${QIB_PLUGIN_PATH:-$PWD/plugins/.libs}
PEERS=${PEERS:-$src/../shared/tools/peers}
DATA=${DATA:-$PWD/bench-reg-data}
PY=/usr/bin/python3
export QIB_PLUGIN_PATH
if [ ! -f "$DATA/ct.nii" ] || [ ! -f "$DATA/ct_moving.nii" ] || [ ! -f "$DATA/truth.json" ]; then
    echo "# generating the phantoms in $DATA" >&2
    mkdir -p "$DATA" && $PY "$PEERS/gen_phantoms.py" "$DATA" >&2 || exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '# %s, %s CPUs, load %s\n' "$(uname -m)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
: > "$tmp/qib.t"
: > "$tmp/elx.t"
i=0
while [ $i -lt "$n" ]; do
    i=$((i + 1))
    rm -rf "$tmp/q"
    t0=$(now)
    "$QIB" run -q --threads 2 "$here/rigid.yaml" --out "$tmp/q" \
        -i fixed="$DATA/ct.nii" -i moving="$DATA/ct_moving.nii" || exit 1
    t1=$(now)
    echo "$t1 $t0" | awk '{ print $1 - $2 }' >> "$tmp/qib.t"
    if command -v elastix > /dev/null 2>&1; then
        rm -rf "$tmp/e" && mkdir -p "$tmp/e"
        t0=$(now)
        elastix -f "$DATA/ct.nii" -m "$DATA/ct_moving.nii" -p "$PEERS/params/elastix_rigid.txt" \
            -out "$tmp/e" -threads 2 > "$tmp/e.log" 2>&1 || { tail "$tmp/e.log"; exit 1; }
        t1=$(now)
        echo "$t1 $t0" | awk '{ print $1 - $2 }' >> "$tmp/elx.t"
    fi
done
tq=$(median < "$tmp/qib.t")
acc_q=$($PY "$PEERS/eval_transform.py" itktfm "$tmp/q/rigid.tfm" --truth "$DATA/truth.json" \
    --fixed "$DATA/ct.nii")
printf '%-8s %10s  %s\n' tool median_s accuracy
printf '%-8s %10.2f  %s\n' qib "$tq" "$acc_q"
sed 's/^/# qib levels: /' "$tmp/q/levels.csv"
if [ -s "$tmp/elx.t" ]; then
    te=$(median < "$tmp/elx.t")
    acc_e=$($PY "$PEERS/eval_transform.py" elastix "$tmp/e/TransformParameters.0.txt" \
        --truth "$DATA/truth.json" --fixed "$DATA/ct.nii")
    printf '%-8s %10.2f  %s\n' elastix "$te" "$acc_e"
    echo "$te $tq" | awk '{ printf "elastix / qib wall time: %.2fx (goal: >= 3x)\n", $1 / $2 }'
else
    echo "# elastix not installed (apt-get install elastix): no ratio"
fi
