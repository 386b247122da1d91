#!/bin/sh
# qib info and qib run with the real NIfTI reader, intensity and CSV
# plugins, on small NIfTI-1 files written here field by field (Python's
# struct module), whose geometry and values are known exactly.
. "${top_srcdir:?}/t/t0200-lib.sh"
QIB_PLUGIN_PATH="$top_builddir/plugins/.libs"
export QIB_PLUGIN_PATH
for m in read_nifti bio_intensity export_csv; do
    [ -f "$QIB_PLUGIN_PATH/$m.so" ] || { echo "1..0 # SKIP plugin $m not built"; exit 0; }
done
[ $have_python -eq 1 ] || { echo "1..0 # SKIP python3 is needed to write the NIfTI files"; exit 0; }

# A 4x3x2 int16 image, voxel i = 10 i - 50 (min -50, max 180, mean 65), and
# a uint8 mask of the voxels with even i.  sform (RAS): spacing 2, 3, 4 mm,
# origin (10, 20, 30) mm, axes along +x, +y, +z; in LPS the origin is
# (-10, -20, 30) and the first two axes point along -x and -y.
python3 - "$tmp" <<'PY'
import struct, sys
def nifti(path, dt, bitpix, fmt, values, descrip):
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, 3, 4, 3, 2, 1, 1, 1, 1)
    struct.pack_into("<hh", h, 70, dt, bitpix)
    struct.pack_into("<8f", h, 76, 1, 2, 3, 4, 1, 1, 1, 1)
    struct.pack_into("<fff", h, 108, 352, 0, 0)
    struct.pack_into("<b", h, 123, 2)  # mm
    h[148:148 + len(descrip)] = descrip.encode()
    struct.pack_into("<hh", h, 252, 0, 1)
    struct.pack_into("<12f", h, 280, 2, 0, 0, 10, 0, 3, 0, 20, 0, 0, 4, 30)
    h[344:348] = b"n+1\0"
    with open(path, "wb") as f:
        f.write(h + bytes(4) + struct.pack("<%d%s" % (len(values), fmt), *values))
d = sys.argv[1]
nifti(d + "/ct.nii", 4, 16, "h", [10 * i - 50 for i in range(24)], "qib test")
nifti(d + "/roi.nii", 2, 8, "B", [1 - i % 2 for i in range(24)], "")
PY

run "$QIB" info "$tmp/ct.nii"
is_rc 0 "qib info reads a NIfTI file"
has_line "voxel type:  i16" "voxel type"
has_line "dimensions:  4 x 3 x 2" "dimensions"
has_line "spacing:     2 x 3 x 4 mm" "spacing"
has_line "origin:      (-10, -20, 30) mm, LPS" "origin in LPS"
has_line "direction:   i axis (-1, 0, 0)" "first axis in LPS"
has_line "             j axis (0, -1, 0)" "second axis in LPS"
has_line "             k axis (0, 0, 1)" "third axis in LPS"
has_line "voxel size:  24 mm3" "voxel volume"
has_line "values:      min -50, max 180, mean 65 over 24 voxels" "minimum, maximum and mean"
has_line "  nifti.descrip = qib test" "metadata with the header's description"
has_line "reader:      read.nifti " "names the reader"

printf 'text\n' > "$tmp/ct.txt"
run "$QIB" info "$tmp/ct.txt"
is_rc 1 "an unknown extension"
has_line "qib info: $tmp/ct.txt: unknown file type" ".nii, .nii.gz, .hdr and .img" "names the supported ones"
# Directories are for read.dicom; without it qib info says so.
mkdir "$tmp/nodicom"
ln -s "$QIB_PLUGIN_PATH/read_nifti.so" "$tmp/nodicom/read_nifti.so"
run env QIB_PLUGIN_PATH="$tmp/nodicom" "$QIB" info "$tmp"
is_rc 1 "a directory"
has_line "qib info: $tmp: a directory, and no reader plugin for directories" "says no reader handles it"
run "$QIB" info "$tmp/none.nii"
is_rc 1 "a missing file"
has_line "qib info: $tmp/none.nii: No such file or directory" "says so"

# A pipeline over the real plugins.  Mask voxels (even i): values -50, -30,
# ..., 170: 12 voxels, mean 60.
cat > "$tmp/real.yaml" <<'YAML'
qib: 1
name: real
inputs:
  ct: {type: path}
  roi: {type: path}
steps:
  - id: ct
    plugin: read.nifti
    with: {path: "${inputs.ct}"}
  - id: roi
    plugin: read.nifti
    with: {path: "${inputs.roi}", as: mask}
  - id: stats
    plugin: bio.intensity
    in: {image: ct, mask: roi}
  - id: save
    plugin: export.csv
    in: {table: stats}
    with: {path: stats.csv}
YAML
run "$QIB" run "$tmp/real.yaml" --input ct="$tmp/ct.nii" --input roi="$tmp/roi.nii" --out "$tmp/o" -q
is_rc 0 "a pipeline of real plugins runs"
col() { awk -F, -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i }
                              NR == 2 { print $c }' "$tmp/o/stats.csv"; }
[ "$(col voxels)" = 12 ] && [ "$(col mean)" = 60 ]
ok $? "12 voxels of mean 60 in the mask (got $(col voxels), $(col mean))"
jcheck "$tmp/o/provenance.json" 'j["inputs"][0]["sha256"]' "$(sha256sum "$tmp/ct.nii" | cut -d' ' -f1)" \
    "the input's digest"

# The mask read without "as: mask" is refused before anything is read, and
# a misspelt plugin gets a suggestion.
sed -e 's/, as: mask//' -e 's/bio.intensity/bio.intensty/' "$tmp/real.yaml" > "$tmp/bad.yaml"
sed -e 's/, as: mask//' "$tmp/real.yaml" > "$tmp/bad2.yaml"
run "$QIB" validate "$tmp/bad.yaml"
is_rc 2 "a misspelt plugin"
has_line "$tmp/bad.yaml:14:13: step \"stats\": unknown plugin \"bio.intensty\" (did you mean \"bio.intensity\"?)" \
    "is refused with a suggestion"
run "$QIB" validate "$tmp/bad2.yaml"
is_rc 2 "a volume on a mask port"
has_line "$tmp/bad2.yaml:15:27: step \"stats\" (bio.intensity " "input \"mask\" takes a mask" \
    "set as: mask in step \"roi\"" "is refused, saying how to make it a mask"
finish
