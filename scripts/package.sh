#!/bin/sh
# Build the Debian package: a release build (tests off) in its own directory, then
# CPack's DEB generator. Prints the path of the .deb on the last line.
#
#   scripts/package.sh [BUILD-DIR]        default: build-deb
#
# Needs cmake, a C compiler, the -dev packages of scripts/deps.sh, dpkg-dev (Depends
# are computed with dpkg-shlibdeps), file, groff-base and python3 (man pages).
# SOURCE_DATE_EPOCH defaults to the last commit's time, so rebuilding gives the same
# man pages.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$src/build-deb}
JOBS=$(nproc 2>/dev/null || echo 2)

for tool in cmake cpack dpkg-shlibdeps dpkg-deb file; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "package.sh: '$tool' is missing; install it (scripts/deps.sh --test installs dpkg-dev and file)" >&2
    exit 1
  }
done
if [ -z "${SOURCE_DATE_EPOCH:-}" ] && git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  SOURCE_DATE_EPOCH=$(git -C "$src" log -1 --format=%ct 2>/dev/null || true)
  [ -n "$SOURCE_DATE_EPOCH" ] && export SOURCE_DATE_EPOCH
fi

cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPVFIO_TESTS=OFF -DPVFIO_SANITIZE=OFF \
      -DPVFIO_FUZZ=OFF -DPVFIO_DOCS=ON >/dev/null
cmake --build "$dir" -j"$JOBS" >/dev/null
rm -f "$dir"/pvfio_*.deb
(cd "$dir" && cpack -G DEB >/dev/null)
set -- "$dir"/pvfio_*.deb
[ -f "$1" ] || { echo "package.sh: cpack produced no pvfio_*.deb in $dir" >&2; exit 1; }
echo "$1"
