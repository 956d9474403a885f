#!/bin/sh
# Build a pvecheck sandbox of Proxmox VE 8.4 (Debian bookworm) in $DEST (default /tmp/pvecheck-8.4).
#
# The shared setup.sh (../shared/tools/pvecheck) archives each repository's HEAD. This script
# makes local bare clones whose HEAD is the PVE 8 state of each repository, in a temporary
# PVE_SRC, and runs setup.sh on them. Nothing from Proxmox is copied into the project.
#
#   PVE_SRC   folder with proxmox+<repo>/repo git directories (default /work/.mirror)
#   DEST      sandbox folder (default /tmp/pvecheck-8.4)
#   PVECHECK_TOOLS  the pvecheck tools folder (default: ../shared/tools/pvecheck beside the
#                   checkout, else /work/shared/tools/pvecheck)
#
# Which ref gives "PVE 8.4" per repository (printed, and recorded in $DEST/SOURCES):
#   stable-bookworm or stable-8 where the repository has such a branch;
#   otherwise (pve-guest-common, pve-ha-manager, pve-http-server have no PVE 8 branch) the
#   newest commit whose debian/changelog top entry is for "bookworm", i.e. the last release
#   built for PVE 8.
set -eu
SRC=${PVE_SRC:-/work/.mirror}
DEST=${DEST:-/tmp/pvecheck-8.4}
# the tools beside the checkout (shared/ next to the repository), else the workplace's copy
_beside=$(cd "$(dirname "$0")/../../.." 2>/dev/null && pwd)/shared/tools/pvecheck
[ -d "$_beside" ] || _beside=/work/shared/tools/pvecheck
TOOLS=${PVECHECK_TOOLS:-$_beside}
REPOS="pve-common qemu-server pve-storage pve-guest-common pve-access-control pve-manager
       pve-http-server pve-cluster pve-container pve-firewall pve-ha-manager pve-network"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the newest commit whose debian/changelog names bookworm as its distribution
last_bookworm_commit() {
  git --git-dir="$1" log --format=%H HEAD -- debian/changelog | while read -r h; do
    if git --git-dir="$1" show "$h:debian/changelog" | head -n 1 | grep -q ') bookworm;'; then
      echo "$h"
      break
    fi
  done
}

for r in $REPOS; do
  g="$SRC/proxmox+$r/repo"
  [ -d "$g" ] || { echo "build-sandbox-8.4.sh: missing $g" >&2; exit 1; }
  ref=""
  for b in stable-bookworm stable-8; do
    if git --git-dir="$g" rev-parse -q --verify "refs/heads/$b^{commit}" >/dev/null; then
      ref=$b
      break
    fi
  done
  if [ -n "$ref" ]; then
    commit=$(git --git-dir="$g" rev-parse "refs/heads/$ref^{commit}")
    how="branch $ref"
  else
    commit=$(last_bookworm_commit "$g")
    [ -n "$commit" ] || { echo "build-sandbox-8.4.sh: no bookworm release in $r" >&2; exit 1; }
    how="last bookworm release on the default branch (no stable-bookworm/stable-8 branch)"
  fi
  dst="$tmp/proxmox+$r/repo"
  mkdir -p "$tmp/proxmox+$r"
  # --shared: objects are borrowed from the mirror (read only), nothing is copied
  git clone -q --bare --shared "$g" "$dst"
  git --git-dir="$dst" update-ref refs/heads/pve8 "$commit"
  git --git-dir="$dst" symbolic-ref HEAD refs/heads/pve8
  ver=$(git --git-dir="$dst" show HEAD:debian/changelog | sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p')
  echo "$r: $ver from $how ($(echo "$commit" | cut -c1-8))"
done

PVE_SRC="$tmp" DEST="$DEST" sh "$TOOLS/setup.sh"
