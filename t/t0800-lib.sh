# Shared helpers of the cohort tests (t08*.sh), sourced, not run.  TAP
# output; the real plugins (QIB_PLUGIN_PATH from the test environment) and
# the shipped demo pipeline, on small phantoms made by `qib phantom`.
: "${QIB:?QIB must name the qib program}" "${top_srcdir:?}" "${top_builddir:?}"
pipeline="$top_srcdir/pipelines/demo-ct-lesion.yaml"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qib-t08.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$top_srcdir/t/tap.sh"

# is GOT WANT DESCRIPTION
is() {
    [ "$1" = "$2" ]
    ok $? "$3"
    [ "$1" = "$2" ] || diag "got:  $1" "want: $2"
}

# has FRAGMENT DESCRIPTION: $out contains FRAGMENT.
has() {
    case $out in
    *"$1"*) ok 0 "$2" ;;
    *) ok 1 "$2"; diag "want: $1" "got:" "$out" ;;
    esac
}

# json FILE EXPR: a Python expression on the parsed JSON file, as j.
json() {
    python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if not isinstance(v, bool) else str(v).lower())' "$1" "$2" 2>&1
}

jcheck() {
    got=$(json "$1" "$2")
    [ "$got" = "$3" ]
    ok $? "$4"
    [ "$got" = "$3" ] || diag "$2" "got:  $got" "want: $3"
}

finish() {
    echo "1..$tap_n"
    exit $((tap_failed > 0))
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

if ! python3 -c 'import json' 2>/dev/null; then
    echo "1..0 # SKIP python3 is needed to read the JSON records"
    exit 0
fi
for p in read_nifti bio_intensity export_csv; do
    if [ ! -f "${QIB_PLUGIN_PATH:-}/$p.so" ]; then
        echo "1..0 # SKIP plugin $p.so is not in QIB_PLUGIN_PATH"
        exit 0
    fi
done

# phantoms N...: one small CT phantom per seed into $tmp/data/pN/.
phantoms() {
    mkdir -p "$tmp/data"
    for s in "$@"; do
        "$QIB" phantom ct-lesion --out "$tmp/data/p$s" --size 16 --slices 8 --radius 3 \
            --seed "$s" >/dev/null || return 1
    done
}
