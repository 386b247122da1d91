#!/bin/sh
# The reference pages in doc/plugins/ are what `qib describe --markdown`
# prints: a default, bound or help text changed in a descriptor without
# `make doc-plugins` fails here.  Plugins not built in this tree are skipped.
set -u
: "${QIB:?}" "${top_srcdir:?}" "${top_builddir:?}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
dir="$top_builddir/plugins/.libs/"
QIB_PLUGIN_PATH=$dir
export QIB_PLUGIN_PATH
names=$("$QIB" plugins 2>/dev/null | awk -v dir="$dir" 'NR > 1 && index($NF, dir) == 1 { print $1 }')
if [ -z "$names" ]; then
    echo "1..0 # SKIP no plugin built"; exit 0
fi
set -- $names
echo "1..$#"
n=0
for name in "$@"; do
    n=$((n + 1))
    page="$top_srcdir/doc/plugins/$name.md"
    if [ ! -f "$page" ]; then
        echo "not ok $n - doc/plugins/$name.md exists (run make doc-plugins)"
        continue
    fi
    "$QIB" describe --markdown "$name" > "$tmp/$name.md" 2> "$tmp/err"
    if cmp -s "$page" "$tmp/$name.md"; then
        echo "ok $n - doc/plugins/$name.md matches qib describe --markdown"
    else
        echo "not ok $n - doc/plugins/$name.md matches qib describe --markdown (run make doc-plugins)"
        diff -u "$page" "$tmp/$name.md" | sed 's/^/# /'
        sed 's/^/# /' "$tmp/err"
    fi
done
