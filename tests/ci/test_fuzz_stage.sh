#!/bin/sh
# Test of scripts/test.sh itself (issue 12, "CI that can fail"): its fuzz stage must fail
# the run when a fuzz target crashes, keep the crashing input and print where; and pass
# when nothing crashes. Uses a real libFuzzer target with a planted crash
# (planted_fuzzer.c), built with clang; exit 77 (skipped) when clang cannot build one.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

CC=${PVFIO_FUZZ_CC:-clang}
if ! "$CC" -fsanitize=fuzzer,address -DPLANTED_HASH=0xe52b589dbc6cf4c2ull \
      -o "$tmp/fuzz_planted" "$HERE/planted_fuzzer.c" 2>"$tmp/cc.err"; then
  echo "skipped: $CC cannot build a libFuzzer target: $(head -n 1 "$tmp/cc.err")"
  exit 77
fi
fail() { echo "FAIL: $*"; echo "--- scripts/test.sh output:"; cat "$tmp/out"; exit 1; }

run_fuzz_stage() { # corpus-folder crash-folder
  st=0
  PVFIO_TEST_STAGES=fuzz PVFIO_FUZZERS="$tmp/fuzz_planted" PVFIO_FUZZ_CORPUS="$1" \
    PVFIO_FUZZ_CRASHES="$2" PVFIO_FUZZ_SECONDS=3 sh "$TOP/scripts/test.sh" >"$tmp/out" 2>&1 || st=$?
  return $st
}

# 1. the planted crashing input fails the stage, and the input is kept
mkdir -p "$tmp/crash/planted"
printf 'harmless' >"$tmp/crash/planted/a"
printf 'PLANTED-CRASH-INPUT' >"$tmp/crash/planted/b"
st=0
run_fuzz_stage "$tmp/crash" "$tmp/kept" || st=$?
[ "$st" -ne 0 ] || fail "a crashing fuzz target passed the fuzz stage"
grep -q "^FAILED: test stage 'fuzz'" "$tmp/out" || fail "no FAILED line naming the fuzz stage"
! grep -q "all test stages passed" "$tmp/out" || fail "'all test stages passed' after a crash"
kept=$(ls "$tmp/kept"/fuzz_planted-crash-* 2>/dev/null | head -n 1)
[ -n "$kept" ] || fail "the crashing input was not kept in PVFIO_FUZZ_CRASHES"
[ "$(cat "$kept")" = "PLANTED-CRASH-INPUT" ] || fail "the kept input is not the planted one"
grep -q "crashing input: $kept" "$tmp/out" || fail "the kept input's path is not printed"

# 2. without the planted input the same stage passes
mkdir -p "$tmp/clean/planted"
printf 'harmless' >"$tmp/clean/planted/a"
run_fuzz_stage "$tmp/clean" "$tmp/kept2" || fail "the fuzz stage failed without a crash"
grep -q "all test stages passed" "$tmp/out" || fail "no 'all test stages passed' line"
echo "ok: a planted crash fails the fuzz stage (input kept: $(basename "$kept")); a clean run passes"
