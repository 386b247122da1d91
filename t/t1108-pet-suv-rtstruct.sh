#!/bin/sh
# pipelines/pet-suv-rtstruct.yaml end to end: the NEMA IEC phantom's DICOM
# PET series at 4 mm voxels and an RT Structure Set outlining its 37 and
# 28 mm spheres (written by t1108-rtstruct.py, one 64-point polygon per PET
# slice crossing a sphere).  The statistics must be those of pet-suv.yaml
# given the mask of the voxels whose centres are inside the polygons, and
# agree with the phantom's truth; an ROI name matching nothing and a
# structure set on another frame of reference are refused with no table.
set -u
: "${QIB:?}" "${top_srcdir:?}"
. "$top_srcdir/t/tap.sh"
py=/usr/bin/python3
if ! "$py" -c 'import numpy, nibabel, pydicom' 2> /dev/null; then
    echo "1..0 # SKIP python3 with numpy, nibabel and pydicom is needed to write the structure set"
    exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
P=$top_srcdir/pipelines
echo "1..16"

"$QIB" phantom nema-iec --out "$tmp/ph" --voxel 4,4,4 > "$tmp/ph.txt" 2>&1
ok $? "phantom nema-iec at 4 mm voxels, unblurred"

# The phantom prints `sphere LABEL DIAMETER VOLUME MASK_VOXELS MASK_ML PV_ML
# X Y Z` (centre in LPS mm); label 6 is the 37 mm sphere, 5 the 28 mm one.
sph() { awk -v l="$1" '$1 == "sphere" && $2 == l { printf "%s,%s,%s,%s", $8, $9, $10, $3 }' "$tmp/ph.txt"; }
true_suv=$(awk '$1 == "sphere_suv" { print $2 }' "$tmp/ph.txt")
mask6_ml=$(awk '$1 == "sphere" && $2 == 6 { print $6 }' "$tmp/ph.txt")
vox_ml=0.064 # mL: 4 x 4 x 4 mm
mkdir "$tmp/rs"
"$py" "$top_srcdir/t/t1108-rtstruct.py" "$tmp/ph" "$tmp/rs" "Sphere37:$(sph 6)" "Sphere28:$(sph 5)" \
    > "$tmp/rs.txt" 2>&1
ok $? "structure set with Sphere37 and Sphere28 on the PET's frame of reference, and their masks"
[ -s "$tmp/rs/rs.dcm" ] || diag "$(cat "$tmp/rs.txt" "$tmp/ph.txt")"
# t1108-rtstruct.py prints `NAME VOXELS INNER MEAN MAX` (MEAN and MAX of
# pet.nii.gz over the voxels whose centres are inside the polygons).
exp() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$tmp/rs.txt"; }
n37=$(exp Sphere37 2) in37=$(exp Sphere37 3) mean37=$(exp Sphere37 4)
n28=$(exp Sphere28 2) mean28=$(exp Sphere28 4)
diag "37 mm sphere: $n37 voxels inside the polygons, $in37 wholly inside the sphere, mean $mean37; voxel $vox_ml mL; sphere SUV $true_suv"

# col CSV NAME: column NAME of the single data row; rows CSV: data rows.
col() { awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
                               NR == 2 && c { print $c }' "$1"; }
rows() { awk 'END { print NR - 1 }' "$1"; }
# near A B TOL: |A - B| <= TOL
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d <= t && -d <= t) }'; }

srun() { # OUT [-p ...]
    o=$1; shift
    run "$QIB" run "$P/pet-suv-rtstruct.yaml" --input pet="$tmp/ph/dicom" \
        --input rtstruct="$tmp/rs/rs.dcm" --out "$tmp/$o" -q "$@"
}

srun a -p roi=Sphere37
is_rc 0 "pet-suv-rtstruct -p roi=Sphere37"
c=$tmp/a/suv.csv
[ "$(rows "$c")" = 1 ] && [ "$(col "$c" label)" = 1 ]
ok $? "one row, label 1"
# Without blur the voxels wholly inside the sphere hold its SUV exactly;
# stored as int16 with a slope per slice, it comes back within 4/32767.
near "$(col "$c" suv_max)" "$true_suv" 1e-4
ok $? "SUVmax is the sphere's SUV $true_suv: $(col "$c" suv_max)"
# MTV counts the voxels with centres inside the polygons; the polygons are
# inscribed in the sphere's cross-sections and no voxel centre lies between
# a polygon and its circle here, so they are the phantom's own sphere
# voxels (centres inside the sphere) too.
mtv=$(col "$c" mtv_ml)
near "$mtv" "$(awk -v n="$n37" -v v="$vox_ml" 'BEGIN { print n * v }')" 1e-9 && near "$mtv" "$mask6_ml" 1e-9
ok $? "MTV $mtv mL = $n37 voxels inside the polygons = the phantom's 37 mm sphere mask ($mask6_ml mL)"
near "$(col "$c" suv_mean)" "$mean37" 1e-4
ok $? "SUVmean $(col "$c" suv_mean) is the mean of the phantom's float image over those voxels ($mean37)"
# Partial volume: a voxel's SUV is 1 + (S - 1) f, f its fraction inside the
# sphere of SUV S over the background 1.  The voxels whose centres lie within
# r - (half the voxel diagonal) are wholly inside (f = 1); the others have
# 0 <= f <= 1, so SUVmean lies in [(S in + (n - in)) / n, S].
lo=$(awk -v n="$n37" -v i="$in37" -v s="$true_suv" 'BEGIN { printf "%.6f", (s * i + (n - i)) / n }')
awk -v m="$(col "$c" suv_mean)" -v lo="$lo" -v s="$true_suv" 'BEGIN { exit !(m >= lo && m <= s + 1e-4) }'
ok $? "SUVmean within its partial-volume bounds [$lo, $true_suv]"
awk -v m="$(col "$c" suv_min)" -v s="$true_suv" 'BEGIN { exit !(m >= 1 - 1e-4 && m <= s) }' &&
    awk -v t="$(col "$c" tlg)" -v m="$mtv" -v u="$(col "$c" suv_mean)" 'BEGIN { d = t - m * u; exit !(d * d <= 1e-18 * t * t) }'
ok $? "SUVmin between the background and the sphere, TLG = MTV x SUVmean"

# The same voxels as a NIfTI mask through pet-suv.yaml: the same table.
run "$QIB" run "$P/pet-suv.yaml" --input pet="$tmp/ph/dicom" --input roi="$tmp/rs/Sphere37.nii.gz" \
    --out "$tmp/m" -q
[ "$rc" = 0 ] && cmp -s "$tmp/m/suv.csv" "$c"
ok $? "pet-suv.yaml with the mask of the same voxels writes the same suv.csv"
[ "$rc" = 0 ] || diag "$out"
cmp -s "$tmp/m/suv.csv" "$c" || diag "$(cat "$tmp/m/suv.csv" "$c" 2> /dev/null)"

# Names: a case-insensitive pattern takes every match as one region.
srun u -p 'roi=sphere*'
[ "$rc" = 0 ] && [ "$(rows "$tmp/u/suv.csv")" = 1 ] &&
    near "$(col "$tmp/u/suv.csv" mtv_ml)" "$(awk -v a="$n37" -v b="$n28" -v v="$vox_ml" 'BEGIN { print (a + b) * v }')" 1e-9
ok $? "-p roi='sphere*': both spheres in one region, $(col "$tmp/u/suv.csv" mtv_ml) mL"
srun s28 -p roi=SPHERE28
[ "$rc" = 0 ] &&
    near "$(col "$tmp/s28/suv.csv" mtv_ml)" "$(awk -v a="$n28" -v v="$vox_ml" 'BEGIN { print a * v }')" 1e-9 &&
    near "$(col "$tmp/s28/suv.csv" suv_mean)" "$mean28" 1e-4
ok $? "-p roi=SPHERE28 matches Sphere28 only: its voxels and mean"
srun sul -p roi=Sphere37 -p suv=sul
[ "$rc" = 0 ] && head -1 "$tmp/sul/suv.csv" | grep -q '^label,sul_max,sul_mean'
ok $? "-p suv=sul: SUL columns"

# ---- errors ----
srun bad1 -p roi=Liver
case $out in *'no ROI matches "Liver"'*Sphere37*) r=0 ;; *) r=1 ;; esac
[ "$rc" != 0 ] && [ "$r" = 0 ] && [ ! -e "$tmp/bad1/suv.csv" ]
ok $? "an ROI name matching nothing: refused naming the ROIs there, no suv.csv"
diag "$(printf '%s' "$out" | head -1)"
srun bad2
case $out in *'no ROI matches "GTV*"'*) r=0 ;; *) r=1 ;; esac
[ "$rc" != 0 ] && [ "$r" = 0 ] && [ ! -e "$tmp/bad2/suv.csv" ]
ok $? "the default roi GTV* matches none of Sphere37, Sphere28: refused, no suv.csv"
run "$QIB" run "$P/pet-suv-rtstruct.yaml" --input pet="$tmp/ph/dicom" \
    --input rtstruct="$tmp/rs/rs-other-for.dcm" -p roi=Sphere37 --out "$tmp/bad3" -q
case $out in *FrameOfReferenceUID*"not the reference image's"*) r=0 ;; *) r=1 ;; esac
[ "$rc" != 0 ] && [ "$r" = 0 ] && [ ! -e "$tmp/bad3/suv.csv" ]
ok $? "a structure set on another frame of reference: refused, no suv.csv"
diag "$(printf '%s' "$out" | head -1)"

[ "$tap_n" -eq 16 ] || diag "ran $tap_n tests, planned 16"
exit $((tap_failed > 0))
