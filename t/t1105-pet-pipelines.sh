#!/bin/sh
# The PET pipelines end to end on the NEMA IEC phantom's DICOM series:
# pet-nema-rc (recovery coefficients exact without blur, falling with the
# sphere size with blur), pet-suv (SUV statistics, MTV and TLG of the
# spheres), pet-mtv-eanm (41 % SUVmax, SUV 2.5 and 50 % SUVpeak, connected
# to the maximum), and their errors.
set -u
: "${QIB:?}" "${top_srcdir:?}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$top_srcdir/t/tap.sh"
echo "1..27"
P=$top_srcdir/pipelines

"$QIB" phantom nema-iec --out "$tmp/a" > "$tmp/a.txt" 2>&1 &&
"$QIB" phantom nema-iec --out "$tmp/b" --fwhm 7 > "$tmp/b.txt" 2>&1
ok $? "phantoms: unblurred, and blurred to 7 mm FWHM (2 mm voxels)"

# column NAME of every data row of a CSV, one per line
colv() { awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
                               NR > 1 { print $c }' "$1"; }

# ---- pet-nema-rc ----
run "$QIB" run "$P/pet-nema-rc.yaml" --input pet="$tmp/a/dicom" \
    --input spheres="$tmp/a/spheres.nii.gz" --out "$tmp/rca" -q
is_rc 0 "pet-nema-rc on the unblurred phantom"
# Without blur the voxels wholly inside a sphere hold its SUV, 4, stored as
# the slice maximum 32767: RCmax = 1 up to the rounding of the slope.
colv "$tmp/rca/rc.csv" rc_max | awk '{ if ($1 < 1 - 1e-6 || $1 > 1 + 1e-6) bad = 1; n++ }
    END { exit !(n == 6 && !bad) }'
ok $? "unblurred: RCmax = 1 for all six spheres"
# The 1 mL peak sphere (radius 6.2 mm) centred on the voxel nearest the
# sphere centre (at most sqrt(3) mm away) holds voxels reaching another
# sqrt(3) mm: it lies wholly inside spheres of radius >= 9.67 mm, the 22, 28
# and 37 mm spheres, where RCpeak = 1.
awk -F, 'NR > 1 && $2 >= 22 { if ($10 < 1 - 1e-4 || $10 > 1 + 1e-4) bad = 1; n++ }
         END { exit !(n == 3 && !bad) }' "$tmp/rca/rc.csv"
ok $? "unblurred: RCpeak = 1 for the 22, 28 and 37 mm spheres"
# A50 keeps the voxels at least half inside (f >= 1/2): their mean is
# 1 + 3 f_mean of the SUV 4.  All voxels within r - h are whole (f = 1) and
# the partial ones lie within r +- h (h = sqrt(3) mm), so f_mean >=
# (V- + (V+ - V-)/2) / V+ = (1 + V-/V+)/2, and RCmean lies in
# [(1 + 3 (1 + V-/V+)/2)/4, 1].
awk -F, 'NR > 1 { r = $2 / 2; h = sqrt(3); q = ((r - h) / (r + h))^3
                  lo = (1 + 3 * (1 + q) / 2) / 4
                  if ($9 < lo || $9 > 1) bad = 1
                  if (NR > 2 && $9 <= prev) bad = 1; prev = $9; n++ }
         END { exit !(n == 6 && !bad) }' "$tmp/rca/rc.csv"
ok $? "unblurred: RCmean within its partial-volume bounds, rising with the size"
# The A50 volume (f >= 1/2) within 3 % of the sphere for spheres >= 17 mm.
awk -F, 'NR > 1 && $2 >= 17 { d = ($7 - $3) / $3; printf "# %g mm: A50 %.4f mL, sphere %.4f mL (%+.2f %%)\n", $2, $7, $3, 100 * d
                              if (d > 0.03 || d < -0.03) bad = 1; n++ }
         END { exit !(n == 4 && !bad) }' "$tmp/rca/rc.csv"
ok $? "unblurred: the 50 % isocontour volume within 3 % of each sphere >= 17 mm"

run "$QIB" run "$P/pet-nema-rc.yaml" --input pet="$tmp/b/dicom" \
    --input spheres="$tmp/b/spheres.nii.gz" --out "$tmp/rcb" -q
is_rc 0 "pet-nema-rc on the blurred phantom"
for c in rc_max rc_mean rc_peak; do
    colv "$tmp/rcb/rc.csv" $c | awk '{ if (NR > 1 && $1 <= prev) bad = 1; prev = $1; n++ }
        END { exit !(n == 6 && !bad) }'
    ok $? "blurred: $c falls as the sphere size falls ($(colv "$tmp/rcb/rc.csv" $c | tr '\n' ' '))"
done
run "$QIB" run "$P/pet-nema-rc.yaml" --input pet="$tmp/b/dicom" \
    --input spheres="$tmp/b/spheres.nii.gz" --out "$tmp/rcb1" -q -p standard=earl1
lo=$(colv "$tmp/rcb1/rc.csv" rc_mean_lo | tail -1)
hi=$(colv "$tmp/rcb1/rc.csv" rc_mean_hi | tail -1)
[ "$rc" = 0 ] && [ "$lo" = 0.76 ] && [ "$hi" = 0.89 ] && head -1 "$tmp/rcb1/rc.csv" | grep -q within_limits
ok $? "-p standard=earl1: the 37 mm A50 limits 0.76-0.89 and a verdict column"

# ---- pet-suv ----
run "$QIB" run "$P/pet-suv.yaml" --input pet="$tmp/a/dicom" --input roi="$tmp/a/spheres.nii.gz" \
    --out "$tmp/suv" -q
is_rc 0 "pet-suv on the unblurred phantom with the sphere labels"
colv "$tmp/suv/suv.csv" suv_max | awk '{ if ($1 < 4 - 1e-4 || $1 > 4 + 1e-4) bad = 1; n++ } END { exit !(n == 6 && !bad) }'
ok $? "pet-suv: SUVmax 4 in every sphere"
# MTV is the labelled voxels' volume the phantom printed; TLG = MTV x mean.
awk -F, 'NR == FNR { if ($1 == "sphere") mask[$2] = $6; next }
         FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
         { l = $c["label"]; m = $c["mtv_ml"]; t = $c["tlg"]; u = $c["suv_mean"]
           if (m - mask[l] > 1e-6 || mask[l] - m > 1e-6) bad = 1
           if (t - m * u > 1e-9 * t || m * u - t > 1e-9 * t) bad = 1; n++ }
         END { exit !(n == 6 && !bad) }' FS=' ' "$tmp/a.txt" FS=, "$tmp/suv/suv.csv"
ok $? "pet-suv: MTV of each sphere is its mask volume, TLG = MTV x SUVmean"
run "$QIB" run "$P/pet-suv.yaml" --input pet="$tmp/a/dicom" --input roi="$tmp/a/spheres.nii.gz" \
    --out "$tmp/sul" -q -p suv=sul
[ "$rc" = 0 ] && head -1 "$tmp/sul/suv.csv" | grep -q '^label,sul_max,sul_mean'
ok $? "pet-suv -p suv=sul: SUL columns"

# ---- pet-mtv-eanm ----
# A search region: a sphere of radius 28.5 mm (10 mm beyond the sphere)
# around the 37 mm sphere (label 6), and one of 40 mm around the midpoint
# of the 37 and 28 mm spheres, which holds both.
c6=$(awk '$1 == "sphere" && $2 == 6 { printf "[%s,%s,%s]", $8, $9, $10 }' "$tmp/a.txt")
c56=$(awk '$1 == "sphere" && $2 >= 5 { x += $8 / 2; y += $9 / 2 } END { printf "[%s,%s,0]", x, y }' "$tmp/a.txt")
cat > "$tmp/search.yaml" <<'YAML'
qib: 1
name: search
inputs:
  ref: {type: path, help: "grid"}
params:
  centre: {type: vec3, default: [0, 0, 0], help: "LPS mm"}
  radius: {type: double, default: 28.5, help: "mm"}
steps:
  - {id: ref, plugin: read.nifti, with: {path: "${inputs.ref}"}}
  - {id: s, plugin: seg.sphere, in: {image: ref}, with: {point: "${params.centre}", radius_mm: "${params.radius}"}}
  - {id: w, plugin: write.nifti, in: {image: s}, with: {path: search.nii.gz}}
YAML
"$QIB" run "$tmp/search.yaml" --input ref="$tmp/a/pet.nii.gz" -p "centre=$c6" --out "$tmp/s6" -q &&
"$QIB" run "$tmp/search.yaml" --input ref="$tmp/a/pet.nii.gz" -p "centre=$c56" -p radius=50 --out "$tmp/s56" -q
ok $? "search regions around the 37 mm sphere"

eanm() { # OUT SEARCH PHANTOM [-p ...]
    o=$1 s=$2 ph=$3; shift 3
    run "$QIB" run "$P/pet-mtv-eanm.yaml" --input pet="$tmp/$ph/dicom" \
        --input search="$tmp/$s/search.nii.gz" --out "$tmp/$o" -q "$@"
}
eanm m41 s6 a
is_rc 0 "pet-mtv-eanm, 41 % of SUVmax"
thr=$(colv "$tmp/m41/threshold.csv" threshold)
mtv=$(colv "$tmp/m41/mtv.csv" mtv_ml)
awk -v t="$thr" 'BEGIN { exit !(t > 1.64 - 1e-4 && t < 1.64 + 1e-4) }'
ok $? "the threshold is 41 % of SUVmax 4: $thr"
# Without blur a voxel's SUV is 1 + 3 f (f: its fraction inside the
# sphere), so 41 % of 4 keeps f >= 0.64/3 = 0.2133.  Where the surface cuts
# a voxel like a plane at distance d from its centre, f >= 0.2133 means
# d <= 0.573 mm for a plane parallel to a face (2 mm x (1/2 - 0.2133)) and
# d <= 0.478 mm for a plane normal to the body diagonal (solving
# (s^3 - 3 (s - 1)^3)/6 = 0.7867 for s = 1.914, d = (s - 1.5) x 2 / sqrt(3)):
# the kept volume is that of a sphere 0.478 to 0.573 mm larger,
# 1.0795 to 1.0958 x 26.52 mL, give or take the voxel-counting error of
# this sphere (the 50 % contour's volume is within 0.5 % of the sphere's),
# taken as 2 %.
awk -v m="$mtv" 'BEGIN { pi = 3.14159265358979; r = 18.5
    lo = 4 / 3 * pi * (r + 0.478)^3 / 1000 * 0.98; hi = 4 / 3 * pi * (r + 0.573)^3 / 1000 * 1.02
    printf "# MTV %.4f mL, expected %.4f to %.4f mL\n", m, lo, hi
    exit !(m >= lo && m <= hi) }'
ok $? "41 % MTV of the 37 mm sphere within its derived range ($mtv mL)"
[ -s "$tmp/m41/voi.nii.gz" ]
ok $? "the VOI is written as voi.nii.gz"

eanm m25 s6 a -p method=absolute -p lower=2.5
a50=$(colv "$tmp/rca/rc.csv" a50_ml | tail -1)
m25=$(colv "$tmp/m25/mtv.csv" mtv_ml)
[ "$rc" = 0 ] && awk -v a="$m25" -v b="$a50" 'BEGIN { exit !(a - b < 1e-9 && b - a < 1e-9) }'
ok $? "SUV 2.5 keeps f >= 1/2: its MTV is the A50 volume of pet-nema-rc ($m25 = $a50 mL)"

eanm m50 s6 a -p method=percent_table -p percent=50
thr=$(colv "$tmp/m50/threshold.csv" threshold)
m50=$(colv "$tmp/m50/mtv.csv" mtv_ml)
[ "$rc" = 0 ] && awk -v t="$thr" -v a="$m50" -v b="$mtv" -v c="$m25" \
    'BEGIN { exit !(t > 2 - 1e-4 && t < 2 + 1e-4 && a <= b && a >= c) }'
ok $? "50 % of SUVpeak 4 is SUV 2.0; its MTV $m50 lies between the 41 % and SUV 2.5 ones"

# Connected to the maximum: on the blurred phantom the 37 mm sphere is the
# hotter; a region holding the 28 mm sphere too gives the same VOI.
eanm b6 s6 b -p method=absolute -p lower=2.5
one=$(colv "$tmp/b6/mtv.csv" mtv_ml)
eanm b56 s56 b -p method=absolute -p lower=2.5
two=$(colv "$tmp/b56/mtv.csv" mtv_ml)
vox=$(colv "$tmp/b56/threshold.csv" voxels)
[ "$rc" = 0 ] && [ -n "$one" ] && [ "$one" = "$two" ] &&
    awk -v v="$vox" -v m="$two" 'BEGIN { exit !(v * 0.008 > m + 1) }'
ok $? "only the component of the hottest voxel is kept ($two mL of $vox thresholded voxels)"

# ---- errors ----
"$QIB" phantom nema-iec --out "$tmp/c" --voxel 4,4,4 --no-dicom > /dev/null 2>&1
run "$QIB" run "$P/pet-nema-rc.yaml" --input pet="$tmp/a/dicom" \
    --input spheres="$tmp/c/spheres.nii.gz" --out "$tmp/bad1" -q
case $out in *'"spheres"'*grid*|*spheres*grid*) r=0 ;; *) r=1 ;; esac
[ "$rc" != 0 ] && [ "$r" = 0 ] && [ ! -e "$tmp/bad1/rc.csv" ]
ok $? "a sphere mask on another grid: refused, no rc.csv"
[ "$r" = 0 ] || diag "$out"
run "$QIB" run "$P/pet-nema-rc.yaml" --input pet="$tmp/a/dicom" \
    --input spheres="$tmp/a/spheres.nii.gz" --out "$tmp/bad2" -q -p sphere_suv=0.5
case $out in *"must be above background"*) r=0 ;; *) r=1 ;; esac
[ "$rc" != 0 ] && [ "$r" = 0 ]
ok $? "a sphere SUV below the background is refused"
run "$QIB" run "$P/pet-suv.yaml" --input pet="$tmp/a/pet.nii.gz" --input roi="$tmp/a/spheres.nii.gz" \
    --out "$tmp/bad3" -q
[ "$rc" != 0 ] && [ ! -e "$tmp/bad3/suv.csv" ]
ok $? "pet-suv on a NIfTI instead of a DICOM series fails and writes no table"
[ "$rc" != 0 ] && diag "$(printf '%s' "$out" | head -2)"
run "$QIB" run "$P/pet-mtv-eanm.yaml" --input pet="$tmp/a/dicom" --input search="$tmp/s6/search.nii.gz" \
    --out "$tmp/bad4" -q -p method=otsu
[ "$rc" != 0 ]
ok $? "pet-mtv-eanm refuses a method it does not offer"
