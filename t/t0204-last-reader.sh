#!/bin/sh
# The runner drops its reference to an object right after the object's last
# reader, and hands that reader its own reference, so an in-place step does
# not copy; when a later step still reads the object, it copies.
. "${top_srcdir:?}/t/t0200-lib.sh"

run "$QIB" run "$pipes/rt-last.yaml" --out "$tmp/last" -v
is_rc 0 "rt-last runs"
p="$tmp/last/provenance.json"
jcheck "$p" 'j["steps"][1]["records"]["refcount_taken"]' 1 \
    "the last reader takes the only reference"
jcheck "$p" 'j["steps"][1]["records"]["copied"]' no "so making it writable does not copy"
# The ramp 0..11 (3x2x2) plus 1: sum 78, mean 6.5.
printf 'voxels,sum,mean\n12,78,6.5\n' > "$tmp/want.csv"
cmp -s "$tmp/want.csv" "$tmp/last/stats.csv"
ok $? "the in-place change reaches the next step"
lines=$(printf '%s\n' "$out" | sed -n -e 's/^qib: \(\[[0-9]\/4\] [a-z]*\) .*/\1/p' \
    -e 's/^qib: released \([a-z.]*\) .*/released \1/p' | tr '\n' '|')
want='[1/4] src|[2/4] shifted|released src.image|[3/4] stats|released shifted.image|[4/4] save|released stats.table|'
[ "$lines" = "$want" ]
ok $? "each object is released right after its last reader"
[ "$lines" = "$want" ] || diag "$lines"
has_line "qib: released src.image after its last reader, step \"shifted\"" "the release names the object and its reader"
has_line "  shifted: copied: no" "plugin log lines are shown with -v"

run "$QIB" run "$pipes/rt-shared.yaml" --out "$tmp/shared" -v
is_rc 0 "rt-shared runs"
p="$tmp/shared/provenance.json"
jcheck "$p" 'j["steps"][1]["records"]["refcount_taken"]' 2 \
    "a reader that is not the last shares the object"
jcheck "$p" 'j["steps"][1]["records"]["copied"]' yes "so making it writable copies"
# The later step sees the ramp unchanged: 0..11, sum 66, mean 5.5.
printf 'voxels,sum,mean\n12,66,5.5\n' > "$tmp/want.csv"
cmp -s "$tmp/want.csv" "$tmp/shared/stats.csv"
ok $? "the later reader sees the original values"
has_line "qib: released src.image after its last reader, step \"stats\"" \
    "the shared object is released after its last reader"
finish
