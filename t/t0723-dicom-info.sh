#!/bin/sh
# qib info on DICOM directories: one series prints the volume as for a
# NIfTI file; several series (three slices of the IBSI CT phantom and
# pydicom's CT_small and MR_small, copied from QIB_REFDATA into a temporary
# directory beside a text file) print one line per series with its number,
# modality, instances, description and UID, and exit 0.
. "${top_srcdir:?}/t/t0200-lib.sh"
QIB_PLUGIN_PATH="$top_builddir/plugins/.libs"
export QIB_PLUGIN_PATH
[ -f "$QIB_PLUGIN_PATH/read_dicom.so" ] || { echo "1..0 # SKIP read.dicom not built"; exit 0; }
ibsi=${QIB_REFDATA:-}/ibsi_data_sets/orig/ibsi_1_ct_radiomics_phantom/dicom/image
pyd=${QIB_REFDATA:-}/pydicom_test_files/orig/pydicom/data/test_files
[ -f "$ibsi/DCM_IMG_00000.dcm" ] && [ -f "$pyd/CT_small.dcm" ] && [ -f "$pyd/MR_small.dcm" ] ||
    { echo "1..0 # SKIP the IBSI CT phantom or pydicom's test files are not under QIB_REFDATA"; exit 0; }
ibsi_uid=1.3.6.1.4.1.9590.100.1.2.296658988911737913102339329841519593982
ct_uid=1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322
mr_uid=1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457

mkdir "$tmp/one" "$tmp/several" "$tmp/several/sub"
cp "$ibsi/DCM_IMG_00000.dcm" "$ibsi/DCM_IMG_00001.dcm" "$ibsi/DCM_IMG_00002.dcm" "$tmp/one/"
cp "$tmp/one/"*.dcm "$tmp/several/"
cp "$pyd/CT_small.dcm" "$tmp/several/"
cp "$pyd/MR_small.dcm" "$tmp/several/sub/"
printf 'scan notes\n' > "$tmp/several/README.txt"

# One series: the volume, as before.
run "$QIB" info "$tmp/one"
is_rc 0 "one series"
has_line "dimensions:  204 x 201 x 3" "is read: its dimensions"
has_line "  dicom.series_uid = $ibsi_uid" "and its metadata"

# Several: the list, exit 0.
run "$QIB" info "$tmp/several"
is_rc 0 "several series are listed"
has_line "file:        $tmp/several" "names the directory"
has_line "reader:      read.dicom " "names the reader"
has_line "series:      3 image series; read one with read.dicom's series_uid" "says how many and how to choose"
has_line "  number  modality  instances  description  series UID" "a header line"
# IBSI slices have no SeriesNumber ("-") and sort first; pydicom's two are
# series 1, by UID.  Columns are aligned, so compare squeezed blanks.
got=$(printf '%s\n' "$out" | sed -n '/^  number/,$p' | tr -s ' ')
want=$(printf '%s\n' " number modality instances description series UID" \
    " - CT 3 \"\" $ibsi_uid" " 1 CT 1 \"\" $ct_uid" " 1 MR 1 \"\" $mr_uid" \
    "skipped: 1 file that is not a DICOM image")
[ "$got" = "$want" ]
ok $? "one line per series: number, modality, instances, description, UID; the text file counted"
[ "$got" = "$want" ] || diag "got:" "$got" "want:" "$want"
[ "$(count_lines '^voxel type')" -eq 0 ]
ok $? "no volume is read"

# read.dicom picks one of them with the UID from the list.
cat > "$tmp/pick.yaml" <<YAML
qib: 1
name: pick
steps:
  - id: ct
    plugin: read.dicom
    with: {path: "$tmp/several", series_uid: "$mr_uid"}
outputs:
  mr: {step: ct.image}
YAML
run "$QIB" run -q "$tmp/pick.yaml" --out "$tmp/o"
is_rc 0 "the MR series read by its UID from the list"

# A directory without any DICOM image is still an error.
mkdir "$tmp/none"
printf 'x\n' > "$tmp/none/a.txt"
run "$QIB" info "$tmp/none"
is_rc 1 "a directory without DICOM images"
has_line "qib info: $tmp/none: no DICOM image series found (1 file looked at)" "says so"
finish
