#!/bin/sh
# The whole test suite: gcc build + tests, clang build (warnings are errors),
# ASan+UBSan build + tests, and a bounded libFuzzer run of the profile parser.
set -eu
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)

echo "== gcc build + tests"
cmake --fresh -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build build -j"$JOBS"
(cd build && ctest --output-on-failure -j"$JOBS")

echo "== clang build (warning-free check)"
cmake --fresh -S . -B build-clang -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DPVFIO_TESTS=OFF >/dev/null
cmake --build build-clang -j"$JOBS"

echo "== ASan + UBSan build + tests"
cmake --fresh -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DPVFIO_SANITIZE=ON \
      -DPVFIO_FUZZ=ON >/dev/null
cmake --build build-asan -j"$JOBS"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$JOBS" -LE slow)

echo "== fuzzing (bounded)"
for f in build-asan/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus=tests/fuzz/corpus/${name#fuzz_}
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
  "$f" -max_total_time="${PVFIO_FUZZ_SECONDS:-60}" -max_len=65536 -rss_limit_mb=2048 "$work" 2>&1 | tail -n 3
  rm -rf "$work"
done
echo "all test stages passed"
