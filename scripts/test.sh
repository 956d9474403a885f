#!/bin/sh
# The whole test suite: gcc build + tests, the README demo, Proxmox's own code over every
# request the simulator logged (pvecheck), clang build (warnings are errors), ASan+UBSan
# build + tests, and a bounded libFuzzer run of every fuzz target.
#
# Any stage that fails fails the run (exit 1) and the last line names it; "all test stages
# passed" only when every stage passed.
#
#   PVFIO_TEST_STAGES   stages to run, in this order (default: all)
#                       gcc demo pvecheck differential clang asan fuzz
#   PVFIO_FUZZ_SECONDS  seconds per fuzz target (default 60)
#   PVFIO_FUZZERS       fuzz targets to run (default: build-asan/fuzz_*)
#   PVFIO_FUZZ_CORPUS   folder holding one corpus folder per target, named without the
#                       fuzz_ prefix (default: tests/fuzz/corpus)
#   PVFIO_FUZZ_CRASHES  where a crashing input is kept (default: build-asan/fuzz-crashes)
#   PVFIO_SIMLOGS       where the simulators' request logs go (default: build/pvecheck-logs)
#   PVECHECK_DIR, PVECHECK_DIR_84, PVE_SRC, PVECHECK_TOOLS: the pvecheck sandboxes
#                       (tests/pvecheck/sandbox.sh); without one the pvecheck stage prints
#                       one line saying why it was skipped, and the differential stage
#                       compares the simulator with Proxmox's recorded answers only
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)
STAGES=${PVFIO_TEST_STAGES:-gcc demo pvecheck differential clang asan fuzz}
SIMLOGS=${PVFIO_SIMLOGS:-$top/build/pvecheck-logs}

wants() {
  case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

failed() {
  echo "FAILED: test stage '$1'${2:+ ($2)}" >&2
  exit 1
}

stage_gcc() {
  cmake --fresh -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc >/dev/null
  cmake --build build -j"$JOBS"
  # every simulator the tests start also writes its request log here, for the pvecheck stage
  rm -rf "$SIMLOGS"
  mkdir -p "$SIMLOGS"
  (cd build && PVESIM_LOG_DIR="$SIMLOGS" ctest --output-on-failure -j"$JOBS")
}

# The README demo, against a simulated PVE 9.x and a PVE 8.4 (its requests go to the
# pvecheck stage, checked against the matching release)
stage_demo() {
  [ -x build/pvfio ] || cmake --build build -j"$JOBS"
  mkdir -p "$SIMLOGS"
  for rel in 9.x 8.4; do
    out=build/demo-$rel.out
    PVESIM_PVE_VERSION=$rel PVESIM_LOG_DIR="$SIMLOGS" PVFIO_DEMO_PVFIO="$top/build/pvfio" \
      sh scripts/demo.sh >"$out" 2>&1 || { tail -n 20 "$out"; return 1; }
    echo "demo ran against PVE $rel (output: $out)"
  done
}

stage_pvecheck() {
  sh tests/pvecheck/check-sim-logs.sh "$SIMLOGS"
}

# The simulator against Proxmox's own functions on the same inputs, per release
# (tests/pvecheck/differential.py); without a sandbox, against the recorded answers.
stage_differential() {
  rc=0
  for rel in 9.x 8.4; do
    sst=0
    sandbox=$(sh tests/pvecheck/sandbox.sh "$rel") || sst=$?
    case $sst in
      0) python3 tests/pvecheck/differential.py --release "$rel" --sandbox "$sandbox" || rc=1 ;;
      3) echo "differential $rel: no sandbox ($sandbox); recorded answers only"
         python3 tests/pvecheck/differential.py --release "$rel" || rc=1 ;;
      *) echo "differential $rel: FAILED to find or build the sandbox"; rc=1 ;;
    esac
  done
  return $rc
}

stage_clang() {
  cmake --fresh -S . -B build-clang -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DPVFIO_TESTS=OFF >/dev/null
  cmake --build build-clang -j"$JOBS"
}

stage_asan() {
  cmake --fresh -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DPVFIO_SANITIZE=ON \
        -DPVFIO_FUZZ=ON >/dev/null
  cmake --build build-asan -j"$JOBS"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$JOBS" -LE slow)
}

# One bounded libFuzzer run per target. A crash (any non-zero exit) fails the stage; the
# crashing input is kept in $PVFIO_FUZZ_CRASHES and its path printed. No pipe: the
# fuzzer's own exit status is what counts.
stage_fuzz() {
  crashes=${PVFIO_FUZZ_CRASHES:-$top/build-asan/fuzz-crashes}
  corpora=${PVFIO_FUZZ_CORPUS:-$top/tests/fuzz/corpus}
  mkdir -p "$crashes"
  n=0
  bad=""
  for f in ${PVFIO_FUZZERS:-build-asan/fuzz_*}; do
    [ -x "$f" ] || continue
    n=$((n + 1))
    name=$(basename "$f")
    corpus=$corpora/${name#fuzz_}
    work=$(mktemp -d)
    out=$(mktemp)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
    st=0
    "$f" -max_total_time="${PVFIO_FUZZ_SECONDS:-60}" -max_len=65536 -rss_limit_mb=2048 \
         -artifact_prefix="$crashes/$name-" "$work" >"$out" 2>&1 || st=$?
    tail -n 3 "$out"
    if [ "$st" -ne 0 ]; then
      grep -E 'ERROR|SUMMARY|Test unit written' "$out" | head -n 5 || true
      kept=$(ls -t "$crashes/$name-"* 2>/dev/null | head -n 1 || true)
      echo "fuzz: $name exited $st; crashing input: ${kept:-(none written, see the output above)}"
      bad="$bad $name"
    fi
    rm -rf "$work" "$out"
  done
  [ "$n" -gt 0 ] || { echo "fuzz: no fuzz targets (${PVFIO_FUZZERS:-build-asan/fuzz_*})"; return 1; }
  [ -z "$bad" ] || { echo "fuzz: crashed:$bad (inputs kept in $crashes)"; return 1; }
  echo "fuzz: $n targets, no crash"
}

# Each stage runs in its own shell process: `set -e` is ignored inside a function called
# as `f || ...`, so running the stage directly there would let a failed build pass.
if [ "${1:-}" = "--stage" ]; then
  "stage_$2"
  exit 0
fi
for s in gcc demo pvecheck differential clang asan fuzz; do
  wants "$s" || continue
  echo "== $s"
  start=$(date +%s)
  st=0
  sh "$top/scripts/test.sh" --stage "$s" || st=$?
  [ "$st" -eq 0 ] || failed "$s" "exit $st"
  echo "== $s passed in $(( $(date +%s) - start )) s"
done
echo "all test stages passed"
