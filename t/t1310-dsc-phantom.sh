#!/bin/sh
# qib phantom dsc and the shipped pipelines/dsc-rcbv.yaml end to end: the
# leakage-corrected rCBV of both lesions within 5 % of the truth the phantom
# prints, K2 of the right sign and within 10 %, absolute CBV with the
# phantom's artery as AIF within 5 %; the phantom's options and bio.dsc's
# refusals of a 3-D image, a mask on another grid and a missing TE.
set -u
: "${QIB:?}" "${top_srcdir:?}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "1..22"
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
# within GOT WANT RELTOL: |got - want| <= reltol |want|
within() { awk -v g="$1" -v w="$2" -v r="$3" 'BEGIN { d = g - w; if (d < 0) d = -d
    a = w < 0 ? -w : w; exit !(g != "" && d <= r * a) }'; }

"$QIB" phantom dsc --help > "$tmp/help" 2>&1
t $? "qib phantom dsc --help exits 0"
grep -q "usage: qib phantom dsc --out DIR" "$tmp/help"
t $? "--help shows the usage"
"$QIB" phantom dsc --size 48 > /dev/null 2>&1
[ $? = 2 ]
t $? "no --out: usage error (exit 2)"
"$QIB" phantom dsc --out "$tmp/x" --frames 12 > "$tmp/err" 2>&1
[ $? = 2 ] && grep -q -- "--frames" "$tmp/err"
t $? "--frames 12 refused with a message naming --frames"

"$QIB" phantom dsc --out "$tmp/obj" --size 48 --slices 2 > "$tmp/truth" 2>&1
t $? "qib phantom dsc writes the object"
ok_files=0
for f in dsc brain nawm tumour aif; do [ -f "$tmp/obj/$f.nii.gz" ] || ok_files=1; done
t $ok_files "dsc, brain, nawm, tumour and aif .nii.gz exist"
truth() { awk -v r="$1" -v c="$2" '$1 == r { print $c }' "$tmp/truth"; }
[ "$(truth tumour 4)" = 8 ] && [ "$(truth nawm 4)" = 2 ] && [ "$(truth tumour 5)" = 4 ] &&
    [ "$(truth tumour 6)" = 0.06 ] && [ "$(truth lesion 6)" = -0.03 ]
t $? "the truth is printed (tumour CBV 8, rCBV 4, K2 0.06; NAWM 2; lesion K2 -0.03)"

"$QIB" run "$top_srcdir/pipelines/dsc-rcbv.yaml" --input dsc="$tmp/obj/dsc.nii.gz" \
    --input brain="$tmp/obj/brain.nii.gz" --input nawm="$tmp/obj/nawm.nii.gz" \
    --input roi="$tmp/obj/tumour.nii.gz" --out "$tmp/out" -p te_ms=30 -q > "$tmp/run" 2>&1
rc=$?
t $rc "pipelines/dsc-rcbv.yaml runs on the object"
[ $rc = 0 ] || sed 's/^/# /' "$tmp/run"
[ -f "$tmp/out/rcbv_corr.nii.gz" ] && [ -f "$tmp/out/k2.nii.gz" ] &&
    [ -f "$tmp/out/provenance.json" ]
t $? "rcbv_corr.nii.gz, k2.nii.gz and provenance.json written"
# cell CSV REGION LABEL COLUMN
cell() { awk -F, -v r="$2" -v l="$3" -v name="$4" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
    $1 == r && $2 == l { print $c }' "$1"; }
csv=$tmp/out/rcbv.csv
for lab in 1 2; do
    reg=$([ $lab = 1 ] && echo tumour || echo lesion)
    got=$(cell "$csv" roi $lab rcbv_corr_mean) want=$(truth $reg 5)
    within "$got" "$want" 0.05
    t $? "$reg: corrected rCBV $got within 5 % of $want"
    got=$(cell "$csv" roi $lab k2_mean) want=$(truth $reg 6)
    within "$got" "$want" 0.10
    t $? "$reg: K2 $got 1/s, sign and size of $want within 10 %"
done
unc=$(cell "$csv" roi 1 rcbv_mean)
awk -v u="$unc" 'BEGIN { exit !(u < 0.9 * 4) }'
t $? "tumour: uncorrected rCBV $unc underestimates (T1 leakage)"

# absolute CBV with the phantom's artery as AIF (phantom: kH = rho = 1)
cat > "$tmp/abs.yaml" <<'YAML'
qib: 1
name: dsc-absolute
inputs:
  dsc: {type: path}
  brain: {type: path}
  roi: {type: path}
  aif: {type: path}
steps:
  - {id: dsc, plugin: read.nifti, with: {path: "${inputs.dsc}"}}
  - {id: brain, plugin: read.nifti, with: {path: "${inputs.brain}", as: mask}}
  - {id: roi, plugin: read.nifti, with: {path: "${inputs.roi}", as: mask}}
  - {id: aif, plugin: read.nifti, with: {path: "${inputs.aif}", as: mask}}
  - id: cbv
    plugin: bio.dsc
    in: {image: dsc, mask: brain, roi: roi, aif: aif}
    with: {te_ms: 30, integration: all, hct_large: 0, hct_small: 0, density: 1}
  - {id: save, plugin: export.csv, in: {table: cbv.table}, with: {path: cbv.csv}}
YAML
"$QIB" run "$tmp/abs.yaml" --input dsc="$tmp/obj/dsc.nii.gz" --input brain="$tmp/obj/brain.nii.gz" \
    --input roi="$tmp/obj/tumour.nii.gz" --input aif="$tmp/obj/aif.nii.gz" --out "$tmp/abs" \
    -q > "$tmp/run2" 2>&1
t $? "absolute CBV with the aif mask runs"
for lab in 1 2; do
    reg=$([ $lab = 1 ] && echo tumour || echo lesion)
    got=$(cell "$tmp/abs/cbv.csv" roi $lab cbv_corr_mean) want=$(truth $reg 4)
    within "$got" "$want" 0.05
    t $? "$reg: absolute corrected CBV $got mL/100 mL within 5 % of $want"
done

# refusals
"$QIB" run "$top_srcdir/pipelines/dsc-rcbv.yaml" --input dsc="$tmp/obj/dsc.nii.gz" \
    --input brain="$tmp/obj/brain.nii.gz" --input nawm="$tmp/obj/nawm.nii.gz" \
    --input roi="$tmp/obj/tumour.nii.gz" --out "$tmp/e1" -q > "$tmp/err" 2>&1
[ $? = 1 ] && grep -q "te_ms: the echo time is unknown" "$tmp/err"
t $? "no TE: one clear error naming te_ms"
"$QIB" run "$top_srcdir/pipelines/dsc-rcbv.yaml" --input dsc="$tmp/obj/brain.nii.gz" \
    --input brain="$tmp/obj/brain.nii.gz" --input nawm="$tmp/obj/nawm.nii.gz" \
    --input roi="$tmp/obj/tumour.nii.gz" --out "$tmp/e2" -p te_ms=30 -q > "$tmp/err" 2>&1
[ $? = 1 ] && grep -q "image: expected a 4-D DSC series" "$tmp/err"
t $? "3-D image: one clear error"
"$QIB" phantom dsc --out "$tmp/other" --size 40 --slices 2 > /dev/null 2>&1
"$QIB" run "$top_srcdir/pipelines/dsc-rcbv.yaml" --input dsc="$tmp/obj/dsc.nii.gz" \
    --input brain="$tmp/obj/brain.nii.gz" --input nawm="$tmp/other/nawm.nii.gz" \
    --input roi="$tmp/obj/tumour.nii.gz" --out "$tmp/e3" -p te_ms=30 -q > "$tmp/err" 2>&1
[ $? = 1 ] && grep -q "nawm" "$tmp/err"
t $? "NAWM mask on another grid: one clear error naming nawm"
[ ! -f "$tmp/e3/rcbv.csv" ] && [ ! -f "$tmp/e3/rcbv_corr.nii.gz" ]
t $? "no half-written output after the error"
# the voxel data, not the gzip stream (whose header may hold a time stamp)
"$QIB" phantom dsc --out "$tmp/same" --size 48 --slices 2 > /dev/null 2>&1 &&
    gzip -dc "$tmp/obj/dsc.nii.gz" > "$tmp/a.nii" &&
    gzip -dc "$tmp/same/dsc.nii.gz" > "$tmp/b.nii" &&
    cmp -s "$tmp/a.nii" "$tmp/b.nii"
t $? "the same seed gives the same series"
