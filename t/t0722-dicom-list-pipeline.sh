#!/bin/sh
# read.dicom's path as a YAML list in a pipeline: three files of the IBSI CT
# phantom (QIB_REFDATA/ibsi_data_sets) given as a block sequence of
# ${inputs.dir}/FILE items, and as a plist pipeline parameter; provenance
# records every path and every file read with its SHA-256; a mapping, an
# empty list and a missing file are refused with their place and the file.
. "${top_srcdir:?}/t/t0200-lib.sh"
QIB_PLUGIN_PATH="$top_builddir/plugins/.libs"
export QIB_PLUGIN_PATH
[ -f "$QIB_PLUGIN_PATH/read_dicom.so" ] || { echo "1..0 # SKIP read.dicom not built"; exit 0; }
dir=${QIB_REFDATA:-}/ibsi_data_sets/orig/ibsi_1_ct_radiomics_phantom/dicom/image
[ -f "$dir/DCM_IMG_00020.dcm" ] || { echo "1..0 # SKIP the IBSI CT phantom is not under QIB_REFDATA"; exit 0; }
[ $have_python -eq 1 ] || { echo "1..0 # SKIP python3 is needed to read provenance.json"; exit 0; }

# Files 20 to 22 are slices 39 to 37 of the phantom's 60 (the numbers run
# down the stack): listed out of order, they come back sorted by position.
cat > "$tmp/list.yaml" <<'YAML'
qib: 1
name: dicom-list
inputs:
  dir: {type: path, help: "the phantom's DICOM image directory"}
steps:
  - id: ct
    plugin: read.dicom
    with:
      path:
        - "${inputs.dir}/DCM_IMG_00021.dcm"
        - "${inputs.dir}/DCM_IMG_00020.dcm"
        - "${inputs.dir}/DCM_IMG_00022.dcm"
outputs:
  ct: {step: ct.image, help: "three slices"}
YAML
run "$QIB" validate "$tmp/list.yaml"
is_rc 0 "a list of paths with substitutions validates"
run "$QIB" run -q "$tmp/list.yaml" --input dir="$dir" --out "$tmp/o1"
is_rc 0 "the pipeline reads the three listed files"
p=$tmp/o1/provenance.json
jcheck "$p" 'j["outputs"]["ct"]["object"]["dims"]' "[204, 201, 3]" "204 x 201 x 3 voxels"
jcheck "$p" 'abs(j["outputs"]["ct"]["object"]["spacing"][2] - 3) < 1e-9' "true" "3 mm between slices"
jcheck "$p" '[x.rsplit("/", 1)[1] for x in j["steps"][0]["params"]["path"]]' \
    "['DCM_IMG_00021.dcm', 'DCM_IMG_00020.dcm', 'DCM_IMG_00022.dcm']" \
    "provenance records the path list as written, in order"
want=$(for f in 21 20 22; do sha256sum "$dir/DCM_IMG_000$f.dcm" | cut -d' ' -f1; done | tr '\n' ' ')
jcheck "$p" '" ".join(x["sha256"] for x in j["steps"][0]["files_read"]) + " "' "$want" \
    "every file read is recorded with its SHA-256"

# The same list as a pipeline parameter of type plist, overridden with -p.
cat > "$tmp/param.yaml" <<YAML
qib: 1
name: dicom-list-param
params:
  files: {type: plist, default: ["$dir/DCM_IMG_00020.dcm", "$dir/DCM_IMG_00021.dcm"],
          help: "the slices to read"}
steps:
  - id: ct
    plugin: read.dicom
    with: {path: "\${params.files}"}
outputs:
  ct: {step: ct.image}
YAML
run "$QIB" run -q "$tmp/param.yaml" --out "$tmp/o2"
is_rc 0 "a plist parameter's default feeds the list"
jcheck "$tmp/o2/provenance.json" 'j["outputs"]["ct"]["object"]["dims"][2]' "2" "two slices"
jcheck "$tmp/o2/provenance.json" 'len(j["params"][0]["value"])' "2" \
    "the pipeline parameter is recorded as a list of two"
run "$QIB" run -q "$tmp/param.yaml" --out "$tmp/o3" \
    -p "files=[$dir/DCM_IMG_00020.dcm, $dir/DCM_IMG_00021.dcm, $dir/DCM_IMG_00022.dcm, $dir/DCM_IMG_00023.dcm]"
is_rc 0 "-p files=[...] overrides it"
jcheck "$tmp/o3/provenance.json" 'j["outputs"]["ct"]["object"]["dims"][2]' "4" "four slices"

# A mapping where a list belongs, an empty list, an empty item.
sed -e '/^      path:$/,/DCM_IMG_00022/d' -e 's/^    with:$/    with:\n      path: {first: a.dcm, second: b.dcm}/' \
    "$tmp/list.yaml" > "$tmp/map.yaml"
run "$QIB" validate "$tmp/map.yaml"
is_rc 2 "a mapping for path"
has_line "$tmp/map.yaml:9:13: parameter \"path\" must be a value or a list of values, found a mapping" \
    "is refused at its place"
sed -e '/^      path:$/,/DCM_IMG_00022/d' -e 's/^    with:$/    with:\n      path: []/' \
    "$tmp/list.yaml" > "$tmp/empty.yaml"
run "$QIB" validate "$tmp/empty.yaml"
is_rc 2 "an empty list for path"
has_line "$tmp/empty.yaml:9:13: step \"ct\" (read.dicom " \
    "parameter \"path\": expected a path or a list of at least one path, got []" "is refused at its place"
sed -e 's|^        - "${inputs.dir}/DCM_IMG_00020.dcm"$|        - ""|' "$tmp/list.yaml" > "$tmp/blank.yaml"
run "$QIB" validate "$tmp/blank.yaml"
is_rc 2 "an empty item"
has_line "$tmp/blank.yaml:" "parameter \"path\": item 2: expected a path, got \"\"" "is refused, naming the item"

# A listed file that does not exist: the run stops and names it.
sed -e 's|DCM_IMG_00022.dcm|DCM_IMG_99999.dcm|' "$tmp/list.yaml" > "$tmp/missing.yaml"
run "$QIB" run -q "$tmp/missing.yaml" --input dir="$dir" --out "$tmp/o4"
is_rc 1 "a missing listed file"
has_line "$tmp/missing.yaml:" "read.dicom" "$dir/DCM_IMG_99999.dcm: No such file or directory" \
    "stops the run with the file's name"
finish
