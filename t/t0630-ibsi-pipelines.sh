#!/bin/sh
# The shipped IBSI pipelines: each validates, and ibsi-digital-phantom.yaml
# run on the IBSI digital phantom writes features.csv and diagnostics.csv
# whose values are the IBSI reference values (mesh volume 556 mm3 +- 4,
# mean 2.15, 3-D GLSZM zone size entropy 2.32; ibsi_1_reference_values_
# digital_phantom.csv).
set -u
: "${QIB:?}" "${top_srcdir:?}" "${QIB_REFDATA:=}"
img=$QIB_REFDATA/ibsi_data_sets/orig/ibsi_1_digital_phantom/nifti/image/phantom.nii.gz
msk=$QIB_REFDATA/ibsi_data_sets/orig/ibsi_1_digital_phantom/nifti/mask/mask.nii.gz
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
echo "1..11"
for p in digital-phantom config-a config-b config-c config-d config-e; do
    "$QIB" validate "$top_srcdir/pipelines/ibsi-$p.yaml" > "$tmp/v.out" 2>&1
    rc=$?
    t $rc "ibsi-$p.yaml validates"
    [ $rc = 0 ] || sed 's/^/# /' "$tmp/v.out"
done
if [ ! -f "$img" ] || [ ! -f "$msk" ]; then
    i=0
    while [ $i -lt 5 ]; do i=$((i + 1)); n=$((n + 1)); echo "ok $n # SKIP IBSI digital phantom not under QIB_REFDATA"; done
    exit 0
fi
"$QIB" run "$top_srcdir/pipelines/ibsi-digital-phantom.yaml" --input image="$img" \
    --input mask="$msk" --out "$tmp/out" -q > "$tmp/run.out" 2>&1
rc=$?
t $rc "qib run ibsi-digital-phantom.yaml succeeds"
[ $rc = 0 ] || sed 's/^/# /' "$tmp/run.out"
[ -f "$tmp/out/features.csv" ] && [ -f "$tmp/out/diagnostics.csv" ]
t $? "features.csv and diagnostics.csv written"
col() { awk -F, -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
                              NR == 2 && c { print $c }' "$tmp/out/features.csv"; }
near() { awk -v a="$1" -v b="$2" -v tol="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= tol) }'; }
v=$(col morph_volume); near "$v" 556 4
t $? "morph_volume $v = 556 +- 4 mm3"
v=$(col stat_mean); near "$v" 2.15 0.005
t $? "stat_mean $v = 2.15"
v=$(col szm_zs_entr_3d); near "$v" 2.32 0.005
t $? "szm_zs_entr_3d $v = 2.32"
