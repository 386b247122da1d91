#!/bin/sh
# The segmentation plugins in a pipeline run by qib: threshold, components,
# morphology, mask_ops, sphere, export.png and export.csv wired by port
# names on the noise-free ct-lesion phantom, whose lesion voxel count is
# counted here independently.
set -u
: "${QIB:?}" "${top_srcdir:?}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "1..8"
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

"$QIB" phantom ct-lesion --out "$tmp/data" --size 40 --slices 20 --spacing 1,1,2 \
    --radius 6 --noise 0 > "$tmp/phantom.out" 2>&1
t $? "qib phantom ct-lesion writes the phantom"

# grid points within 6 mm of the lesion centre (x = 6 mm), as in t0900
want=$(awk 'BEGIN { n = 0
  for (z = 0; z < 20; z++) for (y = 0; y < 40; y++) for (x = 0; x < 40; x++) {
    wx = (x - 19.5) * 1 - 6; wy = (y - 19.5) * 1; wz = (z - 9.5) * 2
    if (wx*wx + wy*wy + wz*wz <= 36) n++ }
  print n }')

"$QIB" run "$top_srcdir/t/t0520-seg-pipeline.yaml" --input ct="$tmp/data/ct.nii.gz" \
    --out "$tmp/out" -q > "$tmp/run.out" 2>&1
rc=$?
t $rc "qib run of the segmentation pipeline succeeds"
[ $rc = 0 ] || sed 's/^/# /' "$tmp/run.out"

col() { awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
                              NR == 2 { print $c }' "$1"; }
got=$(col "$tmp/out/components.csv" voxels)
[ "$got" = "$want" ]
t $? "the largest component is the lesion's $want voxels (got $got)"
cx=$(col "$tmp/out/components.csv" centroid_x)
awk -v c="$cx" 'BEGIN { d = (c < 0 ? -c : c) - 6; exit !(d < 1e-9 && d > -1e-9) }'
t $? "its centroid is 6 mm from the centre along x (got $cx)"
# voxel centres within 3 mm of that centroid, counted independently
cz=$(col "$tmp/out/components.csv" centroid_z)
wcore=$(awk -v cx="$cx" -v cz="$cz" 'BEGIN { n = 0
  for (z = 0; z < 20; z++) for (y = 0; y < 40; y++) for (x = 0; x < 40; x++) {
    wx = (x - 19.5) * 1; wy = (y - 19.5) * 1; wz = (z - 9.5) * 2
    if (cx < 0) wx = -wx
    dx = wx - (cx < 0 ? -cx : cx); dy = wy; dz = wz - cz
    if (dx*dx + dy*dy + dz*dz <= 9) n++ }
  print n }')
got=$(col "$tmp/out/core.csv" voxels)
[ "$got" = "$wcore" ]
t $? "the 3 mm sphere at that centroid holds $wcore voxels (got $got)"
thr=$(col "$tmp/out/body-threshold.csv" threshold)
# Without noise every split between air (-1000) and fat (-100) scores the
# same; the first one wins (as in scikit-image): -1000, and air is not above
# it.
[ "$thr" = "-1000" ]
t $? "Otsu's threshold is -1000 HU, the first best split (got $thr)"
head -c 8 "$tmp/out/qc/axial.png" | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a$'
t $? "qc/axial.png is a PNG"
grep -q '"seg.sphere"' "$tmp/out/provenance.json" && grep -q '"export.png"' "$tmp/out/provenance.json"
t $? "provenance.json records the segmentation steps"
