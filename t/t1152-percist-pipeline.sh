#!/bin/sh
# pipelines/pet-percist.yaml end to end on a synthetic baseline / follow-up
# SUL pair written by t1152-percist-data.py (values worked out there): the
# liver sphere placed in the liver mask and by a point, SULpeak of the
# hottest lesion, PMR, SMD, PMD by new lesions, the hottest lesion changing
# between scans, and bad input (a mask on another grid, a point outside the
# image) ending in one clear message with no result file.
set -u
: "${QIB:?}" "${top_srcdir:?}"
. "$top_srcdir/t/tap.sh"
py=/usr/bin/python3
if ! "$py" -c 'import numpy, nibabel' 2> /dev/null; then
    echo "1..0 # SKIP python3 with numpy and nibabel is needed to write the test images"
    exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pipe="$top_srcdir/pipelines/pet-percist.yaml"
echo "1..46"

# col FILE NAME: the value of column NAME in the first data row of a CSV
# written with units_row (header, units, data).
col() {
    "$py" -c 'import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
print(rows[2][rows[0].index(sys.argv[2])])' "$1" "$2" 2> /dev/null
}
# near GOT WANT: |GOT - WANT| <= 1e-9
near() {
    awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(a != "" && d * d <= 1e-18) }'
}

# percist NAME FOLLOWUP_SUL [qib args...]: write the pair, run the pipeline
# into $tmp/NAME/out; status in $rc, messages in $out.
percist() {
    name=$1 fu=$2
    shift 2
    "$py" "$top_srcdir/t/t1152-percist-data.py" "$tmp/$name" "$fu" || return 1
    d=$tmp/$name
    run "$QIB" run "$pipe" --out "$d/out" -q --threads 2 \
        --input baseline_pet="$d/baseline_pet.nii.gz" \
        --input baseline_lesions="$d/baseline_lesions.nii.gz" \
        --input baseline_ref_mask="$d/baseline_liver.nii.gz" \
        --input followup_pet="$d/followup_pet.nii.gz" \
        --input followup_lesions="$d/followup_lesions.nii.gz" \
        --input followup_ref_mask="$d/followup_liver.nii.gz" "$@"
}

"$QIB" validate "$pipe" > "$tmp/validate.out" 2>&1
ok $? "pet-percist.yaml validates"

# 8.0 -> 5.0: -37.5 %, -3.0 SUL: PMR.
percist pmr 5.0
is_rc 0 "8.0 -> 5.0: the pipeline runs"
csv=$tmp/pmr/out/percist.csv
[ "$(col "$csv" response)" = PMR ]; ok $? "8.0 -> 5.0: response PMR"
[ "$(col "$csv" rule)" = pmr_fall ]; ok $? "8.0 -> 5.0: rule pmr_fall"
near "$(col "$csv" sul_peak_baseline)" 8; ok $? "baseline SULpeak 8.0 (uniform 3x3x3 cube)"
near "$(col "$csv" sul_peak_followup)" 5; ok $? "follow-up SULpeak 5.0"
near "$(col "$csv" change)" -3; ok $? "change -3.0 SUL"
near "$(col "$csv" change_pct)" -37.5; ok $? "change -37.5 %"
[ "$(col "$csv" label_baseline)" = 1 ]; ok $? "baseline hottest: label 1"
near "$(col "$csv" ref_mean_baseline)" 2; ok $? "baseline liver mean 2.0"
near "$(col "$csv" ref_sd_baseline)" 0; ok $? "baseline liver SD 0"
near "$(col "$csv" threshold_baseline)" 3; ok $? "baseline threshold 1.5 x 2.0 + 2 x 0 = 3.0"
[ "$(col "$csv" measurable_baseline)" = 1 ]; ok $? "8.0 >= 3.0: measurable"
[ "$(col "$csv" ref_stable)" = 1 ]; ok $? "liver unchanged: stable"
[ "$(col "$csv" new_lesions)" = 0 ]; ok $? "no new lesions given: 0"
[ "$(sed -n 2p "$csv" | cut -d, -f5)" = SUL ]; ok $? "units row: sul_peak_baseline in SUL"
ref=$tmp/pmr/out/baseline-reference.csv
near "$(col "$ref" centre_x)" -32 && near "$(col "$ref" centre_y)" -36 &&
    near "$(col "$ref" centre_z)" 36
ok $? "liver sphere centred at LPS (-32, -36, 36): deepest right-lobe voxel"
near "$(col "$ref" mask_depth_mm)" 24; ok $? "24 mm from the liver mask's edge"
[ -s "$tmp/pmr/out/baseline-reference-region.nii.gz" ]; ok $? "reference region written"
grep -q '"name": "bio.percist"' "$tmp/pmr/out/provenance.json"
ok $? "provenance.json names bio.percist"

# 8.0 -> 6.0: -25 %: SMD.
percist smd 6.0
is_rc 0 "8.0 -> 6.0: the pipeline runs"
csv=$tmp/smd/out/percist.csv
[ "$(col "$csv" response)" = SMD ]; ok $? "8.0 -> 6.0: response SMD"
[ "$(col "$csv" rule)" = smd_change_below_pct ]; ok $? "8.0 -> 6.0: rule smd_change_below_pct"

# 8.0 -> 5.0 with two new lesions: PMD.
percist pmd 5.0 --input new_lesions=2
is_rc 0 "new_lesions=2: the pipeline runs"
csv=$tmp/pmd/out/percist.csv
[ "$(col "$csv" response)" = PMD ]; ok $? "new lesions: response PMD"
[ "$(col "$csv" rule)" = new_lesions ]; ok $? "new lesions: rule new_lesions"

# 8.0 -> 1.0: the hottest follow-up lesion is now label 2 at 4.0: -50 %.
percist swap 1.0
is_rc 0 "8.0 -> 1.0: the pipeline runs"
csv=$tmp/swap/out/percist.csv
[ "$(col "$csv" label_followup)" = 2 ]; ok $? "follow-up hottest: label 2, not the same lesion"
near "$(col "$csv" sul_peak_followup)" 4; ok $? "follow-up SULpeak 4.0"
[ "$(col "$csv" response)" = PMR ]; ok $? "-50 %, -4.0: PMR"

# The sphere placed by points at the same centre: the same numbers.
percist point 5.0 -p place=point -p 'baseline_point=[-32,-36,36]' \
    -p 'followup_point=[-32,-36,36]'
is_rc 0 "place=point: the pipeline runs"
csv=$tmp/point/out/percist.csv
[ "$(col "$csv" response)" = PMR ]; ok $? "place=point: PMR"
near "$(col "$csv" threshold_followup)" 3; ok $? "place=point: threshold 3.0"

# The blood-pool cylinder, here placed in the uniform 2.0 SUL of the liver
# box: threshold 2.0 x 2.0 + 2 x 0 = 4.0.
percist bp 5.0 -p reference=blood_pool -p place=point -p 'baseline_point=[-32,-36,36]' \
    -p 'followup_point=[-32,-36,36]'
is_rc 0 "reference=blood_pool: the pipeline runs"
csv=$tmp/bp/out/percist.csv
near "$(col "$csv" threshold_baseline)" 4; ok $? "blood pool: threshold 2.0 x 2.0 = 4.0"
[ "$(col "$csv" reference)" = blood_pool ] && [ "$(col "$csv" response)" = PMR ]
ok $? "blood pool: reference blood_pool, PMR"

# The cylinder cannot be placed by a mask: refused before any data is read.
run "$QIB" validate "$pipe" -p reference=blood_pool
is_rc 2 "reference=blood_pool with place=mask: validation fails"
case $out in *'step "baseline_ref"'*'placed by a point in the descending aorta'*) r=0 ;;
    *) r=1; diag "$out" ;; esac
ok $r "the message names the step and says why"

# Bad input: the baseline lesion mask on a grid moved by 4 mm.
"$py" "$top_srcdir/t/t1152-percist-data.py" "$tmp/bad" 5.0
run "$QIB" run "$pipe" --out "$tmp/bad/out" -q \
    --input baseline_pet="$tmp/bad/baseline_pet.nii.gz" \
    --input baseline_lesions="$tmp/bad/shifted_lesions.nii.gz" \
    --input baseline_ref_mask="$tmp/bad/baseline_liver.nii.gz" \
    --input followup_pet="$tmp/bad/followup_pet.nii.gz" \
    --input followup_lesions="$tmp/bad/followup_lesions.nii.gz" \
    --input followup_ref_mask="$tmp/bad/followup_liver.nii.gz"
[ "$rc" -ne 0 ]; ok $? "lesion mask on another grid: non-zero exit"
case $out in *'step "baseline_suv"'*mask*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "the message names the step and the mask"
[ ! -e "$tmp/bad/out/percist.csv" ]; ok $? "no percist.csv after the failure"

# Bad input: a point outside the image (it spans LPS x -92 .. 0 mm).
percist outside 5.0 -p place=point -p 'baseline_point=[500,-36,36]'
[ "$rc" -ne 0 ]; ok $? "point outside the image: non-zero exit"
case $out in *'step "baseline_ref"'*'lies outside the image'*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "the message names the step and says the point is outside"
[ ! -e "$tmp/outside/out/percist.csv" ]; ok $? "no percist.csv after the failure"

# Bad input: the PET declared in another unit.
percist units 5.0 -p units=SUVbw
[ "$rc" -ne 0 ]; ok $? "units=SUVbw: non-zero exit"
case $out in *'PERCIST 1.0 is defined on SUL'*) r=0 ;; *) r=1; diag "$out" ;; esac
ok $r "the message says PERCIST needs SUL"
[ "$tap_n" -eq 46 ] || diag "ran $tap_n tests, planned 46"
exit $((tap_failed > 0))
