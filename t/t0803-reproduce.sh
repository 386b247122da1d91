#!/bin/sh
# qib reproduce: a case rerun from its provenance.json is bit-identical;
# parameters and threads come from the record; a changed input or pipeline
# is reported before anything runs; a changed table value is found, with
# its column and the size of the change.
. "${top_srcdir:?}/t/t0800-lib.sh"

phantoms 1 2 || { echo "Bail out! qib phantom failed"; exit 1; }
d="$tmp/data"
cp "$pipeline" "$tmp/p.yaml"
run "$QIB" run "$tmp/p.yaml" --out "$tmp/a" -i ct="$d/p1/ct.nii.gz" -i roi="$d/p1/roi.nii.gz" \
    -p lower=95 --threads 2 -q
is_rc 0 "the original run"

run "$QIB" reproduce "$tmp/a/provenance.json" --out "$tmp/r1" -q
is_rc 0 "reproduce: bit-identical"
has "reproduced: all 1 output bit-identical (SHA-256); the new run is in $tmp/r1" "says so"
jcheck "$tmp/r1/provenance.json" '[(p["name"], p["value"]) for p in j["params"]], j["threads"]' \
    "([('lower', 95), ('upper', 3000)], 2)" "the record's parameters and threads were used"
is "$(sha "$tmp/r1/lesion-intensity.csv")" "$(sha "$tmp/a/lesion-intensity.csv")" "the same table"

# Without --out: a new directory, named.
run "$QIB" reproduce "$tmp/a/provenance.json" -q
is_rc 0 "reproduce into a temporary directory"
dir=$(printf '%s\n' "$out" | sed -n 's/.*the new run is in //p')
[ -n "$dir" ] && [ -f "$dir/provenance.json" ]
ok $? "the temporary directory holds the run"
[ -n "$dir" ] && rm -rf "$dir"

# A changed input: reported, nothing run.
cp "$d/p2/ct.nii.gz" "$d/p1/ct.nii.gz"
run "$QIB" reproduce "$tmp/a/provenance.json" --out "$tmp/r2"
is_rc 1 "a changed input"
has "input ct: $d/p1/ct.nii.gz: SHA-256 $(sha "$d/p2/ct.nii.gz"), the record says " "names the input and both digests"
has "1 mismatch with the record; nothing was run" "nothing run"
[ ! -e "$tmp/r2" ]
ok $? "no output directory"
rm "$d/p1/roi.nii.gz"
run "$QIB" reproduce "$tmp/a/provenance.json" --out "$tmp/r2"
is_rc 1 "a missing input as well"
has "2 mismatches with the record" "both counted"

# A changed pipeline.
"$QIB" phantom ct-lesion --out "$d/p1" --size 16 --slices 8 --radius 3 --seed 1 >/dev/null
echo "# edited" >> "$tmp/p.yaml"
run "$QIB" reproduce "$tmp/a/provenance.json" --out "$tmp/r3"
is_rc 1 "a changed pipeline"
has "pipeline $tmp/p.yaml: SHA-256 $(sha "$tmp/p.yaml"), the record says $(sha "$pipeline")" "says which"
run "$QIB" reproduce "$tmp/a/provenance.json" --out "$tmp/r3" --pipeline "$pipeline" -q
is_rc 0 "--pipeline: the moved, unchanged file"
cp "$pipeline" "$tmp/p.yaml"

# A table value that differs from the record (as a new plugin version would
# give): the column, the count and the change.
python3 - "$tmp/a" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
t = open(d + "/lesion-intensity.csv").read().splitlines()
h, r = t[0].split(","), t[1].split(",")
k = h.index("mean")
r[k] = repr(float(r[k]) + 0.25)
s = "\n".join([t[0], ",".join(r)] + t[2:]) + "\n"
open(d + "/lesion-intensity.csv", "w").write(s)
j = json.load(open(d + "/provenance.json"))
j["files"][0]["sha256"] = hashlib.sha256(s.encode()).hexdigest()
for p in j["plugins"]:
    if p["name"] == "bio.intensity":
        p["version"] = "0.9.0"
json.dump(j, open(d + "/provenance.json", "w"))
PY
run "$QIB" reproduce "$tmp/a/provenance.json" --out "$tmp/r4" -q
is_rc 1 "a value differs"
has "lesion-intensity.csv: differs (SHA-256 " "the file is named"
has "lesion-intensity.csv: column mean: 1 of 1 value changed; largest |difference| 0.25 (" \
    "the column and the size of the change"
is "$(printf '%s\n' "$out" | grep -c 'column ')" 1 "no other column changed"
has "plugin bio.intensity: version 0.9.0, now 1.0.0" "the version that differs"
has "not reproduced: 1 output differs, 0 bit-identical" "the verdict"

# An image output compressed to other bytes (another compressor, another
# zlib): the same data once decompressed is reproduced; other data is not.
cat > "$tmp/img.yaml" <<'EOF'
qib: 1
name: t0803-img
inputs:
  ct: {type: path, help: "CT"}
steps:
  - {id: ct, plugin: read.nifti, with: {path: "${inputs.ct}"}}
  - {id: save, plugin: write.nifti, in: {image: ct}, with: {path: copy.nii.gz}}
EOF
run "$QIB" run "$tmp/img.yaml" --out "$tmp/i" -i ct="$d/p1/ct.nii.gz" -q
is_rc 0 "a run writing a .nii.gz"
# regz LEVEL EXPR: rewrite the image output as gzip at LEVEL with its data
# replaced by the Python expression EXPR of `raw` (the decompressed bytes;
# bump(raw, i, d) adds d to int16 voxel i), and put the new file's SHA-256
# in the record.
regz() {
    python3 - "$tmp/i" "$1" "$2" <<'PY'
import gzip, hashlib, json, struct, sys
d, level, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def bump(raw, i, delta):
    raw = bytearray(raw)
    k = 352 + 2 * i
    struct.pack_into("<h", raw, k, struct.unpack_from("<h", raw, k)[0] + delta)
    return bytes(raw)
raw = gzip.decompress(open(d + "/copy.nii.gz", "rb").read())
z = gzip.compress(eval(expr), compresslevel=level, mtime=0)
open(d + "/copy.nii.gz", "wb").write(z)
j = json.load(open(d + "/provenance.json"))
for f in j["files"]:
    if f["path"] == "copy.nii.gz":
        f["sha256"] = hashlib.sha256(z).hexdigest()
json.dump(j, open(d + "/provenance.json", "w"))
PY
}
regz 9 raw
run "$QIB" reproduce "$tmp/i/provenance.json" --out "$tmp/r5" -q
is_rc 0 "recompressed image output: reproduced"
has "copy.nii.gz: the same data, compressed to other bytes" "says the data are the same"
has "reproduced: 0 outputs bit-identical, 1 the same once decompressed" "the verdict counts it"
regz 6 'raw + b"extra"'
run "$QIB" reproduce "$tmp/i/provenance.json" --out "$tmp/r6" -q
is_rc 1 "image output with other data"
has "and so does its decompressed data" "says the data differ"
# One voxel changed by +7 (as a new plugin version might): which, and by
# how much.  The phantom is 16 x 16 x 8 = 2048 voxels (t0800-lib.sh's
# phantoms); linear voxel 100 is (100 mod 16, 100 div 16, 0) = (4, 6, 0).
regz 6 'bump(raw[:352 + 2 * 16 * 16 * 8], 100, 7)'
run "$QIB" reproduce "$tmp/i/provenance.json" --out "$tmp/r7" -q
is_rc 1 "image output with one voxel changed"
has "copy.nii.gz: 1 of 2048 voxels changed; largest |difference| 7 (" "the count and the size of the change"
has " at voxel 4,6,0)" "and where"

run "$QIB" reproduce "$tmp/nothing.json"
is_rc 2 "no such record"
printf '{"x": 1}\n' > "$tmp/x.json"
run "$QIB" reproduce "$tmp/x.json"
is_rc 2 "not a provenance record"
has "not a qib provenance record" "says so"
finish
