#!/bin/sh
# Regenerate the pass-count table of doc/ibsi-conformance.md: run the IBSI
# reference tests (digital phantom, configurations A-E), collect their
# "# <family>  pass / total" lines and write the table between the
# "<!-- conformance table -->" markers of the page.
# Usage: ibsi-conformance.sh PAGE TEST...   (run from the build directory,
# with QIB_PLUGIN_PATH and QIB_REFDATA set as for make check)
set -eu
page=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
for t in "$@"; do
    i=$((i + 1))
    case $t in
    *phantom*) name="Digital phantom" ;;
    *config-a*) name=A ;; *config-b*) name=B ;; *config-c*) name=C ;;
    *config-d*) name=D ;; *config-e*) name=E ;;
    *) name=$t ;;
    esac
    "./$t" > "$tmp/out.$i" 2>&1 || true
    if grep -q '^1\.\.0 # SKIP' "$tmp/out.$i"; then
        echo "$t: skipped (reference data missing); table not regenerated" >&2
        exit 1
    fi
    # keep the feature families; the diagnostics come first, as "all"
    awk -v col="$name" -v k=$i '
        /^# .* +[0-9]+ \/ +[0-9]+$/ {
            line = substr($0, 3); n = split(line, w, " ")
            fam = line; sub(/ +[0-9]+ \/ +[0-9]+$/, "", fam)
            print k "\t" col "\t" fam "\t" w[n-2] "\t" w[n]
        }' "$tmp/out.$i" >> "$tmp/rows"
done
awk -F'\t' '
    # The diagnostics block ends with its own "all" line: call it so.
    { key = $3
      if (key == "all") { seen_all[$1]++; key = seen_all[$1] == 1 && has_diag[$1] ? "Diagnostics, all" : "All features" }
      if (key ~ /^Diagnostics/) has_diag[$1] = 1
      if (!(key in order)) { order[key] = ++nk; keys[nk] = key }
      if (!($1 in cols)) { cols[$1] = $2; nc = ($1 > nc ? $1 : nc) }
      cell[key, $1] = $4 " / " $5 }
    END {
      printf "| Family |"; for (c = 1; c <= nc; c++) printf " %s |", cols[c]; printf "\n"
      printf "|---|"; for (c = 1; c <= nc; c++) printf "---|"; printf "\n"
      for (k = 1; k <= nk; k++) {
        if (keys[k] == "All features" || keys[k] == "Diagnostics, all") continue
        printf "| %s |", keys[k]
        for (c = 1; c <= nc; c++) printf " %s |", ((keys[k], c) in cell ? cell[keys[k], c] : "-")
        printf "\n" }
      for (k = 1; k <= nk; k++) {
        if (keys[k] != "All features" && keys[k] != "Diagnostics, all") continue
        printf "| **%s** |", keys[k]
        for (c = 1; c <= nc; c++) printf " **%s** |", ((keys[k], c) in cell ? cell[keys[k], c] : "-")
        printf "\n" }
    }' "$tmp/rows" > "$tmp/table"
awk -v tf="$tmp/table" '
    /<!-- conformance table -->/ { print; while ((getline l < tf) > 0) print l; skip = 1; next }
    /<!-- end of conformance table -->/ { skip = 0 }
    !skip { print }' "$page" > "$tmp/page"
cp "$tmp/page" "$page"
echo "updated $page"
