#!/bin/sh
# The demo end to end: qib phantom, then qib run of the shipped demo pipeline.
# Without noise every lesion voxel is 100 HU, and the lesion's voxel count is
# the number of grid points within the sphere, counted here independently.
set -u
: "${QIB:?}" "${top_srcdir:?}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "1..9"
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

"$QIB" phantom ct-lesion --out "$tmp/data" --size 40 --slices 20 --spacing 1,1,2 \
    --radius 6 --noise 0 > "$tmp/phantom.out" 2>&1
t $? "qib phantom ct-lesion writes the phantom"
[ -f "$tmp/data/ct.nii.gz" ] && [ -f "$tmp/data/roi.nii.gz" ]
t $? "ct.nii.gz and roi.nii.gz exist"

# Grid points (centred grid, 40x40x20 at 1x1x2 mm) within 6 mm of the lesion
# centre, which the phantom puts at x = 0.15 * 40 * 1 = 6 mm.
want=$(awk 'BEGIN { n = 0
  for (z = 0; z < 20; z++) for (y = 0; y < 40; y++) for (x = 0; x < 40; x++) {
    wx = (x - 19.5) * 1 - 6; wy = (y - 19.5) * 1; wz = (z - 9.5) * 2
    if (wx*wx + wy*wy + wz*wz <= 36) n++ }
  print n }')
grep -q "lesion of radius 6 mm: $want voxels" "$tmp/phantom.out"
t $? "the phantom reports $want lesion voxels"

"$QIB" run "$top_srcdir/pipelines/demo-ct-lesion.yaml" --input ct="$tmp/data/ct.nii.gz" \
    --input roi="$tmp/data/roi.nii.gz" --out "$tmp/out" -q > "$tmp/run.out" 2>&1
rc=$?
t $rc "qib run of the demo pipeline succeeds"
[ $rc = 0 ] || sed 's/^/# /' "$tmp/run.out"
csv="$tmp/out/lesion-intensity.csv"
[ -f "$tmp/out/provenance.json" ]
t $? "provenance.json written"

col() { awk -F, -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
                              NR == 2 { print $c }' "$csv"; }
[ "$(col voxels)" = "$want" ]
t $? "voxels = $want (got $(col voxels))"
[ "$(col mean)" = "100" ] && [ "$(col min)" = "100" ] && [ "$(col max)" = "100" ]
t $? "mean, min and max are 100 HU (got $(col mean), $(col min), $(col max))"
[ "$(col sd)" = "0" ]
t $? "sd is 0 (got $(col sd))"
ml=$(awk -v n="$want" 'BEGIN { printf "%.6f", n * 2 / 1000 }')
got=$(awk -v v="$(col volume_ml)" 'BEGIN { printf "%.6f", v }')
[ "$got" = "$ml" ]
t $? "volume_ml = voxels x 2 mm3 / 1000 = $ml (got $got)"
