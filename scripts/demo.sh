#!/bin/sh
# The main job on the bundled default: validate every example profile and
# summarise one. (Later stages grow this into the full simulator demo.)
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPVFIO_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
./build/pvfio validate profiles/examples/*.yaml
./build/pvfio validate --summary profiles/examples/laptop-single-gpu.yaml
