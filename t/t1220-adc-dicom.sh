#!/bin/sh
# A 4-D MR diffusion series written as DICOM with pydicom (b-values in
# (0018,9087), 3 slices x 4 b-values, files in shuffled order) read by
# read.dicom and fitted end to end by pipelines/dwi-adc.yaml: the ROI means
# and the whole ADC map against numpy's log-linear fit of the same stored
# integers (t/t1220-adc-dicom.py); -p bmin=200 leaves b = 0 out.
set -u
: "${QIB:?}" "${top_srcdir:?}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
helper="$top_srcdir/t/t1220-adc-dicom.py"
pipe="$top_srcdir/pipelines/dwi-adc.yaml"
if [ ! -x "$py" ]; then
    echo "1..0 # SKIP /usr/bin/python3 is missing"
    exit 0
fi
"$py" "$helper" make "$tmp/data" > "$tmp/make.out" 2>&1
rc=$?
if [ $rc -eq 77 ]; then
    echo "1..0 # SKIP $(cat "$tmp/make.out") (needs numpy, nibabel and pydicom)"
    exit 0
fi
echo "1..10"
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
t $rc "pydicom writes the series and the ROI"
[ $rc = 0 ] || sed 's/^/# /' "$tmp/make.out"

"$QIB" run -q "$pipe" --input dwi="$tmp/data/dicom" --input roi="$tmp/data/roi.nii.gz" \
    --out "$tmp/out" > "$tmp/run.out" 2>&1
rc=$?
t $rc "pipelines/dwi-adc.yaml runs on the DICOM series"
[ $rc = 0 ] || sed 's/^/# /' "$tmp/run.out"

# compare CSV COLUMN: adc_mean of each label against expected.csv's COLUMN
cmp_means() {
    awk -F, -v col="$2" '
        FNR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
        NR == FNR { want[$1] = $h[col]; nv[$1] = $h["voxels"]; next }
        ($1 in want) { e = ($h["adc_mean"] - want[$1]) / want[$1]; if (e < 0) e = -e
                       printf "# label %s: qib %s, numpy %s, relative %.3g\n", $1, $h["adc_mean"], want[$1], e
                       if (e > 1e-6 || $h["n"] != nv[$1]) bad++; seen++ }
        END { exit !(seen == 2 && !bad) }' "$tmp/data/expected.csv" "$1"
}
cmp_means "$tmp/out/adc.csv" adc_mean
t $? "ROI means (labels 1, 2) equal numpy's within 1e-6, every voxel fitted"
"$py" "$helper" check "$tmp/data" "$tmp/out" > "$tmp/check.out" 2>&1
t $? "the ADC map equals numpy's voxel by voxel within 1e-6 (same orientation)"
sed 's/^/# /' "$tmp/check.out"
grep -q '"b_values_source": "metadata dicom.b_values"' "$tmp/out/provenance.json" &&
    grep -q '"b_values": "0 200 600 1000"' "$tmp/out/provenance.json"
t $? "provenance.json records the b-values read from (0018,9087)"
head -1 "$tmp/out/adc.csv" | grep -q '^label,voxels,n,flagged_floor,flagged_no_decay,clipped_low,clipped_high,adc_mean,adc_median,adc_sd,adc_min,adc_max$'
t $? "adc.csv has the documented columns"
for f in adc s0 r2 flags; do [ -s "$tmp/out/$f.nii.gz" ] || break; done
t $? "the ADC, S0, R^2 and flag maps are written"

"$QIB" run -q "$pipe" --input dwi="$tmp/data/dicom" --input roi="$tmp/data/roi.nii.gz" \
    --out "$tmp/out2" -p bmin=200 > "$tmp/run2.out" 2>&1
rc=$?
t $rc "with -p bmin=200"
[ $rc = 0 ] || sed 's/^/# /' "$tmp/run2.out"
cmp_means "$tmp/out2/adc.csv" adc_mean_b200
t $? "b >= 200: ROI means equal numpy's fit without b = 0"

"$QIB" info "$tmp/data/dicom" > "$tmp/info.out" 2>&1 &&
    grep -q 'dicom.echo_time_ms.*82.5' "$tmp/info.out" &&
    grep -q 'dicom.repetition_time_ms.*4300' "$tmp/info.out"
rc=$?
t $rc "qib info shows EchoTime 82.5 ms and RepetitionTime 4300 ms from (0018,0081) and (0018,0080)"
[ $rc = 0 ] || sed 's/^/# /' "$tmp/info.out"
