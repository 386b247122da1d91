# Shared helpers of the runner's shell tests (t02*.sh), sourced, not run.
# TAP output; the fixture plugins of t/fixtures/runner are the only plugins
# seen, so messages and suggestions do not depend on the real plugins.
: "${QIB:?QIB must name the qib program}" "${top_srcdir:?}" "${top_builddir:?}"
QIB_PLUGIN_PATH="$top_builddir/t/fixtures/runner/.libs"
export QIB_PLUGIN_PATH
pipes="$top_srcdir/t/data/pipelines"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qib-t02.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$top_srcdir/t/tap.sh"

# has_line PREFIX FRAGMENT... DESCRIPTION: some line of $out starts with
# PREFIX and contains every FRAGMENT.
has_line() {
    desc=$(eval "echo \${$#}")
    prefix=$1
    shift
    found=1
    while IFS= read -r line; do
        case $line in
        "$prefix"*) ;;
        *) continue ;;
        esac
        all=0
        i=1
        for frag in "$@"; do
            [ $i -lt $# ] || break
            case $line in
            *"$frag"*) ;;
            *) all=1 ;;
            esac
            i=$((i + 1))
        done
        if [ $all -eq 0 ]; then
            found=0
            break
        fi
    done <<EOT
$out
EOT
    ok $found "$desc"
    [ $found -eq 0 ] || diag "want a line starting: $prefix" "got:" "$out"
}

# count_lines PATTERN: lines of $out matching a grep pattern.
count_lines() { printf '%s\n' "$out" | grep -c -- "$1"; }

# json FILE EXPR: evaluate a Python expression on the parsed JSON file j.
json() {
    python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if not isinstance(v, bool) else str(v).lower())' "$1" "$2" 2>&1
}

# The plan is printed at the end (TAP allows it there), once every test ran:
# a script that stops early has no plan and fails.
finish() {
    echo "1..$tap_n"
    exit $((tap_failed > 0))
}

if command -v python3 >/dev/null 2>&1 && python3 -c 'import json' 2>/dev/null; then
    have_python=1
else
    have_python=0
fi

# jcheck FILE EXPR WANT DESCRIPTION: the Python expression EXPR on the JSON
# in FILE (as j) prints WANT.  Skipped without python3.
jcheck() {
    if [ $have_python -eq 0 ]; then
        tap_n=$((tap_n + 1))
        echo "ok $tap_n # SKIP python3 is needed to read JSON: $4"
        return
    fi
    got=$(json "$1" "$2")
    [ "$got" = "$3" ]
    ok $? "$4"
    [ "$got" = "$3" ] || diag "$2" "got:  $got" "want: $3"
}
