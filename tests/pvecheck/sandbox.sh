#!/bin/sh
# Find (or build) a pvecheck sandbox: Proxmox VE's own Perl code, outside the project.
#
#   sh tests/pvecheck/sandbox.sh 9.x|8.4
#
# prints the sandbox folder and exits 0, or prints one line saying why there is none and
# exits 3. Nothing from Proxmox is ever copied into the project.
#
#   9.x  PVECHECK_DIR, else /tmp/pvecheck when it has SOURCES, else built there from PVE_SRC
#   8.4  PVECHECK_DIR_84, else /tmp/pvecheck-8.4 when it has SOURCES, else built there from
#        PVE_SRC (the stable-bookworm/stable-8 branches, build-sandbox-8.4.sh)
#   PVE_SRC         folder of proxmox+<repo>/repo git directories (default /work/.mirror)
#   PVECHECK_TOOLS  the pvecheck tools (default: ../shared/tools/pvecheck beside the checkout,
#                   else /work/shared/tools/pvecheck)
# A build failure is an error (exit 1), not a skip.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
which=${1:?usage: sandbox.sh 9.x|8.4}
# the tools beside the checkout (shared/ next to the repository), else the workplace's copy
_beside=$(cd "$(dirname "$0")/../../.." 2>/dev/null && pwd)/shared/tools/pvecheck
[ -d "$_beside" ] || _beside=/work/shared/tools/pvecheck
TOOLS=${PVECHECK_TOOLS:-$_beside}
SRC=${PVE_SRC:-/work/.mirror}

case $which in
  9.x) given=${PVECHECK_DIR:-}; default=/tmp/pvecheck ;;
  8.4) given=${PVECHECK_DIR_84:-}; default=/tmp/pvecheck-8.4 ;;
  *) echo "sandbox.sh: unknown release '$which' (9.x or 8.4)" >&2; exit 2 ;;
esac
if [ -n "$given" ]; then
  if [ -f "$given/SOURCES" ]; then echo "$given"; exit 0; fi
  echo "the $which sandbox $given has no SOURCES (incomplete)"
  exit 3
fi
if [ -f "$default/SOURCES" ]; then echo "$default"; exit 0; fi
for r in pve-common qemu-server pve-storage pve-guest-common pve-access-control pve-manager \
         pve-http-server pve-cluster pve-container pve-firewall pve-ha-manager pve-network; do
  if [ ! -d "$SRC/proxmox+$r/repo" ]; then
    echo "no $which sandbox ($default has no SOURCES) and PVE_SRC=$SRC lacks proxmox+$r/repo to build one"
    exit 3
  fi
done
if [ ! -f "$TOOLS/setup.sh" ]; then
  echo "no $which sandbox ($default has no SOURCES) and no pvecheck tools to build one (PVECHECK_TOOLS=$TOOLS)"
  exit 3
fi
log=$(mktemp)
if [ "$which" = 9.x ]; then
  PVE_SRC="$SRC" DEST="$default" sh "$TOOLS/setup.sh" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
else
  PVE_SRC="$SRC" DEST="$default" PVECHECK_TOOLS="$TOOLS" sh "$HERE/build-sandbox-8.4.sh" >"$log" 2>&1 ||
    { cat "$log" >&2; rm -f "$log"; exit 1; }
fi
rm -f "$log"
echo "$default"
