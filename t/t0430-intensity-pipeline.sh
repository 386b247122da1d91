#!/bin/sh
# bio.intensity, export.csv and export.json in a pipeline run by `qib run`:
# the CSV and JSON files are byte-identical for 1 and 4 threads, agree with
# numpy/nibabel computing the statistics from the same NIfTI files, JSON
# parses, missing statistics are empty cells / null, and `qib validate`
# refuses an output path that leaves --out.
set -u
: "${QIB:?}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "1..12"
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
py=/usr/bin/python3

"$QIB" phantom ct-lesion --out "$tmp/data" --size 48 --slices 24 --spacing 0.8,0.8,2.5 \
    --radius 8 --noise 25 --seed 7 > "$tmp/phantom.out" 2>&1
t $? "qib phantom ct-lesion (noise 25 HU) writes the data"

cat > "$tmp/p.yaml" <<'EOF'
qib: 1
name: t0430
inputs:
  ct: {type: path, help: "CT"}
  roi: {type: path, help: "mask"}
params:
  lower: {type: double, default: -1000, help: "lowest HU kept"}
  upper: {type: double, default: 3000, help: "highest HU kept"}
steps:
  - {id: ct, plugin: read.nifti, with: {path: "${inputs.ct}"}}
  - {id: roi, plugin: read.nifti, with: {path: "${inputs.roi}", as: mask}}
  - id: stats
    plugin: bio.intensity
    in: {image: ct, mask: roi}
    with: {lower: "${params.lower}", upper: "${params.upper}"}
  - {id: csv, plugin: export.csv, in: {table: stats}, with: {path: stats.csv, units_row: true}}
  - {id: json, plugin: export.json, in: {table: stats}, with: {path: tables/stats.json}}
EOF

run() { # run OUTDIR THREADS [-p ...]
    out=$1 th=$2
    shift 2
    "$QIB" run "$tmp/p.yaml" --input ct="$tmp/data/ct.nii.gz" --input roi="$tmp/data/roi.nii.gz" \
        --out "$tmp/$out" --threads "$th" -q "$@" > "$tmp/$out.log" 2>&1
}
run out1 1 -p lower=0 -p upper=150
rc1=$?
run out4 4 -p lower=0 -p upper=150
rc4=$?
[ $rc1 = 0 ] && [ $rc4 = 0 ]
t $? "qib run with 1 and with 4 threads succeeds"
[ $rc1 = 0 ] || sed 's/^/# /' "$tmp/out1.log"
cmp -s "$tmp/out1/stats.csv" "$tmp/out4/stats.csv"
t $? "stats.csv is byte-identical for 1 and 4 threads"
cmp -s "$tmp/out1/tables/stats.json" "$tmp/out4/tables/stats.json"
t $? "stats.json is byte-identical for 1 and 4 threads"

sed -n 2p "$tmp/out1/stats.csv" | grep -q '^,,,,mL,'
t $? "the units row: counts unitless, volume in mL"

# numpy / nibabel from the same files: same voxels, same statistics
if "$py" -c 'import numpy, nibabel' 2>/dev/null; then
    "$py" - "$tmp/data/ct.nii.gz" "$tmp/data/roi.nii.gz" "$tmp/out1/stats.csv" \
        "$tmp/out1/tables/stats.json" > "$tmp/py.out" 2>&1 <<'EOF'
import csv, json, sys
import nibabel as nib, numpy as np
img = np.asarray(nib.load(sys.argv[1]).dataobj, dtype=np.float64)
roi = np.asarray(nib.load(sys.argv[2]).dataobj)
x = img[roi == 1]
x = x[(x >= 0) & (x <= 150)]
rows = list(csv.reader(open(sys.argv[3])))
got = dict(zip(rows[0], rows[2]))
d = x - x.mean()
want = {'voxels': x.size, 'mean': x.mean(), 'sd': x.std(), 'variance': x.var(),
        'skewness': (d**3).mean() / x.var()**1.5,
        'excess_kurtosis': (d**4).mean() / x.var()**2 - 3,
        'median': np.median(x), 'p05': np.percentile(x, 5), 'p95': np.percentile(x, 95),
        'min': x.min(), 'max': x.max()}
bad = [k for k, v in want.items() if abs(float(got[k]) - v) > 1e-9 * max(1.0, abs(v))]
print('csv-mismatch', bad, [(k, got[k], want[k]) for k in bad]) if bad else print('csv-ok')
j = json.load(open(sys.argv[4]))
r = j['rows'][0]
same = all(float(got[c['name']]) == r[c['name']] for c in j['columns'])
units = [c['unit'] or '' for c in j['columns']]
print('json-ok' if same and units == rows[1] and units[4] == 'mL' else 'json-mismatch')
EOF
    grep -q '^csv-ok$' "$tmp/py.out"
    t $? "stats.csv agrees with numpy on the NIfTI files (voxels, moments, percentiles)"
    grep -q '^json-ok$' "$tmp/py.out"
    t $? "stats.json parses and holds the same numbers and units as stats.csv"
    grep -q 'ok$' "$tmp/py.out" || sed 's/^/# /' "$tmp/py.out"
else
    echo "ok $((n + 1)) # SKIP python3 with numpy and nibabel not found"
    echo "ok $((n + 2)) # SKIP python3 with numpy and nibabel not found"
    n=$((n + 2))
fi

# a range above every voxel: the row stays, statistics missing
run empty 2 -p lower=2000 -p upper=3000
t $? "a range that keeps no voxel still runs"
awk -F, 'NR == 3 { exit !($1 == 1 && $3 == 0 && $6 == "" && $NF == "") }' "$tmp/empty/stats.csv"
t $? "CSV: label 1, voxels 0, mean and kurtosis empty cells"
if "$py" -c 'import json' 2>/dev/null; then
    "$py" -c 'import json,sys; r=json.load(open(sys.argv[1]))["rows"][0]; sys.exit(not (r["mean"] is None and r["voxels"] == 0))' \
        "$tmp/empty/tables/stats.json"
    t $? "JSON: mean is null, voxels 0"
else
    n=$((n + 1)); echo "ok $n # SKIP python3 not found"
fi

# an output path that leaves --out is refused before anything runs
sed 's|with: {path: stats.csv, units_row: true}|with: {path: ../escape.csv}|' "$tmp/p.yaml" > "$tmp/bad.yaml"
"$QIB" validate "$tmp/bad.yaml" > "$tmp/bad.out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q 'bad.yaml:[0-9]*:[0-9]*:.*path' "$tmp/bad.out"
t $? "qib validate refuses path ../escape.csv with FILE:LINE:COL and the parameter"
[ $rc = 2 ] || sed 's/^/# /' "$tmp/bad.out"
"$QIB" run "$tmp/bad.yaml" --input ct="$tmp/data/ct.nii.gz" --input roi="$tmp/data/roi.nii.gz" \
    --out "$tmp/bad" -q > /dev/null 2>&1
[ $? = 2 ] && [ ! -e "$tmp/escape.csv" ]
t $? "qib run refuses it too, and writes nothing outside --out"
