#!/bin/sh
# The qib command's dispatcher, `qib plugins` and `qib describe`, on the
# fixture modules: output checked line by line, exit statuses as in
# core/cli.h (0 ok, 2 usage or unknown plugin).
set -u
: "${QIB:?}" "${top_builddir:?}"
fix="$top_builddir/t/fixtures/.libs"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "1..57"
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
# run CMD...: stdout to out, stderr to err, status in st
run() { "$@" > "$tmp/out" 2> "$tmp/err"; st=$?; }
has() { grep -qF -- "$2" "$tmp/$1"; r=$?; [ $r = 0 ] || { echo "# $1 lacks: $2"; sed 's/^/#   /' "$tmp/$1"; }; return $r; }

mkdir "$tmp/p" "$tmp/empty" || exit 1
cp "$fix/fixture_add.so" "$fix/fixture_major.so" "$tmp/p/" || exit 1
cp "$fix/fixture_badenum.so" "$tmp/p/bio_fixture_abi.so" || exit 1
QIB_PLUGIN_PATH="$tmp/p"
export QIB_PLUGIN_PATH

# Dispatcher.
run "$QIB" --help
t $st "--help exits 0"
has out "usage: qib COMMAND"; t $? "--help: usage line"
has out "  describe   show a plugin's parameters and ports"; t $? "--help: lists describe"
has out "130 interrupted"; t $? "--help: exit statuses"
run "$QIB"
[ $st = 2 ]; t $? "no command: exit 2"
has err "usage: qib COMMAND"; t $? "no command: usage on stderr"
run "$QIB" --version
t $st "--version exits 0"
grep -qx "qib [0-9][0-9.]*" "$tmp/out"; t $? "--version: qib VERSION"
has out "plugin ABI 1.0"; t $? "--version: the plugin ABI"
run "$QIB" plugns
[ $st = 2 ]; t $? "unknown command: exit 2"
has err "unknown command \"plugns\" (did you mean \"plugins\"?)"; t $? "unknown command: suggestion"
run "$QIB" --frobnicate
[ $st = 2 ]; t $? "unknown option: exit 2"

# qib plugins.
run "$QIB" plugins
t $st "plugins exits 0 with a refused module"
head -n 1 "$tmp/out" | grep -q "^NAME  *KIND  *VERSION  *SUMMARY  *MODULE$"; t $? "plugins: header"
grep -q "^seg.fixture_add  *seg  *1.2.3  *test fixture: add an offset to a volume, or threshold it  *$tmp/p/fixture_add.so$" "$tmp/out"
t $? "plugins: the good fixture with kind, version, summary and module"
[ "$(wc -l < "$tmp/out")" -eq 2 ]; t $? "plugins: one plugin listed"
has err "qib: refused $tmp/p/fixture_major.so: built for plugin ABI 2.0"; t $? "plugins: refused module on stderr"
has err "qib: refused $tmp/p/bio_fixture_abi.so: bio.fixture_abi: parameter \"mode\": an enum without choices"
t $? "plugins: malformed module with its reason"
run "$QIB" plugins extra
[ $st = 2 ]; t $? "plugins with an argument: exit 2"
run "$QIB" plugins --help
t $st "plugins --help"
QIB_PLUGIN_PATH="$tmp/empty" run "$QIB" plugins
t $st "plugins with none found exits 0"
has err "no plugins found in QIB_PLUGIN_PATH ($tmp/empty)"; t $? "plugins: says none found"

# qib describe, text.
run "$QIB" describe seg.fixture_add
t $st "describe exits 0"
has out "seg.fixture_add 1.2.3"; t $? "describe: name and version"
has out "  test fixture: add an offset to a volume, or threshold it"; t $? "describe: summary"
has out "  license:  MIT"; t $? "describe: licence"
has out "  citation: none | a pipe to escape"; t $? "describe: citation"
has out "  module:   $tmp/p/fixture_add.so"; t $? "describe: module path"
has out "  offset (double), default 0, range -1000 to 1000, unit HU"; t $? "describe: double with range and unit"
has out "      value added to each voxel, in image units (HU)"; t $? "describe: help line"
has out "  times (int), default 1, range 1 to 10"; t $? "describe: int"
has out "  as (enum), default volume"; t $? "describe: enum"
has out "      one of: volume, mask"; t $? "describe: choices"
has out "  save (path (output)), no default"; t $? "describe: output path"
has out "  weights (dlist), default [1], range >= 0"; t $? "describe: dlist with a minimum"
has out "  mask (mask, optional)"; t $? "describe: optional input"
has out "  out (volume (a mask when as=mask)) [primary]"; t $? "describe: mask_when output"

# qib describe --markdown.
run "$QIB" describe --markdown seg.fixture_add
t $st "describe --markdown exits 0"
head -n 1 "$tmp/out" | grep -qx "# seg.fixture_add"; t $? "markdown: title"
has out '| `offset` | double | `0` | -1000 to 1000 | HU | value added to each voxel, in image units (HU) |'
t $? "markdown: parameter row"
has out '| `as` | enum | `volume` | `volume`, `mask` |  | volume: add the offset; mask: voxels above threshold become label 1 |'
t $? "markdown: enum row with choices"
has out '| Reference | none \| a pipe to escape |'; t $? "markdown: '|' escaped in a cell"
has out '| `mask` | mask | no | where to add (default: everywhere) |'; t $? "markdown: input row"
grep -q "$tmp" "$tmp/out"; [ $? = 1 ]; t $? "markdown: no build-specific path in the page"

# Errors.
run "$QIB" describe seg.fixture_ad
[ $st = 2 ]; t $? "describe unknown: exit 2"
has err "no plugin \"seg.fixture_ad\" (did you mean \"seg.fixture_add\"?)"; t $? "describe unknown: suggestion"
run "$QIB" describe bio.fixture_abi
[ $st = 2 ] && has err "plugin \"bio.fixture_abi\" was refused: $tmp/p/bio_fixture_abi.so: bio.fixture_abi: parameter \"mode\": an enum without choices"
t $? "describe a refused plugin: says why"
run "$QIB" describe
[ $st = 2 ] && has err "usage: qib describe NAME [--markdown]"; t $? "describe without a name: usage, exit 2"

# Lookup by file name against the full scan.  p2 comes first and holds the
# plugin under its own file name (another version) and a module whose file
# name is that of another plugin: `qib describe` opens only the first, and
# `qib plugins` (every module) agrees on the winner and still reports each
# refused module.
mkdir "$tmp/p2" || exit 1
cp "$fix/fixture_dup.so" "$tmp/p2/seg_fixture_add.so" || exit 1
cp "$fix/fixture_add.so" "$tmp/p2/seg_other.so" || exit 1
QIB_PLUGIN_PATH="$tmp/p2:$tmp/p" run "$QIB" describe seg.fixture_add
t $st "lookup: describe exits 0"
has out "seg.fixture_add 9.9.9"; t $? "lookup: the earlier directory's module"
has out "  module:   $tmp/p2/seg_fixture_add.so"; t $? "lookup: its file"
sum=$(sha256sum "$tmp/p2/seg_fixture_add.so" | cut -d' ' -f1)
has out "  sha256:   $sum"; t $? "lookup: its SHA-256"
QIB_PLUGIN_PATH="$tmp/p2:$tmp/p" run "$QIB" plugins
t $st "lookup: plugins exits 0"
grep -q "^seg.fixture_add  *seg  *9.9.9 .* $tmp/p2/seg_fixture_add.so$" "$tmp/out"
t $? "lookup: plugins lists the same module"
has err "qib: refused $tmp/p2/seg_other.so: holds plugin \"seg.fixture_add\" but its file name is that of plugin \"seg.other\": rename it to seg_fixture_add.so"
t $? "lookup: a module named after another plugin is refused"
has err "qib: refused $tmp/p/fixture_add.so: plugin \"seg.fixture_add\" is already loaded from $tmp/p2/seg_fixture_add.so"
t $? "lookup: the later copy is refused"
has err "qib: refused $tmp/p/fixture_major.so: built for plugin ABI 2.0"; t $? "lookup: other refusals still reported"
