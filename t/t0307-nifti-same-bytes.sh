#!/bin/sh
# write.nifti's .nii.gz bytes are a function of the image alone: the same
# image written by 12 separate processes (each with its own address-space
# layout) gives one SHA-256, and that file is, byte for byte, a gzip header
# without time stamp, zlib level 1's raw deflate of the 352-byte header and
# of each 4 MiB of voxels (full flush between pieces, the last one final),
# then CRC-32 and length -- rebuilt here with Python's zlib.  With
# `deflater: isal` the file is a valid gzip of the same bytes (when qib was
# built with ISA-L) or the parameter is refused with a reason.
set -u
: "${QIB:?}" "${top_srcdir:?}"
. "$top_srcdir/t/tap.sh"
py=/usr/bin/python3
if ! "$py" -c 'import zlib, gzip' 2>/dev/null; then
    echo "1..0 # SKIP python3 is needed"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qib-t0307.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# 256 x 256 x 40 int16: 5.2 MB of voxels, so two deflate pieces.
for i in $(seq 1 12); do
    "$QIB" phantom ct-lesion --out "$tmp/p$i" --size 256 --slices 40 --radius 20 --seed 3 \
        >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; break; }
done
[ -f "$tmp/p12/ct.nii.gz" ]
ok $? "12 processes wrote the same phantom"
n=$(sha256sum "$tmp"/p*/ct.nii.gz | cut -d' ' -f1 | sort -u | wc -l)
[ "$n" -eq 1 ]
ok $? "one SHA-256 for the 12 files (got $n)"
[ "$n" -eq 1 ] || diag "$(sha256sum "$tmp"/p*/ct.nii.gz | sort | uniq -c -w64)"

run "$py" - "$tmp/p1/ct.nii.gz" <<'PY'
import gzip, struct, sys, zlib
f = open(sys.argv[1], "rb").read()
raw = gzip.decompress(f)
pieces = [raw[:352]] + [raw[352 + k:352 + k + (4 << 20)] for k in range(0, len(raw) - 352, 4 << 20)]
body = b""
for i, p in enumerate(pieces):
    c = zlib.compressobj(1, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    body += c.compress(p) + c.flush(zlib.Z_FINISH if i == len(pieces) - 1 else zlib.Z_FULL_FLUSH)
want = bytes([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]) + body + \
    struct.pack("<II", zlib.crc32(raw), len(raw) & 0xffffffff)
print("pieces", len(pieces), "bytes", len(f), "rebuilt", len(want))
print("SAME" if f == want else "DIFFERENT")
PY
has_same=1
case $out in *SAME*) has_same=0 ;; esac
ok $has_same "the file is zlib level 1 of the header and each 4 MiB piece, byte for byte"
[ $has_same -eq 0 ] || diag "$out"
case $out in *"pieces 3 "*) ok 0 "three pieces (header and two of voxels)" ;;
*) ok 1 "three pieces (header and two of voxels)"; diag "$out" ;; esac

# The provenance names the compressor.
cat > "$tmp/w.yaml" <<'EOF'
qib: 1
name: t0307
inputs:
  img: {type: path, help: "image"}
params:
  deflater: {type: string, default: zlib, help: "zlib or isal"}
steps:
  - {id: img, plugin: read.nifti, with: {path: "${inputs.img}"}}
  - {id: save, plugin: write.nifti, in: {image: img}, with: {path: out.nii.gz, deflater: "${params.deflater}"}}
EOF
run "$QIB" run "$tmp/w.yaml" --out "$tmp/w1" -i img="$tmp/p1/ct.nii.gz" -q
is_rc 0 "read and write it again through a pipeline"
cmp -s "$tmp/w1/out.nii.gz" "$tmp/p1/ct.nii.gz"
ok $? "the same bytes as the phantom's file"
grep -q '"gzip, zlib [0-9.]* level 1"' "$tmp/w1/provenance.json"
ok $? "provenance records zlib, its version and the level"

run "$QIB" run "$tmp/w.yaml" --out "$tmp/w2" -i img="$tmp/p1/ct.nii.gz" -p deflater=isal -q
if [ "$rc" -eq 0 ]; then
    gzip -dc "$tmp/w2/out.nii.gz" > "$tmp/a.nii" && gzip -dc "$tmp/p1/ct.nii.gz" > "$tmp/b.nii" &&
        cmp -s "$tmp/a.nii" "$tmp/b.nii"
    ok $? "deflater isal: a gzip of the same bytes"
    grep -q '"gzip, ISA-L igzip level 1"' "$tmp/w2/provenance.json"
    ok $? "provenance records ISA-L"
else
    case $out in *"built without ISA-L"*) ok 0 "deflater isal refused: built without ISA-L" ;;
    *) ok 1 "deflater isal: runs, or is refused with the reason"; diag "$out" ;; esac
    echo "ok $((tap_n + 1)) # SKIP no ISA-L in this build"
    tap_n=$((tap_n + 1))
fi

echo "1..$tap_n"
exit $((tap_failed > 0))
