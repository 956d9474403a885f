#!/bin/sh
# The Debian package end to end:
#   build it with scripts/package.sh; check its control data (Depends computed by
#   dpkg-shlibdeps, section, maintainer) and contents (binary, man pages, completion,
#   docs, examples); unpack it with `dpkg-deb -x` (unprivileged) and run the unpacked
#   pvfio: --version, `host scan --root` on a fixture machine (compared with the host
#   golden), `validate` on the shipped examples, the man pages through man(1), the
#   completion in bash. As root, when pvfio is not installed already, also install it
#   for real with `dpkg -i`, run it from /usr/bin, and remove it again
#   (PVFIO_TEST_DPKG_INSTALL=0 skips that part).
#
#   package-test.sh SRCDIR BUILD-DIR VERSION
set -eu
src=$1
build=$2
version=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pvfio-package-XXXXXX")
installed_by_us=""
cleanup() {
  if [ -n "$installed_by_us" ]; then
    dpkg --purge pvfio >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail=0
check() {   # check DESCRIPTION COMMAND...: the command must succeed
  what=$1
  shift
  if ! "$@"; then
    echo "FAIL: $what"
    fail=1
  fi
}

deb=$("$src/scripts/package.sh" "$build" | tail -n 1)
echo "package: $deb ($(wc -c <"$deb") bytes)"
case $(basename "$deb") in
  pvfio_"$version"_*.deb) ;;
  *) echo "FAIL: package file name $(basename "$deb") does not carry version $version"; fail=1 ;;
esac

# --- control data
dpkg-deb -I "$deb" >"$tmp/info"
field() { sed -n "s/^ $1: //p" "$tmp/info"; }
depends=$(field Depends)
echo "Depends: $depends"
[ -n "$depends" ] || { echo "FAIL: no Depends line"; fail=1; }
# the runtime libraries (Debian 13 renames some with a t64 suffix: libcurl4t64, libssl3t64)
for lib in libc6 libcurl4 libjansson4 libyaml-0-2 libpci3 libssl3; do
  echo "$depends" | tr ',' '\n' | grep -q "^ *$lib[a-z0-9]* *\((.*)\)\? *$" || {
    echo "FAIL: Depends lacks $lib"
    fail=1
  }
done
[ "$(field Package)" = pvfio ] || { echo "FAIL: Package is not pvfio"; fail=1; }
[ "$(field Version)" = "$version" ] || { echo "FAIL: Version is not $version"; fail=1; }
[ "$(field Section)" = admin ] || { echo "FAIL: Section is not admin"; fail=1; }
[ -n "$(field Maintainer)" ] || { echo "FAIL: no Maintainer"; fail=1; }
grep -q "^ Description: declarative GPU and PCI passthrough" "$tmp/info" || { echo "FAIL: no Description"; fail=1; }

# --- contents
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$tmp/contents"
for f in /usr/bin/pvfio /usr/share/man/man1/pvfio.1.gz /usr/share/man/man5/pvfio-profile.5.gz \
         /usr/share/bash-completion/completions/pvfio /usr/share/doc/pvfio/copyright \
         /usr/share/doc/pvfio/profile.md /usr/share/doc/pvfio/pvfio.schema.json \
         /usr/share/doc/pvfio/examples/two-node-mapping.yaml; do
  grep -qx "$f" "$tmp/contents" || { echo "FAIL: $f is not in the package"; fail=1; }
done
if grep -v '^/usr/' "$tmp/contents" | grep -qv '^/$'; then
  echo "FAIL: files outside /usr:"
  grep -v '^/usr/' "$tmp/contents"
  fail=1
fi

# --- what the package ships, run from an unpacked tree
python3 "$src/tests/mkroot/mkroot.py" "$src/tests/machines/laptop-ga107m.json" "$tmp/fixture"
# present FILE LABEL: true if FILE is there; false (and a skip note) if dpkg was told not to
# install it (path-exclude, as in minimal container images); a failure otherwise
present() {
  [ -e "$1" ] && return 0
  if [ "$2" = "dpkg -i" ] && grep -qs '^path-exclude' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/*; then
    echo "skip ($2): $1 (excluded by a dpkg path-exclude)"
  else
    echo "FAIL ($2): $1 is missing"
    fail=1
  fi
  return 1
}
run_installed() {   # run_installed ROOT-OF-THE-INSTALLATION LABEL
  prefix=$1
  label=$2
  bin=$prefix/usr/bin/pvfio
  out=$("$bin" --version) || { echo "FAIL ($label): pvfio --version"; fail=1; }
  [ "$out" = "pvfio $version" ] || { echo "FAIL ($label): --version printed '$out'"; fail=1; }
  set +e
  "$bin" --color never host scan --root "$tmp/fixture" >"$tmp/scan.txt" 2>"$tmp/scan.err"
  rc=$?
  set -e
  echo "exit status: $rc" >>"$tmp/scan.txt"
  if [ -s "$tmp/scan.err" ] || ! diff -u "$src/tests/host/golden/laptop-ga107m.scan.txt" "$tmp/scan.txt"; then
    echo "FAIL ($label): host scan --root differs from tests/host/golden/laptop-ga107m.scan.txt"
    cat "$tmp/scan.err"
    fail=1
  fi
  ex=$prefix/usr/share/doc/pvfio/examples
  if present "$ex/two-node-mapping.yaml" "$label"; then
    for p in "$ex"/*.yaml; do
      "$bin" validate --quiet "$p" >/dev/null || { echo "FAIL ($label): validate $(basename "$p")"; fail=1; }
    done
  fi
  for page in "$prefix/usr/share/man/man1/pvfio.1.gz" "$prefix/usr/share/man/man5/pvfio-profile.5.gz"; do
    present "$page" "$label" || continue
    if command -v man >/dev/null 2>&1; then
      warn=$(MANWIDTH=80 MANPAGER=cat PAGER=cat LC_ALL=C.UTF-8 man --warnings=w -l "$page" 2>&1 >/dev/null)
      [ -z "$warn" ] || { echo "FAIL ($label): man $(basename "$page"): $warn"; fail=1; }
    fi
    gzip -dc "$page" | grep -q '^\.TH ' || { echo "FAIL ($label): $(basename "$page") is not a man page"; fail=1; }
  done
  # the completion: sourced in a clean bash, it completes subcommands
  comp=$prefix/usr/share/bash-completion/completions/pvfio
  present "$comp" "$label" || return 0
  got=$(bash --norc --noprofile -c '. "$1" && COMP_WORDS=(pvfio host sc) COMP_CWORD=2 && _pvfio &&
        echo "${COMPREPLY[*]}"' sh "$comp")
  [ "$got" = scan ] || { echo "FAIL ($label): completion of 'pvfio host sc' gave '$got'"; fail=1; }
}

dpkg-deb -x "$deb" "$tmp/unpacked"
run_installed "$tmp/unpacked" "dpkg-deb -x"

# --- a real installation, only as root and only when it cannot clobber an installed pvfio
if [ "$(id -u)" -eq 0 ] && [ "${PVFIO_TEST_DPKG_INSTALL:-1}" != 0 ]; then
  if dpkg-query -W -f='${Status}' pvfio 2>/dev/null | grep -q "installed"; then
    echo "skip: dpkg -i (a pvfio package is installed already; not touching it)"
  else
    # one installation at a time on this machine (several build trees may run this test)
    exec 9>"${TMPDIR:-/tmp}/pvfio-package-test.lock"
    command -v flock >/dev/null 2>&1 && flock 9
    installed_by_us=1
    if dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1; then
      run_installed "" "dpkg -i"
      [ "$(dpkg-query -W -f='${Version}' pvfio)" = "$version" ] || { echo "FAIL: dpkg-query version"; fail=1; }
      if command -v man >/dev/null 2>&1 && [ -e /usr/share/man/man5/pvfio-profile.5.gz ]; then
        man -w pvfio-profile >/dev/null 2>&1 || { echo "FAIL: man -w pvfio-profile does not find the page"; fail=1; }
      fi
    else
      echo "FAIL: dpkg -i:"
      cat "$tmp/dpkg.log"
      fail=1
    fi
    dpkg --purge pvfio >"$tmp/dpkg.log" 2>&1 || { echo "FAIL: dpkg --purge:"; cat "$tmp/dpkg.log"; fail=1; }
    installed_by_us=""
    [ ! -e /usr/bin/pvfio ] || { echo "FAIL: /usr/bin/pvfio is still there after dpkg --purge"; fail=1; }
    echo "dpkg -i / --purge: done"
  fi
else
  echo "skip: dpkg -i (not root, or PVFIO_TEST_DPKG_INSTALL=0)"
fi

[ $fail -eq 0 ] && echo "package ok"
exit $fail
