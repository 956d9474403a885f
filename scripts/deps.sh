#!/bin/sh
# Install the Debian packages pvfio needs to build, test and run its demo
# (--test: also what the test suite needs; --bench: also the peer tools of bench/peer-ansible.sh).
# Installs only what is missing; uses sudo when not root.
set -eu
PKGS="build-essential cmake pkg-config clang libcurl4-openssl-dev libjansson-dev libyaml-dev
libpci-dev pci.ids pciutils libssl-dev libcmocka-dev python3 python3-yaml python3-jsonschema openssl curl ca-certificates"
[ "${1:-}" = "--test" ] && PKGS="$PKGS time valgrind libclang-rt-14-dev openssh-server openssh-client dpkg-dev file groff-base man-db"
# --bench: the peer for bench/peer-ansible.sh (Ansible's community.general.proxmox_kvm + proxmoxer)
[ "${1:-}" = "--bench" ] && PKGS="$PKGS ansible python3-proxmoxer python3-requests"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
