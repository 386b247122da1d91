#!/bin/sh
# The DICOM parser's libFuzzer target (t/fuzz/dicom-fuzz.c) built with
# clang under AddressSanitizer and UndefinedBehaviorSanitizer and run for
# QIB_FUZZ_SECONDS seconds from the seed corpus (t/fuzz/corpus): no crash,
# no leak, no undefined behaviour, no input slower than 10 s.  A finding is
# kept under the build directory (fuzz-findings/) and its fuzzer report
# shown.  Skipped unless QIB_FUZZ_SECONDS is set (.ci/run sets it for the
# sanitizer build's suite) or when clang cannot build a libFuzzer program
# (Debian: clang and libclang-rt-14-dev).
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/tap.sh"
secs=${QIB_FUZZ_SECONDS:-0}
case $secs in
'' | *[!0-9]* | 0)
    echo "1..0 # SKIP QIB_FUZZ_SECONDS is not set to a number of seconds (CI sets it)"
    exit 0 ;;
esac
cc=${QIB_FUZZ_CC:-clang}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qib-t0741.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    > "$tmp/probe.c"
if ! "$cc" -fsanitize=fuzzer "$tmp/probe.c" -o "$tmp/probe" > "$tmp/probe.log" 2>&1; then
    echo "1..0 # SKIP $cc cannot build a libFuzzer program (apt-get install clang libclang-rt-14-dev)"
    exit 0
fi

"$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I "$top_builddir" -I "$top_srcdir/include" -I "$top_srcdir/core" \
    "$top_srcdir/t/fuzz/dicom-fuzz.c" "$top_srcdir/core/dicom.c" "$top_srcdir/core/status.c" \
    -lz -o "$tmp/dicom-fuzz" > "$tmp/build.log" 2>&1
rc=$?
ok $rc "the DICOM fuzz target builds with $cc (libFuzzer, ASan, UBSan)"
if [ $rc -ne 0 ]; then
    diag "$(tail -n 20 "$tmp/build.log")"
    echo "1..$tap_n"
    exit 1
fi

mkdir -p "$tmp/corpus" "$tmp/findings"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$tmp/dicom-fuzz" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$tmp/findings/" \
    "$tmp/corpus" "$top_srcdir/t/fuzz/corpus" > "$tmp/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/fuzz.log")
ok $rc "${secs} s of fuzzing the DICOM parser: ${runs:-?} inputs, no crash, leak, UB or timeout"
if [ $rc -ne 0 ]; then
    diag "$(grep -v '^#\|^"' "$tmp/fuzz.log" | tail -n 40)"
    keep="$top_builddir/fuzz-findings"
    mkdir -p "$keep" && cp "$tmp"/findings/* "$keep"/ 2>/dev/null &&
        diag "the input(s) that failed: $keep/"
fi
[ -n "$runs" ] && [ "$runs" -gt 0 ]
ok $? "the fuzzer reports how many inputs it ran"
echo "1..$tap_n"
exit $((tap_failed > 0))
