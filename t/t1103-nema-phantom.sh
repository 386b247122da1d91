#!/bin/sh
# qib phantom nema-iec: the voxelised spheres against their analytic
# volumes within the voxelisation error worked out below, the partial-volume
# integral against the same volumes within the supersampling error, the
# geometry it prints, the background SUV, reproducibility from a seed, and
# refused arguments.
set -u
: "${QIB:?}" "${top_srcdir:?}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$top_srcdir/t/tap.sh"
echo "1..19"

run "$QIB" phantom nema-iec --out "$tmp/a"
is_rc 0 "the unblurred phantom at 2 mm voxels"
printf '%s\n' "$out" > "$tmp/a.txt"

# Voxel-centre masks: a voxel is labelled when its centre is inside the
# sphere.  Every voxel whose centre is within r - h of the centre (h = half
# the voxel diagonal, sqrt(3) mm) lies wholly inside, and every labelled
# voxel lies within r + h, so V(r - h) <= mask volume <= V(r + h).  The
# partial-volume integral (sum of voxel fractions, each the mean over 10^3
# sub-cells) errs only in sub-cells cut by the surface, all within h/10 of
# it: V(r - h/10) <= pv <= V(r + h/10).
for k in 1 2 3 4 5 6; do
    awk -v k="$k" '$1 == "sphere" && $2 == k {
        r = $3 / 2; h = sqrt(3); pi = 3.14159265358979
        V = 4 / 3 * pi * r^3 / 1000
        lo = 4 / 3 * pi * (r - h)^3 / 1000; hi = 4 / 3 * pi * (r + h)^3 / 1000
        plo = 4 / 3 * pi * (r - h / 10)^3 / 1000; phi = 4 / 3 * pi * (r + h / 10)^3 / 1000
        good = (($4 - V) / V < 2e-6 && (V - $4) / V < 2e-6 && $6 >= lo && $6 <= hi && $7 >= plo && $7 <= phi)
        printf "# %g mm: analytic %.4f mL, mask %.4f in [%.4f, %.4f], pv %.5f in [%.5f, %.5f]\n", $3, V, $6, lo, hi, $7, plo, phi
        exit !good }' "$tmp/a.txt"
    ok $? "sphere $k: mask and partial-volume volumes within their voxelisation bounds"
done

# The centres lie on the 57.2 mm ring in the plane z = 0, 60 degrees apart.
awk '$1 == "sphere" { d = sqrt($8^2 + $9^2); if (d < 57.2 - 1e-5 || d > 57.2 + 1e-5 || $10 != 0) bad = 1; n++ }
     END { exit !(n == 6 && !bad) }' "$tmp/a.txt"
ok $? "the six sphere centres are on a 57.2 mm ring at z = 0"

# Background: SUV exactly 1 (weight = the interior's water, dose = its
# activity) in every background ROI voxel, and the ROI as large as printed.
run "$QIB" run "$top_srcdir/t/t1103-stats.yaml" --input pet="$tmp/a/pet.nii.gz" \
    --input mask="$tmp/a/background.nii.gz" --out "$tmp/bg" -q
is_rc 0 "statistics in the background ROI"
col() { awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
                              NR == 2 { print $c }' "$1"; }
mean=$(col "$tmp/bg/stats.csv" mean)
sd=$(col "$tmp/bg/stats.csv" sd)
vox=$(col "$tmp/bg/stats.csv" voxels)
want=$(awk '$1 == "background_roi_voxels" { print $2 }' "$tmp/a.txt")
awk -v m="$mean" -v s="$sd" 'BEGIN { exit !(m > 1 - 1e-6 && m < 1 + 1e-6 && s < 1e-6) }'
ok $? "background SUV is 1 (mean $mean, SD $sd)"
[ "$vox" = "$want" ] && [ "$vox" -gt 100000 ]
ok $? "background ROI: $vox voxels, as printed ($want)"

# Spheres in the unblurred image: every voxel wholly inside holds the sphere
# SUV (4); the masked mean lies between the background and it.
run "$QIB" run "$top_srcdir/t/t1103-stats.yaml" --input pet="$tmp/a/pet.nii.gz" \
    --input mask="$tmp/a/spheres.nii.gz" --out "$tmp/sp" -q
mx=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "max") c = i } NR > 1 { print $c }' "$tmp/sp/stats.csv" | sort -u)
[ "$rc" = 0 ] && [ "$mx" = 4 ]
ok $? "the maximum in every sphere is the sphere SUV 4 (got $mx)"

# Reproducible: the same seed gives the same noisy image, another seed not.
"$QIB" phantom nema-iec --out "$tmp/n1" --voxel 4,4,4 --noise 0.2 --seed 5 --no-dicom >/dev/null 2>&1 &&
"$QIB" phantom nema-iec --out "$tmp/n2" --voxel 4,4,4 --noise 0.2 --seed 5 --no-dicom >/dev/null 2>&1 &&
"$QIB" phantom nema-iec --out "$tmp/n3" --voxel 4,4,4 --noise 0.2 --seed 6 --no-dicom >/dev/null 2>&1 &&
cmp -s "$tmp/n1/pet.nii.gz" "$tmp/n2/pet.nii.gz" && ! cmp -s "$tmp/n1/pet.nii.gz" "$tmp/n3/pet.nii.gz" &&
[ ! -e "$tmp/n1/dicom" ]
ok $? "the same seed gives the same noisy phantom, another seed another; --no-dicom writes none"

# Refused arguments: one message naming the option, exit 2; an output
# directory that already holds a DICOM series: exit 1, nothing overwritten.
run "$QIB" phantom nema-iec --out "$tmp/x" --ratio 0
is_rc 2 "--ratio 0 is refused"
case $out in *"--ratio: expected a number from 1 to 100"*) r=0 ;; *) r=1 ;; esac
ok $r "and the message names --ratio and its range"
run "$QIB" phantom nema-iec --out "$tmp/x" --voxel 2,2
case $out in *"--voxel: expected three comma-separated values"*) r=$rc ;; *) r=1 ;; esac
[ "$r" = 2 ]
ok $? "--voxel with two values is refused"
run "$QIB" phantom nema-iec --fwhm 5
case $out in *"--out DIR is required"*) r=$rc ;; *) r=1 ;; esac
[ "$r" = 2 ]
ok $? "a missing --out is refused"
run "$QIB" phantom nema-iec --out "$tmp/a" --voxel 4,4,4
case $out in *"dicom: exists and is not empty"*) r=$rc ;; *) r=0 ;; esac
[ "$r" = 1 ] && [ -e "$tmp/a/dicom/IM0100.dcm" ]
ok $? "an output directory holding a series is refused (exit $rc)"
[ -n "${out:-}" ] || diag "no message"
# A NIfTI that cannot be written (a directory in its place) fails the whole
# phantom: the DICOM slices and the NIfTI files already written are removed,
# so nothing left behind passes for a complete phantom.
mkdir -p "$tmp/w/spheres.nii.gz"
run "$QIB" phantom nema-iec --out "$tmp/w" --voxel 8,8,8
case $out in *"spheres.nii.gz"*) r=$rc ;; *) r=0 ;; esac
[ "$r" = 1 ] && [ ! -e "$tmp/w/pet.nii.gz" ] && [ -z "$(ls "$tmp/w/dicom")" ]
ok $? "a failed NIfTI write leaves no DICOM slice and no pet.nii.gz (exit $rc)"
